"""``flow.handle(event)`` in a web handler: wall clock, the ledger from the environment, threads."""

from __future__ import annotations

import threading

import pytest
from _orch_fakes import fail_once
from _orch_support import invoices, make_flow, order

from harness import Policy, RetryPolicy, WallClock
from harness.ledger import Ledger
from harness.orchestrator import orchestrator_for
from harness.systems import World
from harness.systems._stripe import Stripe


def test_flow_handle_writes_the_same_ledger_from_many_threads(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_LEDGER_URL", sqlite_url)
    from _orch_fakes import Desk

    world = World([Stripe(), Desk()], clock=WallClock())
    world.interceptors.append(fail_once("POST", "/v1/invoices", "timeout_after"))
    flow = make_flow("bill", policy=Policy(retry=RetryPolicy(base_delay=0.001, max_delay=0.002)))
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def web_handler(n: int) -> None:
        barrier.wait(timeout=30)
        result = flow.handle(order(n % 3, event_id=n))  # three orders, each delivered twice
        with lock:
            results.append(result)

    with world.activate():
        threads = [threading.Thread(target=web_handler, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(r.end_state for r in results) == ["succeeded"] * 3 + ["suppressed"] * 3
    assert len(invoices(world)) == 3
    assert orchestrator_for(flow) is orchestrator_for(flow)  # one orchestrator per flow
    with Ledger.open(sqlite_url) as ledger:
        runs = ledger.runs(flow="orders", with_events=True)
    assert len(runs) == 6
    assert {r.mode for r in runs} == {"production"} and {r.clock for r in runs} == {"wall"}
    assert all(r.events[-1].kind == "end" for r in runs)


def test_run_transitions_are_logged_with_context(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HARNESS_LEDGER_URL", sqlite_url)
    flow = make_flow("bill")
    caplog.set_level("INFO", logger="harness.orchestrator")
    result = flow.handle(order(email="nope"))
    assert result.end_state == "manual"
    records = [r for r in caplog.records if getattr(r, "run_id", None) == result.run.id]
    transitions = [r.transition for r in records]  # type: ignore[attr-defined]
    kinds = [e.kind for e in result.run.events]
    assert transitions == kinds  # the ledger and the logs tell the same story
    for r in records:
        assert r.flow == "orders" and r.owner == "ops@example.com"  # type: ignore[attr-defined]
        assert f"run={result.run.id}" in r.getMessage()
    inbox = next(r for r in records if r.transition == "inbox_added")  # type: ignore[attr-defined]
    assert inbox.error_class == "logical" and "error_class=logical" in inbox.getMessage()  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["with_urllib3", "with_urllib", "with_aiohttp"])
def test_flow_handle_hooks_every_client_in_production(
    name: str, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # wall clock and the ledger from the environment, as in a web handler: the ticket's
    # answer is lost once, the retry searches for it, the Stripe create is keyed
    import _client_automations as autos

    from harness.flow import Flow
    from harness.systems import standard_world
    from harness.triggers import get_trigger

    monkeypatch.setenv("HARNESS_LEDGER_URL", sqlite_url)
    world = standard_world(3, clock=WallClock())
    world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "timeout_after"))
    trigger = get_trigger("hubspot.deal.closedwon")
    flow = Flow(name=f"prod_{name}", automation=getattr(autos, name), trigger=trigger,
                policy=Policy(retry=RetryPolicy(base_delay=0.001, max_delay=0.002)))
    with world.activate():
        result = flow.handle(dict(trigger.example))
    assert result.end_state == "succeeded", result
    stripe_posts = [c for c in world.calls if c.system == "stripe" and c.method == "POST"]
    assert len(stripe_posts) == 1 and str(stripe_posts[0].request.header("Idempotency-Key")).startswith("harness-")
    assert len(world.system("zendesk").records()["ticket"]) == 1
    with Ledger.open(sqlite_url) as ledger:
        (run,) = ledger.runs(flow=f"prod_{name}", with_events=True)
    assert run.mode == "production"
    calls = [e for e in run.events if e.kind == "call"]
    assert any(e.detail.get("guard") == "search-before-create" for e in calls)
