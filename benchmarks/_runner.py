"""The benchmark runner: results as frozen records, the table, JSON and Markdown.

A benchmark is a function ``(Config) -> BenchResult`` registered in
:data:`BENCHMARKS` (see :mod:`benchmarks._suite`).  Every row carries its
samples (one per repeat), so the median and the min-max spread are computed
here, and each variant's ratio is to the baseline *measured in the same run*:
this machine is shared and noisy, so absolute times from different runs are
never compared.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BenchResult",
    "Config",
    "Row",
    "Target",
    "machine_info",
    "render_markdown",
    "render_text",
    "to_json",
]


@dataclass(frozen=True)
class Config:
    """How to run: ``quick`` is the smoke run; ``tiny`` is for the test suite (seconds)."""

    quick: bool = False
    tiny: bool = False
    seed: int = 0
    prefect_python: str | None = None
    with_children: bool = True  # DBOS and Prefect run in child processes
    report_runs: int | None = None
    memory_sizes: tuple[int, int] | None = None

    def pick(self, full: Any, quick: Any, tiny: Any = None) -> Any:
        """The value for this mode."""
        if self.tiny:
            return quick if tiny is None else tiny
        return quick if self.quick else full


@dataclass(frozen=True)
class Row:
    """One variant of a workload.

    ``samples`` holds one value per repeat in ``unit``; ``higher_is_better``
    says which way is good (rates up, times down).  ``ratio`` is this row's
    median against the baseline's, oriented so that > 1 is better than the
    baseline; ``None`` for the baseline itself or when there is none.  A
    variant that cannot run has ``available=False`` and says why in ``note``.
    """

    variant: str
    n: int
    unit: str
    samples: tuple[float, ...] = ()
    ratio: float | None = None
    higher_is_better: bool = True
    note: str = ""
    available: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def low(self) -> float | None:
        return min(self.samples) if self.samples else None

    @property
    def high(self) -> float | None:
        return max(self.samples) if self.samples else None


def unavailable(variant: str, reason: str, *, unit: str = "", n: int = 0) -> Row:
    """A row for a variant that cannot run here."""
    return Row(variant=variant, n=n, unit=unit, available=False, note=f"not available: {reason}")


def with_ratios(rows: Sequence[Row], baseline: Row | None) -> tuple[Row, ...]:
    """``rows`` with each ratio set against ``baseline``'s median (same orientation)."""
    out = []
    base = baseline.median if baseline is not None else None
    for r in rows:
        ratio = None
        if (
            base
            and r is not baseline
            and r.available
            and r.median
            and baseline is not None
            and baseline.variant != r.variant
        ):
            ratio = r.median / base if r.higher_is_better else base / r.median
        out.append(
            Row(r.variant, r.n, r.unit, r.samples, ratio, r.higher_is_better, r.note, r.available, r.extra)
        )
    return tuple(out)


@dataclass(frozen=True)
class Target:
    """A goal from the issue: ``what`` must reach ``required`` x its baseline."""

    what: str
    required: float
    ratio: float | None

    @property
    def met(self) -> bool:
        return self.ratio is not None and self.ratio >= self.required

    def verdict(self) -> str:
        if self.ratio is None:
            return f"{self.what}: not measured"
        if self.met:
            return f"{self.what}: met ({self.ratio:.2f}x >= {self.required:g}x)"
        short = 1 - self.ratio / self.required
        return (
            f"{self.what}: NOT met ({self.ratio:.2f}x < {self.required:g}x; "
            f"short by {short:.0%}, needs {self.required / self.ratio:.1f}x faster)"
        )


@dataclass(frozen=True)
class BenchResult:
    """One benchmark's outcome: its rows, targets, notes and how long it took."""

    name: str
    workload: str
    baseline: str | None
    rows: tuple[Row, ...]
    targets: tuple[Target, ...] = ()
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    error: str | None = None


Benchmark = Callable[[Config], BenchResult]


# -- machine and formatting ------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """Where and when the numbers were taken (they mean nothing without it)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
        "versions": {
            d: _version(d)
            for d in ("harness", "hypothesis", "responses", "requests", "tenacity", "dbos", "prefect")
        },
    }


def fmt(value: float | None, unit: str = "") -> str:
    """A number with 3 significant digits (thousands separated above 1000)."""
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _spread(r: Row) -> str:
    if not r.samples:
        return "-"
    if len(r.samples) == 1:
        return "(1 sample)"
    return f"{fmt(r.low)}-{fmt(r.high)}"


def _ratio(r: Row) -> str:
    if not r.available:
        return ""
    return "baseline" if r.ratio is None and r.samples else (f"{r.ratio:.3g}x" if r.ratio else "")


def table_rows(results: Sequence[BenchResult]) -> list[list[str]]:
    """The table as text cells: benchmark, variant, N, median, min-max, unit, ratio, note."""
    out = []
    for res in results:
        if res.error:
            out.append([res.name, "(failed)", "", "", "", "", "", res.error])
            continue
        for r in res.rows:
            base_mark = _ratio(r) if res.baseline else ("" if r.ratio is None else f"{r.ratio:.3g}x")
            out.append(
                [
                    res.name,
                    r.variant,
                    f"{r.n:,}" if r.n else "",
                    fmt(r.median) if r.available else "-",
                    _spread(r) if r.available else "-",
                    r.unit,
                    base_mark,
                    r.note,
                ]
            )
    return out


