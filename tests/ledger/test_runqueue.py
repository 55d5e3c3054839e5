"""The write-ahead run queue on SQLite and PostgreSQL: accept, lease, fence, finish."""

from __future__ import annotations

import threading

import pytest
from _ledger_records import T0, run

from harness.errors import LedgerError
from harness.ledger import Ledger
from harness.ledger.runqueue import Acceptance, LeaseLost, RunQueue


def accept(queue: RunQueue, run_id: str, key: str | None = "deal:1", *, now: float = T0, owner: str | None = None) -> Acceptance:
    return queue.accept(
        run_id=run_id, flow="deal_won", event={"objectId": 1, "note": "é\u0000"}, dedupe_key=key,
        wall_now=now, ttl=None, lease_owner=owner, lease_for=30,
    )


def test_accept_stores_the_event_as_delivered_with_its_claim(ledger: Ledger) -> None:
    queue = RunQueue(ledger)
    first = accept(queue, "r1")
    assert (first.holder, first.took_over) == (None, None)
    row = queue.get("r1")
    assert (row.state, row.event, row.dedupe_key, row.next_wall) == ("accepted", {"objectId": 1, "note": "é\u0000"}, "deal:1", T0)
    assert ledger.claim_dedupe("deal_won", "deal:1", "other", wall_now=T0, ttl=None) == "r1"


def test_a_redelivery_is_attached_to_the_unfinished_holder(ledger: Ledger) -> None:
    queue = RunQueue(ledger)
    accept(queue, "r1")
    second = accept(queue, "r2")
    assert second.attached and (second.holder, second.holder_state) == ("r1", "accepted")
    assert queue.get("r2").attached_to == "r1" and queue.get("r1").deliveries == 2


def test_a_claim_whose_holder_left_no_trace_is_taken_over(ledger: Ledger) -> None:
    queue = RunQueue(ledger)
    ledger.claim_dedupe("deal_won", "deal:1", "ghost", wall_now=T0, ttl=None)
    taken = accept(queue, "r1")
    assert (taken.holder, taken.took_over) == (None, "ghost")
    assert ledger.claim_dedupe("deal_won", "deal:1", "other", wall_now=T0, ttl=None) == "r1"


def test_two_workers_never_lease_the_same_run(ledger: Ledger) -> None:
    queue = RunQueue(ledger)
    for n in range(20):
        accept(queue, f"r{n}", key=f"deal:{n}")
    leased: dict[str, list[str]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def work(owner: str) -> None:
        barrier.wait(10)
        while rows := queue.lease_due(owner=owner, wall_now=T0 + 1, lease_for=30, limit=2):
            leased[owner].extend(r.id for r in rows)

    threads = [threading.Thread(target=work, args=(o,)) for o in leased]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(leased["a"] + leased["b"]) == sorted(f"r{n}" for n in range(20))


def test_an_expired_lease_is_recovered_and_the_old_owner_is_fenced(ledger: Ledger) -> None:
    queue = RunQueue(ledger)
    accept(queue, "r1", owner="dead")
    queue.save("r1", owner="dead", wall_now=T0, state="running", attempts=1, progress={"inflight": ["k"]})
    assert queue.lease_due(owner="b", wall_now=T0 + 10, lease_for=30) == []  # the lease still holds
    (row,) = queue.lease_due(owner="b", wall_now=T0 + 31, lease_for=30)
    assert (row.id, row.state, row.recoveries, row.progress) == ("r1", "running", 1, {"inflight": ["k"]})
    with pytest.raises(LeaseLost):
        queue.save("r1", owner="dead", wall_now=T0 + 32, state="waiting")
    with pytest.raises(LeaseLost):
        queue.finish(run("r1", flow="deal_won", campaign_id=None, mode="production"), owner="dead", wall_now=T0 + 32)
    assert queue.heartbeat(owner="dead", run_ids=["r1"], wall_now=T0 + 32, lease_for=30) == ["r1"]
    queue.finish(run("r1", flow="deal_won", campaign_id=None, mode="production"), owner="b", wall_now=T0 + 33)
    assert queue.get("r1").state == "succeeded" and ledger.run("r1").end_state == "succeeded"
    assert queue.census()[("deal_won", "succeeded")] == 1


def test_a_parked_run_is_due_at_its_time_not_before(ledger: Ledger) -> None:
    queue = RunQueue(ledger)
    accept(queue, "r1", owner="w")
    queue.save("r1", owner="w", wall_now=T0, state="waiting", attempts=1, next_wall=T0 + 60, release=True)
    assert queue.lease_due(owner="w", wall_now=T0 + 59, lease_for=30) == []
    assert queue.next_due() == T0 + 60
    (row,) = queue.lease_due(owner="w", wall_now=T0 + 60, lease_for=30)
    assert (row.state, row.recoveries) == ("waiting", 0)  # a clean park is not a recovery


def test_save_cannot_end_a_run(ledger: Ledger) -> None:
    queue = RunQueue(ledger)
    accept(queue, "r1", owner="w")
    with pytest.raises(LedgerError, match="use finish"):
        queue.save("r1", owner="w", wall_now=T0, state="succeeded")
