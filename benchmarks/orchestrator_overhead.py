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

    python benchmarks/orchestrator_overhead.py [--runs 300] [--rounds 3] [--ledger URL] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
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
from harness._shared.wire import Request, Response  # noqa: E402
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


def _best(label: str, runs: int, rounds: list[tuple[float, int]]) -> dict[str, Any]:
    """The fastest of several rounds: on a shared machine the minimum is the least noisy."""
    elapsed, ok = min(rounds)
    return {
        "mode": label,
        "runs": runs,
        "succeeded": ok,
        "rounds": len(rounds),
        "seconds": round(elapsed, 4),
        "runs_per_second": round(runs / elapsed, 1),
        "ms_per_run": round(1000 * elapsed / runs, 3),
    }


def _bare_ok(value: Any) -> bool:
    return isinstance(value, dict) and value.get("status") == "ok"


def _orchestrated_ok(result: Any) -> bool:
    return bool(result.end_state == "succeeded")


def _clock(
    call: Callable[[Any], Any], events: list[dict[str, Any]], ok: Callable[[Any], bool]
) -> tuple[float, int]:
    """Seconds to deliver ``events`` through ``call`` and how many succeeded."""
    start = time.perf_counter()
    succeeded = sum(1 for e in events if ok(call(e)))
    return time.perf_counter() - start, succeeded


def measure(runs: int, ledger_url: str | None, *, rounds: int = 3) -> dict[str, Any]:
    import tenacity

    flow = load_flow(str(ROOT / "scenarios/deal_won/flow.py"))
    handler = flow.handler()
    policy = flow.policy.retry
    tmp = tempfile.TemporaryDirectory(prefix="harness-bench-")
    url = ledger_url or f"sqlite:///{Path(tmp.name) / 'ledger.db'}"
    timings: dict[str, list[tuple[float, int]]] = {k: [] for k in ("bare", "orch", "ten", "orch_bad")}
    invoices = {"tenacity": 0, "orchestrated": 0}
    recorded = 0

    warm = standard_world(seed=1, deals=5, clock=VirtualClock())
    with warm.activate():
        for e in _events(warm):
            handler(e)  # imports and caches warmed outside the timing

    with Ledger.open(url) as ledger:
        for round_no in range(rounds):
            # good day: bare against orchestrated with every run written to the ledger
            world = standard_world(seed=1, deals=runs, clock=VirtualClock())
            events = _events(world)
            with world.activate():
                timings["bare"].append(_clock(handler, events, _bare_ok))

            # a flow name per round keeps the rounds' dedupe keys apart
            good = dataclasses.replace(flow, name=f"deal_won_bench_{round_no}")
            world = standard_world(seed=1, deals=runs, clock=VirtualClock())
            events = _events(world)
            orch = Orchestrator(good, ledger=ledger, clock=world.clock, rng=random.Random(0))
            with world.activate():
                timings["orch"].append(_clock(orch.handle, events, _orchestrated_ok))
            recorded = len(ledger.runs(flow=good.name))

            # bad day: one 503 per ticket; tenacity retries the whole automation
            world = standard_world(seed=1, deals=runs, clock=VirtualClock())
            world.interceptors.append(_ticket_503_once())
            events = _events(world)
            retrying = tenacity.Retrying(
                stop=tenacity.stop_after_attempt(policy.max_attempts),
                wait=tenacity.wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay),
                sleep=world.clock.sleep,
                reraise=True,
            )
            with world.activate():
                timings["ten"].append(
                    _clock(functools.partial(retrying, handler), events, _bare_ok)
                )
            invoices["tenacity"] = len(world.system("stripe").records()["invoice"])

            bad = dataclasses.replace(flow, name=f"deal_won_bad_day_{round_no}")
            world = standard_world(seed=1, deals=runs, clock=VirtualClock())
            world.interceptors.append(_ticket_503_once())
            events = _events(world)
            orch = Orchestrator(bad, ledger=ledger, clock=world.clock, rng=random.Random(0))
            with world.activate():
                timings["orch_bad"].append(_clock(orch.handle, events, _orchestrated_ok))
            invoices["orchestrated"] = len(world.system("stripe").records()["invoice"])
    tmp.cleanup()

    results = [
        _best("bare", runs, timings["bare"]),
        _best("orchestrated (SQLite ledger, every run written)", runs, timings["orch"]),
        _best("tenacity (bad day: 503 once per ticket)", runs, timings["ten"]),
        _best("orchestrated (bad day: 503 once per ticket)", runs, timings["orch_bad"]),
    ]
    bare_rps = results[0]["runs_per_second"]
    return {
        "runs": runs,
        "rounds": rounds,
        "ledger": url if ledger_url else "sqlite (temporary file)",
        "results": results,
        "orchestrated_vs_bare": round(results[1]["runs_per_second"] / bare_rps, 3),
        "orchestrator_ms_per_run": round(results[1]["ms_per_run"] - results[0]["ms_per_run"], 3),
        "orchestrated_vs_tenacity_bad_day": round(
            results[3]["runs_per_second"] / results[2]["runs_per_second"], 3
        ),
        "runs_recorded": recorded,
        "bad_day_invoices": invoices,
        "target_met": results[1]["runs_per_second"] >= 0.5 * bare_rps,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="deals per mode (default 300)")
    parser.add_argument("--ledger", default=None, help="ledger URL (default: a temporary SQLite file)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode; the best counts")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if args.runs < 10:
        parser.error(f"--runs must be >= 10, got {args.runs}")
    report = measure(args.runs, args.ledger, rounds=max(1, args.rounds))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"orchestrator overhead, {args.runs} runs per mode, best of {report['rounds']} rounds, "
        f"ledger: {report['ledger']}"
    )
    for r in report["results"]:
        print(
            f"  {r['mode']:<50} {r['runs_per_second']:>8.1f} runs/s  {r['ms_per_run']:>7.3f} ms/run"
            f"  ({r['succeeded']} succeeded)"
        )
    print(
        f"  orchestrated / bare throughput: {report['orchestrated_vs_bare']:.2f}x "
        f"(target >= 0.5x: {'met' if report['target_met'] else 'NOT met'}), "
        f"{report['orchestrator_ms_per_run']:+.2f} ms per run; "
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