HEADERS = ["benchmark", "variant", "N", "median", "min-max", "unit", "vs baseline", "note"]


def render_text(results: Sequence[BenchResult], machine: Mapping[str, Any]) -> str:
    """The terminal table (rich), targets and notes."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="harness benchmarks", show_lines=False)
    for h in HEADERS:
        table.add_column(h, overflow="fold", no_wrap=h not in ("note", "variant"))
    previous = None
    for cells in table_rows(results):
        if previous is not None and cells[0] != previous:
            table.add_section()
        previous = cells[0]
        table.add_row(*(_escape(c) for c in cells))
    buffer = io.StringIO()
    console = Console(file=buffer, width=170, highlight=False, force_terminal=False, color_system=None)
    console.print(table)
    console.print(_escape(_machine_line(machine)))
    for line in _targets_and_notes(results):
        console.print(_escape(line))
    return buffer.getvalue()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _machine_line(m: Mapping[str, Any]) -> str:
    load = m.get("load_average_at_start")
    load_text = f", load average {load[0]}" if load else ""
    return (
        f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['platform']}, "
        f"{m['date']}{load_text}"
    )


def _targets_and_notes(results: Sequence[BenchResult]) -> list[str]:
    lines = []
    for res in results:
        for t in res.targets:
            lines.append(f"target [{res.name}] {t.verdict()}")
    for res in results:
        for n in res.notes:
            lines.append(f"note [{res.name}] {n}")
    return lines


def render_markdown(results: Sequence[BenchResult], machine: Mapping[str, Any], command: str) -> str:
    """The README's performance table, generated (never typed by hand)."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        f"Measured by `{command}` on {machine['cpu']}, {machine['cores']} cores, "
        f"Python {machine['python']}, {machine['date']}"
        + (
            f" (load average {machine['load_average_at_start'][0]} at start: a shared, noisy machine;"
            " compare the ratios, not the absolute figures)."
            if machine.get("load_average_at_start")
            else "."
        ),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "| " + " | ".join("---" for _ in HEADERS) + " |",
    ]
    for cells in table_rows(results):
        lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    extra = _targets_and_notes(results)
    if extra:
        lines.append("")
        lines.extend(f"- {cell(x)}" for x in extra)
    lines.append("")
    lines.append(
        "Rerun: `pip install -e '.[bench]'` then `python -m benchmarks --markdown "
        "benchmarks/results/README_TABLE.md` (`--quick` for a smoke run). Prefect lives in its "
        "own venv (`python -m venv /work/venv-bench && /work/venv-bench/bin/pip install -e "
        "'.[bench,bench-prefect]'`), passed with `--prefect-python /work/venv-bench/bin/python`."
    )
    return "\n".join(lines) + "\n"


def to_json(
    results: Sequence[BenchResult], machine: Mapping[str, Any], *, command: str, mode: str
) -> dict[str, Any]:
    """Everything measured, as plain JSON."""
    return {
        "command": command,
        "mode": mode,
        "machine": dict(machine),
        "benchmarks": [
            {
                "name": res.name,
                "workload": res.workload,
                "baseline": res.baseline,
                "seconds": round(res.seconds, 2),
                "error": res.error,
                "rows": [
                    {
                        "variant": r.variant,
                        "n": r.n,
                        "unit": r.unit,
                        "available": r.available,
                        "samples": [round(s, 6) for s in r.samples],
                        "median": r.median,
                        "min": r.low,
                        "max": r.high,
                        "ratio_to_baseline": None if r.ratio is None else round(r.ratio, 4),
                        "higher_is_better": r.higher_is_better,
                        "note": r.note,
                        "extra": dict(r.extra),
                    }
                    for r in res.rows
                ],
                "targets": [
                    {
                        "what": t.what,
                        "required_ratio": t.required,
                        "ratio": None if t.ratio is None else round(t.ratio, 4),
                        "met": t.met,
                        "verdict": t.verdict(),
                    }
                    for t in res.targets
                ],
                "notes": list(res.notes),
            }
            for res in results
        ],
    }


def run_all(
    benchmarks: Mapping[str, Benchmark],
    names: Sequence[str],
    config: Config,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[BenchResult]:
    """Run ``names`` in order; a benchmark that raises becomes a ``(failed)`` row, never silence."""
    results = []
    for name in names:
        if progress:
            progress(name)
        start = time.perf_counter()
        try:
            res = benchmarks[name](config)
        except Exception as exc:  # shown in the table and the JSON; the others still run
            import traceback

            traceback.print_exc(file=sys.stderr)
            res = BenchResult(
                name=name, workload="", baseline=None, rows=(),
                error=f"{type(exc).__name__}: {str(exc)[:300]}",
            )
        results.append(
            BenchResult(
                res.name, res.workload, res.baseline, res.rows, res.targets, res.notes,
                time.perf_counter() - start, res.error,
            )
        )
    return results


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
