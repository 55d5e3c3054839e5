"""Per-system rate limits shared by every worker of a process, so a backlog drains without 429s.

A :class:`RateLimiter` keeps one token bucket per system name: ``calls``
tokens refilled evenly over ``per`` seconds, a burst of at most ``calls``.
A worker about to send a call (never a call answered from the journal) takes
a token, waiting for one when the bucket is empty.  The defaults are the
limits the systems' descriptors document (``SystemDescriptor.rate_limit``;
for the bundled fakes, HubSpot's 100 requests per 10 seconds and Stripe's 25
per second).

Limit (documented, not hidden): the buckets live in one process; several
``harness serve`` processes on one ledger each keep their own, so give each
its share (half the calls on each of two).  ``harness worker`` processes share
theirs through Redis (:mod:`harness.orchestrator._ratelimit_redis`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.errors import UsageError
from harness.systems import known_descriptors

__all__ = ["RateLimit", "RateLimiter", "default_rate_limits", "parse_rate_limit"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RateLimit:
    """At most ``calls`` calls per ``per`` seconds."""

    calls: int
    per: float

    def __post_init__(self) -> None:
        if self.calls < 1 or self.per <= 0:
            raise UsageError(f"RateLimit: calls must be >= 1 and per > 0, got {self.calls}/{self.per}")


def default_rate_limits() -> dict[str, RateLimit]:
    """The limits the known systems' descriptors document, by system name."""
    return {
        d.name: RateLimit(calls=int(d.rate_limit[0]), per=float(d.rate_limit[1]))
        for d in known_descriptors()
        if d.rate_limit is not None
    }


def parse_rate_limit(text: str) -> tuple[str, RateLimit]:
    """``"crm=100/10"`` -> ``("crm", RateLimit(calls=100, per=10.0))``; UsageError otherwise."""
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*=\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*", text)
    if m is None or int(m.group(2)) < 1 or float(m.group(3)) <= 0:
        raise UsageError(
            f"rate limit {text!r}: expected SYSTEM=CALLS/SECONDS such as crm=100/10 (100 calls "
            "per 10 seconds)"
        )
    return m.group(1), RateLimit(calls=int(m.group(2)), per=float(m.group(3)))


class RateLimiter:
    """Token buckets by system; thread-safe.  ``now`` is the clock (default ``time.monotonic``)."""

    def __init__(
        self,
        limits: Mapping[str, RateLimit] | None = None,
        *,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = dict(default_rate_limits() if limits is None else limits)
        self._now = now
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._stamp: dict[str, float] = {}

    def reserve(self, system: str) -> float:
        """Take a token for ``system``; the seconds to wait before sending (0: at once).

        A reservation is never given back: a caller that waits the time it is
        told sends in its slot, and the next caller's slot is behind it.
        """
        limit = self.limits.get(system)
        if limit is None:
            return 0.0
        rate = limit.calls / limit.per
        with self._lock:
            now = self._now()
            tokens = self._tokens.get(system, float(limit.calls))
            last = self._stamp.get(system, now)
            tokens = min(float(limit.calls), tokens + (now - last) * rate)
            tokens -= 1.0
            self._tokens[system] = tokens
            self._stamp[system] = now
            return 0.0 if tokens >= 0 else -tokens / rate
