"""What write-ahead runs cost: the same automation through a plain and a durable orchestrator.

``python -m benchmarks.durable_overhead [--runs 200]`` runs the benchmark
suite's three-call automation (HubSpot GET, Stripe POST, Zendesk POST, mocked
with ``responses``) on a SQLite ledger, once through
:class:`harness.Orchestrator` (the run is written when it ends) and once
through :class:`harness.orchestrator.DurableOrchestrator` (accepted before the
first call, progress saved around every call, the end written with the queue
row), and prints runs per second for each in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.workloads import MockedApis, events, three_call
from harness import Flow, Orchestrator, WallClock
from harness.ledger import Ledger
from harness.orchestrator import DurableOrchestrator
from harness.triggers import get_trigger


def measure(runs: int) -> dict[str, object]:
    results: dict[str, object] = {"runs": runs, "loadavg": os.getloadavg(), "cpus": os.cpu_count()}
    for variant in ("plain", "durable"):
        with tempfile.TemporaryDirectory() as tmp, Ledger.open(f"sqlite:///{Path(tmp) / 'l.db'}") as ledger:
            flow = Flow(
                name=f"bench_{variant}", automation=three_call,
                trigger=get_trigger("hubspot.deal.closedwon"), dedupe_key="deal:{objectId}",
            )
            orch: Orchestrator
            if variant == "plain":
                orch = Orchestrator(flow, ledger=ledger, clock=WallClock(), rng=random.Random(0), mode="production")
            else:
                orch = DurableOrchestrator(flow, ledger=ledger, budget=60)
            apis = MockedApis()
            evts = events(runs)
            with apis.active():
                start = time.perf_counter()
                ends = [orch.handle(e).end_state for e in evts]
                elapsed = time.perf_counter() - start
            results[variant] = {
                "runs_per_s": round(runs / elapsed, 1),
                "succeeded": ends.count("succeeded"),
            }
    plain = results["plain"]["runs_per_s"]  # type: ignore[index]
    durable = results["durable"]["runs_per_s"]  # type: ignore[index]
    results["durable_vs_plain"] = round(durable / plain, 3)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.durable_overhead")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.runs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
