"""Per-system rate limits: a token bucket shared by every worker, paced before the call is sent."""

from __future__ import annotations

import threading

import pytest
from _orch_fakes import Desk
from _orch_support import make_flow, order

from harness import WallClock
from harness.errors import UsageError
from harness.ledger import Ledger
from harness.orchestrator import DurableOrchestrator, RateLimit, RateLimiter, RunResult
from harness.orchestrator._ratelimit import default_rate_limits, parse_rate_limit
from harness.systems import World
from harness.systems._stripe import Stripe


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_passes_then_each_call_waits_for_its_slot() -> None:
    now = FakeTime()
    limiter = RateLimiter({"stripe": RateLimit(calls=3, per=1.0)}, now=now)
    assert [limiter.reserve("stripe") for _ in range(3)] == [0.0, 0.0, 0.0]
    waits = [limiter.reserve("stripe") for _ in range(3)]
    assert waits == pytest.approx([1 / 3, 2 / 3, 1.0])  # slots queue behind each other
    now.t += 1.0  # a second later the queue has drained
    assert limiter.reserve("stripe") == pytest.approx(1 / 3)
    assert limiter.reserve("zendesk") == 0.0  # no limit declared: never paced


def test_threads_share_one_bucket() -> None:
    now = FakeTime()
    limiter = RateLimiter({"hubspot": RateLimit(calls=100, per=10.0)}, now=now)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            w = limiter.reserve("hubspot")
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for w in waits if w == 0) == 100  # the burst, once for all workers
    assert max(waits) == pytest.approx(10.0)  # the 200th call waits for the 100th slot of 0.1 s


def test_parse_rate_limit_gives_the_fix_on_bad_input() -> None:
    assert parse_rate_limit("hubspot=100/10") == ("hubspot", RateLimit(calls=100, per=10.0))
    assert default_rate_limits() == {"hubspot": RateLimit(calls=100, per=10.0), "stripe": RateLimit(calls=25, per=1.0)}
    with pytest.raises(UsageError, match="SYSTEM=CALLS/SECONDS"):
        parse_rate_limit("stripe:25")


def test_a_run_waits_for_its_slot_and_says_so(sqlite_ledger: Ledger) -> None:
    world = World([Stripe(), Desk()], clock=WallClock())
    # a clock that never moves: the bucket never refills, so every Stripe call after the
    # first must wait for its slot however slow the machine is
    limiter = RateLimiter({"stripe": RateLimit(calls=1, per=0.05)}, now=FakeTime())
    orch = DurableOrchestrator(make_flow("bill"), ledger=sqlite_ledger, rate_limiter=limiter)
    with world.activate():
        result = orch.handle(order(1))
    assert isinstance(result, RunResult) and result.end_state == "succeeded"
    paced = [e for e in result.run.events if e.kind == "waiting" and e.detail.get("reason") == "rate limit"]
    assert len(paced) == 2 and {e.system for e in paced} == {"stripe"}  # 3 Stripe calls, a burst of 1
    assert [e.detail["seconds"] for e in paced] == [0.05, 0.1]
