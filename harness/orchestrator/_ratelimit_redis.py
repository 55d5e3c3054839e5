"""Per-system rate limits shared by every worker process on every machine, kept in Redis.

:class:`RedisRateLimiter` is a :class:`~harness.orchestrator.RateLimiter`
whose token buckets live in Redis, so the workers of a scaled-out deployment
(``harness worker`` processes on several machines) share one bucket per
system: HubSpot's 100 requests per 10 seconds are 100 for all of them
together, not 100 each.

One Lua script refills and takes a token atomically on the Redis server,
with the server's clock (``TIME``), so the machines' clocks do not need to
agree.  The bucket behaves as the in-process one: ``calls`` tokens refilled
evenly over ``per`` seconds, a burst of at most ``calls``, and a reservation
is never given back (a caller that waits the time it is told sends in its
slot).

When Redis cannot be reached the call is paced by this process's own bucket
and the failure is logged: a rate limiter must never stop a run, and the
in-process bucket still keeps this process within the limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from harness.errors import UsageError
from harness.orchestrator._ratelimit import RateLimit, RateLimiter

__all__ = ["RedisRateLimiter"]

log = logging.getLogger("harness.orchestrator")

# KEYS[1]: the bucket; ARGV: calls, per.  Returns the seconds to wait, as a string (Redis
# truncates a Lua number to an integer in its reply).
_RESERVE = """
local calls = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local rate = calls / per
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(v[1]) or calls
local stamp = tonumber(v[2]) or now
tokens = math.min(calls, tokens + math.max(0, now - stamp) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
local wait = 0
if tokens < 0 then wait = -tokens / rate end
redis.call('EXPIRE', KEYS[1], math.ceil(per + wait) + 1)
return tostring(wait)
"""


class RedisRateLimiter(RateLimiter):
    """Token buckets by system, shared through the Redis server at ``url``.

    ``namespace`` separates deployments that share one Redis server (the
    buckets are ``harness:<namespace>:ratelimit:<system>``).  Raises
    :class:`~harness.errors.UsageError` when the ``redis`` package is missing
    or ``url`` is not a Redis URL; an unreachable server is not an error here
    (see the module's description).
    """

    def __init__(
        self,
        url: str,
        limits: Mapping[str, RateLimit] | None = None,
        *,
        namespace: str = "harness",
    ) -> None:
        super().__init__(limits)
        try:
            import redis
        except ImportError as exc:
            raise UsageError(
                f"shared rate limits need the redis package ({exc}); pip install 'harness[celery]'"
            ) from None
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise UsageError(
                f"rate limit store {url!r}: expected a Redis URL such as redis://127.0.0.1:6379/0"
            )
        self.url = url
        self.namespace = namespace
        self._redis: Any = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._script: Any = self._redis.register_script(_RESERVE)
        self._warned = threading.Event()

    def key(self, system: str) -> str:
        """The Redis key of ``system``'s bucket."""
        return f"harness:{self.namespace}:ratelimit:{system}"

    def reserve(self, system: str) -> float:
        """Take a token for ``system`` from the shared bucket; the seconds to wait (0: at once)."""
        limit = self.limits.get(system)
        if limit is None:
            return 0.0
        try:
            wait = float(self._script(keys=[self.key(system)], args=[limit.calls, limit.per]))
        except Exception as exc:
            if not self._warned.is_set():
                self._warned.set()
                log.error(
                    "rate limits: Redis at %s unreachable (%s); pacing by this process's own "
                    "buckets until it answers",
                    self.url,
                    exc,
                )
            return super().reserve(system)
        if self._warned.is_set():
            self._warned.clear()
            log.warning("rate limits: Redis at %s answers again; buckets shared again", self.url)
        return wait

    def close(self) -> None:
        """Close the connections to Redis."""
        self._redis.close()
