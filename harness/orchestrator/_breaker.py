"""Per-system circuit breakers.

A breaker counts the transient failures of calls to one system.  When
``failures`` of them fall within ``window`` seconds it *opens*: calls to that
system wait (the run records a ``waiting`` event) instead of hammering it.
After ``cooldown`` seconds it is *half-open*: the next call is the probe; a
probe that gets a response closes it, a probe that fails transiently opens it
again.  A run never waits more than ``max_wait`` in total for one system: it
then fails the attempt with :class:`~harness.orchestrator.CircuitOpen`
(transient), which the retry policy and finally the inbox take over.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from harness.policy import BreakerPolicy

__all__ = ["Breaker", "BreakerChange", "Breakers"]


@dataclass(frozen=True, slots=True)
class BreakerChange:
    """A breaker changed state: ``state`` is ``open``, ``half_open`` or ``closed``."""

    system: str
    state: str
    at: float
    failures: int


class Breaker:
    """The circuit of one system; thread-safe."""

    def __init__(self, system: str, policy: BreakerPolicy) -> None:
        self.system = system
        self.policy = policy
        self.state = "closed"
        self.opened_at: float | None = None
        self._failures: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_time(self, now: float) -> float:
        """Seconds until a call may go to the system (0 when closed or half-open)."""
        with self._lock:
            if self.state != "open" or self.opened_at is None:
                return 0.0
            return max(0.0, self.opened_at + self.policy.cooldown - now)

    def before_call(self, now: float) -> BreakerChange | None:
        """Move an open breaker whose cooldown passed to half-open (the coming call probes)."""
        with self._lock:
            if (
                self.state == "open"
                and self.opened_at is not None
                and now >= self.opened_at + self.policy.cooldown
            ):
                self.state = "half_open"
                return BreakerChange(self.system, "half_open", now, len(self._failures))
        return None

    def record(self, now: float, *, transient_failure: bool) -> BreakerChange | None:
        """Record one call's outcome; return the state change it caused, if any."""
        with self._lock:
            if not transient_failure:
                if self.state != "closed":
                    self.state = "closed"
                    self.opened_at = None
                    self._failures.clear()
                    return BreakerChange(self.system, "closed", now, 0)
                return None
            self._failures.append(now)
            while self._failures and self._failures[0] < now - self.policy.window:
                self._failures.popleft()
            if self.state == "half_open" or (
                self.state == "closed" and len(self._failures) >= self.policy.failures
            ):
                self.state = "open"
                self.opened_at = now
                return BreakerChange(self.system, "open", now, len(self._failures))
            if self.state == "open":
                # a call that was already in flight when the circuit opened
                self.opened_at = max(self.opened_at or now, now)
            return None


class Breakers:
    """The breakers of every system one orchestrator (or a whole process) talks to."""

    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy if policy is not None else BreakerPolicy()
        self._breakers: dict[str, Breaker] = {}
        self._lock = threading.Lock()

    def get(self, system: str) -> Breaker:
        with self._lock:
            breaker = self._breakers.get(system)
            if breaker is None:
                breaker = self._breakers[system] = Breaker(system, self.policy)
            return breaker

    def states(self) -> dict[str, str]:
        with self._lock:
            return {name: b.state for name, b in self._breakers.items()}
