"""``python -m benchmarks``: run every benchmark, print the table, write JSON (and Markdown).

Options: ``--quick`` (smoke run, under 2 minutes), ``--only NAME`` (repeatable),
``--json PATH`` (default ``benchmarks/results/latest.json``), ``--markdown PATH``
(the README's performance table), ``--prefect-python PATH`` (an interpreter
whose environment has Prefect, when this one does not), ``--report-runs N``,
``--memory-sizes SMALL,LARGE``, ``--profile DIR`` (pyinstrument text profile of
each in-process benchmark).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks._runner import (
    BenchResult,
    Config,
    machine_info,
    render_markdown,
    render_text,
    run_all,
    to_json,
    write_json,
)
from benchmarks._suite import BENCHMARKS, ORDER

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def _sizes(text: str) -> tuple[int, int]:
    try:
        small, large = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected two sizes SMALL,LARGE such as 1000,10000, got {text!r}"
        ) from None
    if not 1 <= small < large:
        raise argparse.ArgumentTypeError(f"expected 1 <= SMALL < LARGE, got {text!r}")
    return small, large


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 90:
        raise argparse.ArgumentTypeError(f"expected at least 90 (one run a day), got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks of the harness against what users would pick instead.",
    )
    p.add_argument("--quick", action="store_true", help="fast smoke run (small N, under 2 minutes)")
    p.add_argument(
        "--only", action="append", metavar="NAME", choices=ORDER,
        help=f"run only this benchmark (repeatable): {', '.join(ORDER)}",
    )
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH",
                   help="where to write the results (default benchmarks/results/latest.json)")
    p.add_argument("--markdown", type=Path, metavar="PATH",
                   help="also write the Markdown table with machine info (README_TABLE.md)")
    p.add_argument("--prefect-python", metavar="PATH",
                   default=os.environ.get("HARNESS_BENCH_PREFECT_PYTHON"),
                   help="Python interpreter with Prefect installed (default: this one; "
                        "env HARNESS_BENCH_PREFECT_PYTHON)")
    p.add_argument("--report-runs", type=_positive, metavar="N",
                   help="synthetic runs in the 90-day review (default 1000000; --quick 50000)")
    p.add_argument("--memory-sizes", type=_sizes, metavar="SMALL,LARGE",
                   help="campaign sizes for the memory benchmark (default 100,1000; --quick 20,200)")
    p.add_argument("--no-children", action="store_true", help="skip DBOS and Prefect")
    p.add_argument("--seed", type=int, default=0, help="seed for every workload (default 0)")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="write a pyinstrument profile of each benchmark to DIR/NAME.txt")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # the automations under test log their retries as warnings; with no handler configured,
    # Python would print them over the table (records are still created, as in production)
    logging.getLogger().addHandler(logging.NullHandler())
    if args.prefect_python and not Path(args.prefect_python).exists():
        parser().error(f"--prefect-python: no interpreter at {args.prefect_python}")
    config = Config(
        quick=args.quick, seed=args.seed, prefect_python=args.prefect_python,
        with_children=not args.no_children, report_runs=args.report_runs,
        memory_sizes=args.memory_sizes,
    )
    names = [n for n in ORDER if not args.only or n in args.only]
    command = "python -m benchmarks" + (" " + shlex.join(sys.argv[1:]) if argv is None and sys.argv[1:] else "")
    machine = machine_info()
    print(f"running {', '.join(names)} ({'quick' if args.quick else 'full'} mode)", flush=True)

    def progress(name: str) -> None:
        print(f"  {name} ...", flush=True)

    benches: dict[str, Callable[[Config], BenchResult]] = dict(BENCHMARKS)
    if args.profile:
        benches = {n: _profiled(fn, n, args.profile) for n, fn in benches.items()}
    results = run_all(benches, names, config, progress=progress)
    print(render_text(results, machine))
    data = to_json(results, machine, command=command, mode="quick" if args.quick else "full")
    write_json(args.json, data)
    print(f"results written to {args.json}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(render_markdown(results, machine, command))
        print(f"markdown table written to {args.markdown}")
    return 1 if any(r.error for r in results) else 0


def _profiled(
    fn: Callable[[Config], BenchResult], name: str, directory: Path
) -> Callable[[Config], BenchResult]:
    def run(config: Config) -> BenchResult:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
        try:
            return fn(config)
        finally:
            profiler.stop()
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"{name}.txt").write_text(
                profiler.output_text(unicode=False, color=False, show_all=False)
            )

    return run


if __name__ == "__main__":
    sys.exit(main())
