"""Durable production runs: stored before any call, parked instead of sleeping, recovered after a death."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from _orch_fakes import Desk, fail_once
from _orch_support import invoices, make_flow, order
from sqlalchemy import update

from harness import Policy, RetryPolicy, WallClock
from harness._shared.wire import Request, Response
from harness.ledger import Ledger, schema
from harness.ledger.runqueue import RunQueue
from harness.orchestrator import DurableOrchestrator, RunAccepted, RunResult, Workers
from harness.systems import CallContext, World
from harness.systems._stripe import Stripe

KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"


@pytest.fixture
def world() -> Iterator[World]:
    w = World([Stripe(), Desk()], clock=WallClock())
    with w.activate():
        yield w


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll for a known state (never a fixed sleep); fail naming the state."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def make_due(ledger: Ledger, run_id: str) -> None:
    """Move a parked run's next attempt to now (as if its backoff had passed)."""
    with ledger.engine.begin() as conn:
        conn.execute(
            update(schema.run_queue).where(schema.run_queue.c.id == run_id).values(next_wall=0.0)
        )


def _accepted(result: RunResult | RunAccepted) -> RunAccepted:
    """A delivery accepted without running it (budget 0)."""
    assert isinstance(result, RunAccepted), result
    return result


def test_a_delivery_is_stored_before_the_automation_makes_any_call(
    sqlite_ledger: Ledger, world: World
) -> None:
    seen: list[tuple[str, str | None]] = []
    queue = RunQueue(sqlite_ledger)

    def automation(event: dict[str, Any]) -> dict[str, Any]:
        (row,) = queue.runs(flow="orders")
        seen.append((row.state, row.dedupe_key))
        assert row.event == event  # the event as delivered
        requests.post("https://api.stripe.com/v1/customers", data={"email": event["email"]}, auth=(KEY, ""), timeout=5).raise_for_status()
        return {"status": "ok"}

    orch = DurableOrchestrator(make_flow(automation), ledger=sqlite_ledger)
    result = orch.handle(order(1))
    assert isinstance(result, RunResult) and result.end_state == "succeeded"
    assert seen == [("running", "order:1")]
    row = queue.get(result.run.id)
    assert (row.state, row.attempts, row.lease_owner, row.progress) == ("succeeded", 1, None, {})
    assert sqlite_ledger.run(result.run.id).end_state == "succeeded"


def test_a_retry_past_the_budget_is_a_stored_time_and_a_worker_finishes_it(
    sqlite_ledger: Ledger, world: World
) -> None:
    world.interceptors.append(fail_once("POST", "/v1/invoices", "status", status=503, retry_after="60"))
    flow = make_flow("bill", policy=Policy(retry=RetryPolicy(base_delay=0.01, max_delay=0.02)))
    orch = DurableOrchestrator(flow, ledger=sqlite_ledger, budget=5.0)
    started = time.time()
    first = orch.handle(order(2))
    assert isinstance(first, RunAccepted) and first.state == "waiting"
    assert first.next_wall is not None and first.next_wall >= started + 60  # Retry-After honoured, not slept
    queue = RunQueue(sqlite_ledger)
    row = queue.get(first.run_id)
    assert (row.state, row.attempts, row.lease_owner) == ("waiting", 1, None)
    assert len(row.progress["journal"]) == 2  # customer and invoice item, persisted as they completed
    assert sqlite_ledger.runs(flow="orders") == []  # not finished, not lost

    # HubSpot-style redelivery while the first run waits: attached to it, not lost
    second = orch.handle(order(2, event_id=101))
    assert isinstance(second, RunResult) and second.end_state == "suppressed"
    assert queue.get(second.run.id).attached_to == first.run_id
    assert queue.get(first.run_id).deliveries == 2

    make_due(sqlite_ledger, first.run_id)
    assert Workers([orch]).run_once() == 1
    done = sqlite_ledger.run(first.run_id)
    assert done.end_state == "succeeded" and done.attempts == 2 and done.retries == 1
    kinds = [e.kind for e in done.events]
    assert kinds[0] == "delivery" and "resumed" in kinds and kinds[-1] == "end"
    replayed = [e for e in done.events if e.kind == "call" and e.detail.get("replayed")]
    assert len(replayed) == 2  # the completed calls were answered from the stored journal
    assert len(invoices(world)) == 1
    assert len(world.system("stripe").records()["customer"]) == 1
    assert queue.get(first.run_id).state == "succeeded"


