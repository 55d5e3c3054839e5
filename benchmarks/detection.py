"""Examples to first detection: how soon a campaign finds each fragile class.

Runs a bare campaign (no shrinking) of each fragile automation of
``tests/quality/automations`` at several seeds and reports, per fragile class,
the number of examples the campaign had played when the class first showed
(1 = the first scenario), its median over the seeds, and the seeds that did
not find it within the budget.

    python -m benchmarks.detection [--examples 100] [--seeds 1,2,3] [--json FILE] [--compare BEFORE.json]

Run it on two commits to compare them (``before`` and ``after`` in the JSON
``label``; ``--compare`` prints both side by side): the numbers are
deterministic for a given commit and seed.  ``benchmarks/results/`` keeps the
measurement of issue 16 (``detection_before.json`` on the main of that day,
``detection_after.json`` with coverage first).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.chaos import run_campaign
from harness.flow import Flow
from harness.ledger import Ledger
from harness.triggers import get_trigger

ROOT = Path(__file__).resolve().parents[1]
AUTOMATIONS = ROOT / "tests" / "quality" / "automations"
#: each fragile automation and the class it must be found with
FRAGILE: dict[str, str] = {
    "fragile_duplicate": "duplicate_effect",
    "fragile_silent": "silent_loss",
    "fragile_defaults": "bad_value",
    "fragile_no_timeout": "unbounded_wait",
    "fragile_retry_all": "logical_retry",
    "fragile_no_retry": "transient_unrecovered",
}
DEFAULT_SEEDS = (1, 2, 3)


def first_detection(name: str, oracle: str, *, seed: int, examples: int, ledger: Any) -> int | None:
    """The 1-based example at which ``oracle`` first showed for ``name``, or ``None``."""
    flow = Flow(
        name=name,
        automation=f"{AUTOMATIONS / name}.py:handle",
        trigger=get_trigger("hubspot.deal.closedwon"),
    )
    result = run_campaign(flow, ledger=ledger, examples=examples, seed=seed, modes=("bare",), shrink=False)
    for f in result.findings:
        if f.oracle == oracle and f.example is not None:
            return f.example + 1
    return None


def measure(examples: int, seeds: tuple[int, ...]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger.open(f"sqlite:///{tmp}/detection.db")
        for name, oracle in FRAGILE.items():
            found = {seed: first_detection(name, oracle, seed=seed, examples=examples, ledger=ledger) for seed in seeds}
            hits = [n for n in found.values() if n is not None]
            rows[oracle] = {
                "automation": name,
                "per_seed": {str(s): n for s, n in found.items()},
                "median": statistics.median(hits) if len(hits) == len(seeds) else None,
                "missed": [s for s, n in found.items() if n is None],
            }
        ledger.close()
    return {
        "examples": examples,
        "seeds": list(seeds),
        "classes": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }


def render(data: dict[str, Any], label: str = "") -> str:
    lines = [
        (f"examples to first detection{f' ({label})' if label else ''}: budget {data['examples']}, "
        f"seeds {', '.join(str(s) for s in data['seeds'])}"),
        "",
        "| class | automation | median | per seed | missed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for oracle, row in data["classes"].items():
        per_seed = ", ".join("-" if n is None else str(n) for n in row["per_seed"].values())
        median = "not found at every seed" if row["median"] is None else f"{row['median']:g}"
        missed = ", ".join(str(s) for s in row["missed"]) or "none"
        lines.append(f"| {oracle} | {row['automation']} | {median} | {per_seed} | {missed} |")
    return "\n".join(lines) + "\n"


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Median examples to first detection per class, before and after, as a Markdown table."""
    def cell(row: Mapping[str, Any] | None) -> str:
        if row is None:
            return "n/a"
        median = "-" if row["median"] is None else f"{row['median']:g}"
        missed = f" (missed at seed {', '.join(str(s) for s in row['missed'])})" if row["missed"] else ""
        return median + missed

    lines = [
        (f"median examples to first detection (budget {after['examples']}, seeds "
        f"{', '.join(str(s) for s in after['seeds'])}; 1 = the first scenario)"),
        "",
        f"| class | automation | {before.get('label') or 'before'} | {after.get('label') or 'after'} |",
        "| --- | --- | --- | --- |",
    ]
    for oracle, row in after["classes"].items():
        lines.append(
            f"| {oracle} | {row['automation']} | {cell(before['classes'].get(oracle))} | {cell(row)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seeds", default=",".join(str(s) for s in DEFAULT_SEEDS))
    parser.add_argument("--label", default="")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--compare", type=Path, default=None, help="A JSON of an earlier run to print beside this one.")
    args = parser.parse_args()
    try:
        seeds = tuple(int(s) for s in args.seeds.split(","))
    except ValueError:
        parser.error(f"--seeds: expected integers separated by commas, got {args.seeds!r}")
    data = measure(args.examples, seeds)
    data["label"] = args.label
    print(render(data, args.label))
    if args.compare:
        print(compare(json.loads(args.compare.read_text()), data))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
