"""`harness check` throughput on the deal-won flow, against a hand-written fault test.

Three numbers, all measured in this process:

1. **scenarios per second** of a chaos campaign on ``scenarios/deal_won`` (bare
   mode, then bare + orchestrated), through ``harness.chaos.run_campaign``,
   which is what ``harness check`` calls: reference runs, oracles, ledger
   writes (SQLite in a temporary directory) included; shrinking measured apart;
2. **overhead ratio**: the harness's time per scenario divided by the time per
   example of a hand-written Hypothesis + ``responses`` fault test of the *same*
   automation (canned JSON answers, one drawn fault, a drawn duplicate
   delivery, ``time.sleep`` patched out so retries do not wait);
3. **an hour of virtual backoff**: the wall time of one scenario in which the
   automation backs off through a one-hour Stripe outage.

Run: ``python benchmarks/check_throughput.py [--examples N] [--repeats R] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
DEAL_WON = ROOT / "scenarios" / "deal_won"


def _flow() -> Any:
    from harness.flow import load_flow

    return load_flow(str(DEAL_WON / "flow.py"))


def campaign_rate(
    examples: int, seed: int, modes: tuple[str, ...], *, shrink: bool,
    counts: dict[str, int] | None = None, cpu: list[float] | None = None,
) -> tuple[float, int, float]:
    """Scenarios (scenario-modes) per second of one campaign, its findings, deliveries per second.

    ``counts``, when given, gets the ``deliveries`` and HTTP ``calls`` of the
    scenarios (read from the ledger after the timing; reference runs not included);
    ``cpu``, when given, gets the CPU seconds of the campaign appended.
    """
    from harness.chaos import run_campaign
    from harness.ledger import Ledger

    flow = _flow()
    with (
        tempfile.TemporaryDirectory(prefix="harness-check-bench-") as tmp,
        Ledger.open(f"sqlite:///{Path(tmp) / 'ledger.db'}") as ledger,
    ):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run_campaign(flow, ledger=ledger, examples=examples, seed=seed, modes=modes, shrink=shrink)
        seconds = time.perf_counter() - start
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
        runs = [r for cid in result.campaign_ids.values() for r in ledger.runs(campaign_id=cid)]
        deliveries = len(runs)
        if counts is not None:
            counts["deliveries"] = counts.get("deliveries", 0) + deliveries
            counts["calls"] = counts.get("calls", 0) + sum(r.calls for r in runs)
    return sum(result.examples.values()) / seconds, len(result.findings), deliveries / seconds


def handwritten_rate(
    examples: int, seed: int, counts: dict[str, int] | None = None, cpu: list[float] | None = None
) -> tuple[float, int, float]:
    """Examples per second of the hand-written Hypothesis + responses test of deal_won.

    Also its violations and its deliveries (calls of the automation) per second;
    ``counts``, when given, gets the ``deliveries`` and HTTP ``calls`` it made;
    ``cpu`` the CPU seconds of the test appended.
    """
    import responses
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    from harness.flow import load_callable

    handle = load_callable(f"{DEAL_WON / 'automation.py'}:handle")
    endpoints = [
        ("GET", re.compile(r".*/crm/v3/objects/deals/.*")),
        ("GET", re.compile(r".*/crm/v3/objects/contacts/.*")),
        ("POST", re.compile(r".*/v1/customers$")),
        ("POST", re.compile(r".*/v1/invoiceitems$")),
        ("POST", re.compile(r".*/v1/invoices$")),
        ("POST", re.compile(r".*/v1/invoices/[^/]+/finalize$")),
        ("POST", re.compile(r".*/api/v2/tickets\.json$")),
    ]
    violations = 0
    deliveries = 0

    @hseed(seed)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        deal=st.integers(1, 8),
        amount=st.sampled_from(["1200.00", "99.5", "0", ""]),
        fault_at=st.integers(0, len(endpoints) - 1),
        fault=st.sampled_from([None, 503, "timeout"]),
        twice=st.booleans(),
    )
    def test_deal_won(deal: int, amount: str, fault_at: int, fault: Any, twice: bool) -> None:
        nonlocal violations, deliveries
        import requests

        state = {"customers": 0, "invoices": 0, "tickets": 0, "fault_left": 1 if fault else 0}

        def answer(index: int) -> Callable[[Any], tuple[int, dict[str, str], str]]:
            def callback(request: Any) -> tuple[int, dict[str, str], str]:
                if index == fault_at and state["fault_left"]:
                    state["fault_left"] -= 1
                    if fault == "timeout":
                        raise requests.exceptions.ReadTimeout("timed out")
                    return 503, {}, json.dumps({"error": {"type": "api_error"}})
                body: dict[str, Any]
                if index == 0:
                    body = {
                        "id": str(deal),
                        "properties": {"dealname": "Deal", "amount": amount, "deal_currency_code": "usd"},
                        "associations": {"contacts": {"results": [{"id": "9"}]}},
                    }
                elif index == 1:
                    body = {"id": "9", "properties": {"email": "a@b.co", "firstname": "A", "lastname": "B"}}
                elif index == 2:
                    state["customers"] += 1
                    body = {"id": f"cus_{state['customers']}"}
                elif index in (3, 5):
                    body = {"id": "in_1", "number": "INV-1"}
                elif index == 4:
                    state["invoices"] += 1
                    body = {"id": f"in_{state['invoices']}"}
                else:
                    state["tickets"] += 1
                    body = {"ticket": {"id": state["tickets"]}}
                return 200, {"Content-Type": "application/json"}, json.dumps(body)

            return callback

        event = {"objectId": deal, "propertyName": "dealstage", "propertyValue": "closedwon"}
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked, mock.patch("time.sleep"):
            for i, (method, url) in enumerate(endpoints):
                mocked.add_callback(method, url, callback=answer(i))
            for _ in range(2 if twice else 1):
                deliveries += 1
                with contextlib.suppress(Exception):
                    handle(dict(event))
            if counts is not None:
                counts["deliveries"] = counts.get("deliveries", 0) + (2 if twice else 1)
                counts["calls"] = counts.get("calls", 0) + len(mocked.calls)
        if state["invoices"] > 1 or state["customers"] > 1:
            violations += 1

    start, start_cpu = time.perf_counter(), time.process_time()
    test_deal_won()
    seconds = time.perf_counter() - start
    if cpu is not None:
        cpu.append(time.process_time() - start_cpu)
    return examples / seconds, violations, deliveries / seconds


def _backoff_through_an_outage(event: Any) -> dict[str, str]:
    """Retries a Stripe call with capped exponential backoff until it answers."""
    import requests

    delay = 1.0
    while True:
        resp = requests.get("https://api.stripe.com/v1/customers", auth=("sk_test_bench", ""), timeout=10)
        if resp.status_code < 500:
            return {"status": "ok"}
        time.sleep(delay)
        delay = min(delay * 2, 300.0)


def hour_of_backoff() -> tuple[float, float]:
    """(wall seconds, virtual seconds) of one scenario that backs off through an hour-long outage."""
    from harness.chaos import Deliver, InjectFault, Scenario, Target
    from harness.flow import Flow
    from harness.policy import Policy, TimeoutPolicy
    from harness.triggers import get_trigger

    flow = Flow(
        name="hour_of_backoff",
        automation=_backoff_through_an_outage,
        trigger=get_trigger("hubspot.deal.closedwon"),
        policy=Policy(timeouts=TimeoutPolicy(run=3 * 3600.0)),
    )
    target = Target(flow, seed=1)
    scenario = Scenario(1, (InjectFault("stripe", "*", "outage", (("seconds", 3600),)), Deliver(0)), "deal")
    target.run(scenario, "bare")  # warm: the reference run is cached
    start = time.perf_counter()
    run = target.run(scenario, "bare")
    wall = time.perf_counter() - start
    return wall, run.deliveries[0].ended_at - run.deliveries[0].started_at


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="scenarios per campaign (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of each measurement (default 3)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    if args.examples < 1 or args.repeats < 1:
        parser.error("--examples and --repeats must be >= 1")

    # warm imports, Faker, Hypothesis and the ledger outside the timings
    handwritten_rate(3, args.seed)
    campaign_rate(2, args.seed, ("bare",), shrink=False)

    samples: dict[str, list[float]] = {"hand": [], "explore": [], "check": [], "both": []}
    per_delivery: dict[str, list[float]] = {"hand": [], "explore": []}
    findings: dict[str, int] = {}
    for r in range(args.repeats):
        seed = args.seed + r
        rate, _, dps = handwritten_rate(args.examples, seed)
        samples["hand"].append(rate)
        per_delivery["hand"].append(dps)
        rate, _, dps = campaign_rate(args.examples, seed, ("bare",), shrink=False)
        samples["explore"].append(rate)
        per_delivery["explore"].append(dps)
        rate, findings["check"], _ = campaign_rate(args.examples, seed, ("bare",), shrink=True)
        samples["check"].append(rate)
        rate, findings["both"], _ = campaign_rate(args.examples, seed, ("bare", "orchestrated"), shrink=True)
        samples["both"].append(rate)
    walls, virtuals = zip(*(hour_of_backoff() for _ in range(args.repeats)), strict=True)

    med = {k: statistics.median(v) for k, v in samples.items()}
    med_delivery = {k: statistics.median(v) for k, v in per_delivery.items()}
    rows = [
        ("hand-written Hypothesis + responses test (deal_won)", med["hand"], "examples/s", None),
        ("harness check --mode bare, exploring only", med["explore"], "scenarios/s", med["hand"] / med["explore"]),
        ("harness check --mode bare (with shrinking)", med["check"], "scenarios/s", med["hand"] / med["check"]),
        ("harness check --mode both (with shrinking)", med["both"], "scenario-modes/s", med["hand"] / med["both"]),
        ("hand-written test, per delivery", med_delivery["hand"], "deliveries/s", None),
        (
            "harness check --mode bare, exploring, per delivery",
            med_delivery["explore"],
            "deliveries/s",
            med_delivery["hand"] / med_delivery["explore"],
        ),
    ]
    print(f"deal_won, {args.examples} examples x {args.repeats} repeats, python {platform.python_version()}")
    for label, value, unit, overhead in rows:
        ratio = "" if overhead is None else f"   overhead x{overhead:.2f}"
        print(f"  {label:<52} {value:8.1f} {unit}{ratio}")
    print(
        f"  one scenario with {statistics.median(virtuals):.0f} s of virtual backoff: "
        f"{statistics.median(walls) * 1000:.1f} ms wall"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "examples": args.examples,
                    "repeats": args.repeats,
                    "samples": samples,
                    "median": med,
                    "overhead_ratio": {
                        "explore": med["hand"] / med["explore"],
                        "check": med["hand"] / med["check"],
                        "both": med["hand"] / med["both"],
                    },
                    "findings": findings,
                    "deliveries_per_second": per_delivery,
                    "overhead_ratio_per_delivery": med_delivery["hand"] / med_delivery["explore"],
                    "hour_of_backoff": {"wall_seconds": list(walls), "virtual_seconds": list(virtuals)},
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
