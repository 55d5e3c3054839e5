"""Concurrent duplicate deliveries of one event make exactly one effect (threads and processes)."""

from __future__ import annotations

import multiprocessing
import random
import threading

import pytest
from _orch_support import Recorder, invoices, make_flow, order

from harness import VirtualClock
from harness.ledger import Ledger
from harness.orchestrator import LedgerDedupe, MemoryDedupe, Orchestrator, RunResult
from harness.systems import World


def deliver_concurrently(orch: Orchestrator, world: World, n: int = 4) -> list[RunResult]:
    barrier = threading.Barrier(n)
    results: list[RunResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            result = orch.handle(order(event_id=1000 + i))
            with lock:
                results.append(result)
        except BaseException as exc:  # surfaced below, never lost in a thread
            errors.append(exc)

    with world.activate():
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors, errors
    return results


def check_one_effect(results: list[RunResult], world: World) -> None:
    assert sorted(r.end_state for r in results) == ["succeeded"] + ["suppressed"] * (len(results) - 1)
    assert len(invoices(world)) == 1
    assert len(world.system("stripe").records()["customer"]) == 1
    assert len(world.system("zendesk").tickets) == 1
    winner = next(r for r in results if r.end_state == "succeeded")
    for r in results:
        if r.end_state == "suppressed":
            held = next(e for e in r.run.events if e.kind == "duplicate_suppressed")
            assert held.detail["first_run"] == winner.run.id


def test_four_threads_memory_dedupe(world: World, clock: VirtualClock) -> None:
    recorder = Recorder()
    orch = Orchestrator(
        make_flow("bill"), clock=clock, rng=random.Random(0), dedupe=MemoryDedupe(), sink=recorder
    )
    check_one_effect(deliver_concurrently(orch, world), world)
    assert len(recorder.runs) == 4


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_four_threads_ledger_dedupe(
    backend: str, world: World, clock: VirtualClock, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    with Ledger.open(url) as ledger:
        orch = Orchestrator(make_flow("bill"), ledger=ledger, clock=clock, rng=random.Random(0))
        assert isinstance(orch._dedupe_store(), LedgerDedupe)
        check_one_effect(deliver_concurrently(orch, world), world)
        runs = ledger.runs(flow="orders", with_events=True)
        assert sorted(r.end_state for r in runs) == ["succeeded", "suppressed", "suppressed", "suppressed"]
        assert all(r.events[-1].kind == "end" for r in runs)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_processes_ledger_dedupe(backend: str, request: pytest.FixtureRequest) -> None:
    import _orch_worker

    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    Ledger.open(url).close()  # create the schema once, before the race
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [ctx.Process(target=_orch_worker.deliver, args=(url, barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    # each process has its own fakes: the effects are summed across both
    assert sorted(state for state, _ in outcomes) == ["succeeded", "suppressed"]
    assert sum(n for _, n in outcomes) == 1
    with Ledger.open(url) as ledger:
        runs = ledger.runs(flow="orders")
    assert sorted(r.end_state for r in runs) == ["succeeded", "suppressed"]
