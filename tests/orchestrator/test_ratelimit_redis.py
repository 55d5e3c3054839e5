"""The per-system token bucket shared through Redis: one limit for every worker process together.

Needs Redis on 127.0.0.1:6379 (``.ci/run`` starts it).
"""

from __future__ import annotations

import itertools
import json
import logging
import subprocess
import sys
import time
import uuid

import pytest

from harness.errors import UsageError
from harness.orchestrator import RateLimit
from harness.orchestrator._ratelimit_redis import RedisRateLimiter

REDIS = "redis://127.0.0.1:6379/0"
# 5 calls per 100 s: a token comes back every 20 s, so the waits handed out are far apart
# and the test's own few milliseconds of refill cannot blur them
LIMIT = {"stripe": RateLimit(calls=5, per=100.0)}

_CHILD = """
import json, sys
from harness.orchestrator import RateLimit
from harness.orchestrator._ratelimit_redis import RedisRateLimiter
limiter = RedisRateLimiter(sys.argv[1], {"stripe": RateLimit(calls=5, per=100.0)}, namespace=sys.argv[2])
print(json.dumps([limiter.reserve("stripe") for _ in range(5)]))
"""


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def test_two_processes_share_one_bucket(namespace: str) -> None:
    """Ten reservations from two processes against a burst of 5: five go at once, the other
    five wait one refill interval (20 s) more each, whichever process asked."""
    here = RedisRateLimiter(REDIS, LIMIT, namespace=namespace)
    started = time.monotonic()
    try:
        mine = [here.reserve("stripe") for _ in range(5)]
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, REDIS, namespace], capture_output=True, text=True, timeout=60, check=True
        )
        theirs = json.loads(child.stdout)
        elapsed = time.monotonic() - started
    finally:
        here._redis.delete(here.key("stripe"))
        here.close()
    assert mine == [0.0] * 5  # the burst
    # the other process got no burst of its own: the bucket was empty (refilled only by the
    # time the child took to start), and each slot is one refill interval after the last
    assert 20.0 - elapsed - 0.05 <= theirs[0] <= 20.0, (elapsed, theirs)
    for before, after in itertools.pairwise(theirs):
        assert after - before == pytest.approx(20.0, abs=0.05), theirs


def test_a_system_without_a_limit_is_not_paced(namespace: str) -> None:
    limiter = RedisRateLimiter(REDIS, LIMIT, namespace=namespace)
    try:
        assert [limiter.reserve("zendesk") for _ in range(50)] == [0.0] * 50
    finally:
        limiter.close()


def test_unreachable_redis_paces_by_the_process_bucket_and_says_so(
    namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0", LIMIT, namespace=namespace)
    with caplog.at_level(logging.ERROR, logger="harness.orchestrator"):
        waits = [limiter.reserve("stripe") for _ in range(6)]
    assert waits[:5] == [0.0] * 5 and waits[5] > 19.0  # the local bucket still holds the limit
    assert [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()][:1] == [
        r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()
    ]  # said once, not once per call
    assert any(f"127.0.0.1:{port}" in r.getMessage() for r in caplog.records)


def test_a_non_redis_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"expected a Redis URL such as redis://127.0.0.1:6379/0"):
        RedisRateLimiter("amqp://guest:guest@127.0.0.1:5672//", LIMIT)
