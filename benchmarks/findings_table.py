"""Bare vs orchestrated: the findings of the quality-suite automations and deal_won, measured.

Runs ``harness.chaos.run_campaign`` on each fragile automation of
``tests/quality/automations`` and on ``scenarios/deal_won`` in both modes, from
one seed, and prints (or writes) a Markdown table of findings by class and
the runs the orchestrator handed to a person instead.

    python -m benchmarks.findings_table [--examples 100] [--seed 20260101] [--no-flow-file] [--markdown FILE]

Each fragile automation is declared the way a user would declare it: a dedupe
key on the deal and the same write contracts as ``scenarios/deal_won/flow.py``
(a missing CRM value must never reach Stripe or Zendesk).  With
``--no-flow-file`` every automation, deal_won's included, is checked as
``harness check PATH.py:handle`` would: the trigger only, nothing declared.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from harness.chaos import run_campaign
from harness.flow import Flow, load_flow
from harness.ledger import Ledger
from harness.report import compute_metrics
from harness.triggers import get_trigger

ROOT = Path(__file__).resolve().parents[1]
AUTOMATIONS = ROOT / "tests" / "quality" / "automations"
FRAGILE = (
    "fragile_duplicate",
    "fragile_silent",
    "fragile_defaults",
    "fragile_no_timeout",
    "fragile_retry_all",
    "fragile_no_retry",
)


def flows(*, flow_files: bool = True) -> list[Flow]:
    deal_won = load_flow(str(ROOT / "scenarios" / "deal_won" / "flow.py"))
    trigger = get_trigger("hubspot.deal.closedwon")
    if not flow_files:
        bare = [("deal_won", ROOT / "scenarios" / "deal_won" / "automation.py")]
        bare += [(name, AUTOMATIONS / f"{name}.py") for name in FRAGILE]
        return [Flow(name=name, automation=f"{path}:handle", trigger=trigger) for name, path in bare]
    out = [deal_won]
    for name in FRAGILE:
        out.append(
            Flow(
                name=name,
                automation=f"{AUTOMATIONS / name}.py:handle",
                trigger=get_trigger("hubspot.deal.closedwon"),
                dedupe_key="deal:{objectId}",
                write_contracts=deal_won.write_contracts,
            )
        )
    return out


def measure(examples: int, seed: int, *, flow_files: bool = True) -> str:
    rows = []
    classes: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger.open(f"sqlite:///{tmp}/findings.db")
        for flow in flows(flow_files=flow_files):
            started = time.perf_counter()
            result = run_campaign(flow, ledger=ledger, examples=examples, seed=seed)
            per_mode = {m: Counter(f.oracle for f in result.findings_for(m)) for m in result.campaign_ids}
            manual = {
                m: compute_metrics(ledger, campaign_id=cid).end_states.get("manual", 0)
                for m, cid in result.campaign_ids.items()
            }
            runs = {m: compute_metrics(ledger, campaign_id=cid).accepted_runs for m, cid in result.campaign_ids.items()}
            for counter in per_mode.values():
                classes.update(counter)
            rows.append((flow.name, per_mode, manual, runs, time.perf_counter() - started))
        ledger.close()
    ordered = sorted(classes)
    lines = [
        (f"Measured by `python -m benchmarks.findings_table --examples {examples} --seed {seed}"
        f"{'' if flow_files else ' --no-flow-file'}` "
        f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: findings by class (each class is "
        "reported once per campaign, shrunk), bare → orchestrated."),
        "",
        "| automation | " + " | ".join(ordered) + " | runs handed to a person (orchestrated) |",
        "| --- | " + " | ".join("---" for _ in ordered) + " | --- |",
    ]
    for name, per_mode, manual, runs, _secs in rows:
        cells = []
        for cls in ordered:
            b = per_mode.get("bare", Counter()).get(cls, 0)
            o = per_mode.get("orchestrated", Counter()).get(cls, 0)
            cells.append(f"{b} → {o}" if (b or o) else "·")
        lines.append(
            f"| {name} | " + " | ".join(cells)
            + f" | {manual.get('orchestrated', 0)} of {runs.get('orchestrated', 0)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--no-flow-file", action="store_true", help="Declare nothing: PATH.py:handle and the trigger.")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    table = measure(args.examples, args.seed, flow_files=not args.no_flow_file)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)


if __name__ == "__main__":
    main()
