"""Overhead of the built-in orchestrator per run, against the bare automation and tenacity.

Runs the unmodified deal-won automation (``scenarios/deal_won``) in one
process against the standard world of fakes, three ways:

* **bare**: the automation called directly;
* **orchestrated**: ``Orchestrator.handle`` with the ledger's dedupe claim and
  every run (events and all) written to a SQLite ledger file at once, as in
  production: durable recording included;
* on a bad day (every deal's Zendesk ticket answers 503 once), **tenacity**
  retrying the whole automation (``wait_random_exponential``, the same backoff
  as the orchestrator's, sleeping on the virtual clock) against the
  **orchestrated** run, which also journals the done work.

Target: orchestrated >= 0.5x bare throughput.  Usage::

    python benchmarks/orchestrator_overhead.py [--runs 300] [--ledger URL] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import VirtualClock  # noqa: E402
from harness._wire import Request, Response  # noqa: E402
from harness.flow import load_flow  # noqa: E402
from harness.ledger import Ledger  # noqa: E402
from harness.orchestrator import Orchestrator  # noqa: E402
from harness.systems import CallContext, World, standard_world  # noqa: E402


def _events(world: World) -> list[dict[str, Any]]:
    hubspot = world.system("hubspot")
    return [
        dict(hubspot.webhook_event(d, property_name="dealstage", property_value="closedwon"))
        for d in hubspot.deal_ids()
    ]


def _ticket_503_once() -> Callable[[Request, CallContext, Callable[[Request], Response]], Response]:
    seen: set[str] = set()

    def intercept(req: Request, ctx: CallContext, call_next: Callable[[Request], Response]) -> Response:
        if req.method != "POST" or not req.path.endswith("/tickets.json"):
            return call_next(req)
        deal = str(req.json()["ticket"].get("external_id"))
        if deal not in seen:
            seen.add(deal)
            ctx.fault = "http_503"
            return Response.of_json(503, {"error": "Service Unavailable"})
        return call_next(req)

    return intercept


def _timed(label: str, runs: int, body: Callable[[], int]) -> dict[str, Any]:
    start = time.perf_counter()
    ok = body()
    elapsed = time.perf_counter() - start
    return {
        "mode": label,
        "runs": runs,
        "succeeded": ok,
        "seconds": round(elapsed, 4),
        "runs_per_second": round(runs / elapsed, 1),
        "ms_per_run": round(1000 * elapsed / runs, 3),
    }


def measure(runs: int, ledger_url: str | None) -> dict[str, Any]:
    flow = load_flow(str(ROOT / "scenarios/deal_won/flow.py"))
    handler = flow.handler()
    tmp = tempfile.TemporaryDirectory(prefix="harness-bench-")
    url = ledger_url or f"sqlite:///{Path(tmp.name) / 'ledger.db'}"
    results: list[dict[str, Any]] = []

    # good day: bare against orchestrated with durable recording
    world = standard_world(seed=1, deals=runs, clock=VirtualClock())
    events = _events(world)
    with world.activate():
        for e in events[:5]:
            handler(e)  # warm up imports and caches outside the timing
    world.reset()
    world = standard_world(seed=1, deals=runs, clock=VirtualClock())
    events = _events(world)

    def bare() -> int:
        with world.activate():
            return sum(1 for e in events if handler(e).get("status") == "ok")

    results.append(_timed("bare", runs, bare))

    world2 = standard_world(seed=1, deals=runs, clock=VirtualClock())
    events2 = _events(world2)
    with Ledger.open(url) as ledger:
        orch = Orchestrator(
            flow, ledger=ledger, clock=world2.clock, rng=random.Random(0), mode="orchestrated"
        )

        def orchestrated() -> int:
            with world2.activate():
                return sum(1 for e in events2 if orch.handle(e).end_state == "succeeded")

        results.append(_timed("orchestrated (SQLite ledger, every run written)", runs, orchestrated))
        recorded = len(ledger.runs(flow=flow.name))

    # bad day: one 503 on each ticket; tenacity retries the whole automation
    import tenacity

    world3 = standard_world(seed=1, deals=runs, clock=VirtualClock())
    world3.interceptors.append(_ticket_503_once())
    events3 = _events(world3)
    policy = flow.policy.retry
    clock3 = world3.clock
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.max_attempts),
        wait=tenacity.wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay),
        sleep=clock3.sleep,
        reraise=True,
    )

    def with_tenacity() -> int:
        with world3.activate():
            return sum(1 for e in events3 if retrying(handler, e).get("status") == "ok")

    results.append(_timed("tenacity (bad day: 503 once per ticket)", runs, with_tenacity))
    tenacity_invoices = len(world3.system("stripe").records()["invoice"])

    world4 = standard_world(seed=1, deals=runs, clock=VirtualClock())
    world4.interceptors.append(_ticket_503_once())
    events4 = _events(world4)
    with Ledger.open(url) as ledger:
        # a second flow name keeps these dedupe keys apart from the good-day runs'
        bad_day_flow = dataclasses.replace(flow, name="deal_won_bad_day")
        orch4 = Orchestrator(
            bad_day_flow, ledger=ledger, clock=world4.clock, rng=random.Random(0), mode="orchestrated"
        )

        def orchestrated_bad() -> int:
            with world4.activate():
                return sum(1 for e in events4 if orch4.handle(e).end_state == "succeeded")

        results.append(_timed("orchestrated (bad day: 503 once per ticket)", runs, orchestrated_bad))
    orchestrated_invoices = len(world4.system("stripe").records()["invoice"])
    tmp.cleanup()

    bare_rps = results[0]["runs_per_second"]
    return {
        "runs": runs,
        "ledger": url if ledger_url else "sqlite (temporary file)",
        "results": results,
        "orchestrated_vs_bare": round(results[1]["runs_per_second"] / bare_rps, 3),
        "orchestrated_vs_tenacity_bad_day": round(
            results[3]["runs_per_second"] / results[2]["runs_per_second"], 3
        ),
        "runs_recorded": recorded,
        "bad_day_invoices": {"tenacity": tenacity_invoices, "orchestrated": orchestrated_invoices},
        "target_met": results[1]["runs_per_second"] >= 0.5 * bare_rps,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="deals per mode (default 300)")
    parser.add_argument("--ledger", default=None, help="ledger URL (default: a temporary SQLite file)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if args.runs < 10:
        parser.error(f"--runs must be >= 10, got {args.runs}")
    report = measure(args.runs, args.ledger)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"orchestrator overhead, {args.runs} runs per mode, ledger: {report['ledger']}")
    for r in report["results"]:
        print(
            f"  {r['mode']:<50} {r['runs_per_second']:>8.1f} runs/s  {r['ms_per_run']:>7.3f} ms/run"
            f"  ({r['succeeded']} succeeded)"
        )
    print(
        f"  orchestrated / bare throughput: {report['orchestrated_vs_bare']:.2f}x "
        f"(target >= 0.5x: {'met' if report['target_met'] else 'NOT met'}); "
        f"{report['runs_recorded']} runs recorded"
    )
    print(
        f"  bad day: orchestrated / tenacity throughput {report['orchestrated_vs_tenacity_bad_day']:.2f}x; "
        f"invoices made: tenacity {report['bad_day_invoices']['tenacity']}, "
        f"orchestrated {report['bad_day_invoices']['orchestrated']} (one per deal is right)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