def test_a_run_whose_process_died_is_resumed_by_another_worker(
    sqlite_ledger: Ledger, world: World
) -> None:
    """Worker A stops heartbeating in the middle of a write whose answer never came back;
    worker B takes the run over when A's lease expires and finishes it once."""
    arrived = threading.Event()
    release = threading.Event()
    blocked = [True]

    def hang_after_acting(req: Request, ctx: CallContext, call_next: Callable[[Request], Response]) -> Response:
        response = call_next(req)
        if req.method == "POST" and req.path.endswith("/v1/invoices") and blocked[0]:
            blocked[0] = False
            arrived.set()
            release.wait(60)  # the server acted; the answer is stuck in a dying process
        return response

    world.interceptors.append(hang_after_acting)
    flow = make_flow("bill")
    a = DurableOrchestrator(flow, ledger=sqlite_ledger, owner="worker-a", lease=0.5, budget=60)
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(a.handle(order(3))), daemon=True)
    thread.start()
    assert arrived.wait(30)
    queue = RunQueue(sqlite_ledger)
    (row,) = queue.runs(flow="orders")
    assert row.state == "running" and len(row.progress["inflight"]) == 1
    a.leases.stop()  # worker A's process "dies": no more heartbeats
    wait_for("A's lease to expire", lambda: (queue.get(row.id).lease_expires or 0) < time.time())

    b = DurableOrchestrator(flow, ledger=sqlite_ledger, owner="worker-b", lease=30)
    assert Workers([b]).run_once() == 1
    done = sqlite_ledger.run(row.id)
    assert done.end_state == "succeeded"
    resumed = next(e for e in done.events if e.kind == "resumed")
    assert resumed.detail["recovered"] is True and resumed.detail["unknown_writes"] == 1
    assert len(invoices(world)) == 1  # the in-flight write was repeated with the same idempotency key
    assert len(world.system("zendesk").tickets) == 1
    assert queue.get(row.id).recoveries == 1

    release.set()  # A wakes up: its lease is gone, it records nothing
    thread.join(30)
    assert out and isinstance(out[0], RunAccepted) and out[0].state == "lost"
    assert [r.id for r in sqlite_ledger.runs(flow="orders")] == [row.id]


def test_a_claim_left_by_a_run_that_was_never_stored_is_taken_over(
    sqlite_ledger: Ledger, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # what a process of the harness before durable runs left when it died mid-backoff
    sqlite_ledger.claim_dedupe("orders", "order:4", "ghost-run", wall_now=time.time(), ttl=None)
    orch = DurableOrchestrator(make_flow("bill"), ledger=sqlite_ledger)
    caplog.set_level("WARNING", logger="harness.orchestrator")
    result = orch.handle(order(4))
    assert result.end_state == "succeeded"  # not suppressed into nothing
    assert any("ghost-run" in r.getMessage() for r in caplog.records)
    assert len(invoices(world)) == 1


def test_a_process_that_dies_in_its_last_attempt_ends_in_the_inbox(
    sqlite_ledger: Ledger, world: World
) -> None:
    flow = make_flow("bill", policy=Policy(retry=RetryPolicy(max_attempts=1)))
    orch = DurableOrchestrator(flow, ledger=sqlite_ledger, owner="w")
    queue = RunQueue(sqlite_ledger)
    run_id, _ = orch.accept(order(5), lease=True)
    # the row as a worker leaves it when it dies inside attempt 1
    queue.save(run_id, owner="w", wall_now=time.time(), state="running", attempts=1, progress={
        "started": time.time(), "wall_started": time.time(),
        "events": [{"seq": 1, "kind": "delivery", "at": time.time(), "wall_at": time.time(), "detail": {}}],
        "state": {"attempts": 1}, "journal": {}, "inflight": [],
    })
    with sqlite_ledger.engine.begin() as conn:
        conn.execute(update(schema.run_queue).values(lease_expires=0.0))
    assert Workers([orch]).run_once() == 1
    done = sqlite_ledger.run(run_id)
    assert done.end_state == "manual" and "retries exhausted" in str(done.detail["reason"])
    assert sqlite_ledger.inbox(flow="orders")[0].run_id == run_id
    assert invoices(world) == []


def test_flow_handle_with_no_wait_returns_at_acceptance_and_embedded_workers_finish(
    sqlite_url: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_LEDGER_URL", sqlite_url)
    flow = make_flow("bill", name="orders_async")
    accepted = flow.handle(order(6), wait=0)
    assert isinstance(accepted, RunAccepted) and accepted.state == "accepted"
    with Ledger.open(sqlite_url) as ledger:
        queue = RunQueue(ledger)
        wait_for("the embedded worker to finish the run", lambda: queue.get(accepted.run_id).state == "succeeded")
        assert ledger.run(accepted.run_id).end_state == "succeeded"
    assert len(invoices(world)) == 1


@pytest.mark.postgres
def test_two_worker_pools_sharing_a_postgresql_ledger_run_each_delivery_once(pg_url: str, world: World) -> None:
    """Two processes' worth of workers (two owners, two pools) drain one queue: no run is made
    twice, none is left, every order is billed once."""
    flow = make_flow("bill")
    with Ledger.open(pg_url) as ledger:
        a = DurableOrchestrator(flow, ledger=ledger, owner="host-a", budget=0)
        b = DurableOrchestrator(flow, ledger=ledger, owner="host-b", budget=0)
        ids = [_accepted(a.handle(order(n, event_id=n))).run_id for n in range(12)]
        ids += [_accepted(b.handle(order(n, event_id=100 + n))).run_id for n in range(0, 12, 3)]  # redeliveries
        pools = [Workers([a], threads=2, poll=0.05), Workers([b], threads=2, poll=0.05)]
        for pool in pools:
            pool.start()
        queue = RunQueue(ledger)
        try:
            wait_for("every delivery to end", lambda: not queue.runs(states=["accepted", "running", "waiting"]), 120)
        finally:
            for pool in pools:
                pool.stop()
        states = [queue.get(i).state for i in ids]
        assert states.count("succeeded") == 12 and states.count("suppressed") == 4
        runs = ledger.runs(flow="orders")
        assert sorted(r.id for r in runs) == sorted(ids)  # each run recorded once
    assert len(invoices(world)) == 12
