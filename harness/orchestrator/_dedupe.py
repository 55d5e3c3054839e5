"""Dedupe stores: who holds a flow's dedupe key.

A run claims its event's dedupe key before its first attempt.  The claim is
atomic: of any number of concurrent claimants exactly one gets ``None`` back
(it owns the key); the others get the owner's run id and end ``suppressed``.
:class:`MemoryDedupe` holds keys in this process (campaigns, tests);
:class:`LedgerDedupe` holds them in the ledger's ``dedupe_keys`` table, whose
primary key makes the claim hold across threads, processes and, on
PostgreSQL, machines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from harness._shared.wire import real_time
from harness.policy import DedupePolicy

if TYPE_CHECKING:
    from harness.ledger import Ledger

__all__ = ["DedupeStore", "LedgerDedupe", "MemoryDedupe"]


class DedupeStore(Protocol):
    """Where dedupe keys are claimed."""

    def claim(self, key: str, run_id: str) -> str | None:
        """Claim ``key`` for ``run_id``: ``None`` when claimed, else the run id holding it."""

    def release(self, key: str, run_id: str) -> None:
        """Give ``key`` up if ``run_id`` holds it (a run that ended ``failed``)."""


class MemoryDedupe:
    """Dedupe keys in memory; thread-safe.

    ``retention`` (seconds, ``None``: forever) is measured with ``now``
    (default: ``time.time``); an expired claim is replaced by the next one.
    """

    def __init__(
        self,
        *,
        retention: float | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._keys: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._retention = retention
        self._now = now

    def claim(self, key: str, run_id: str) -> str | None:
        now = self._now()
        with self._lock:
            held = self._keys.get(key)
            if held is not None:
                holder, claimed = held
                if self._retention is None or now - claimed < self._retention:
                    return holder
            self._keys[key] = (run_id, now)
            return None

    def release(self, key: str, run_id: str) -> None:
        with self._lock:
            held = self._keys.get(key)
            if held is not None and held[0] == run_id:
                del self._keys[key]

    def __len__(self) -> int:
        return len(self._keys)


class LedgerDedupe:
    """Dedupe keys in the ledger (unique on flow and key), with the policy's retention."""

    def __init__(self, ledger: Ledger, flow: str, policy: DedupePolicy | None = None) -> None:
        self.ledger = ledger
        self.flow = flow
        self.policy = policy if policy is not None else DedupePolicy()

    def claim(self, key: str, run_id: str) -> str | None:
        # retention is wall time: the key must outlive process restarts and clock changes
        return self.ledger.claim_dedupe(
            self.flow, key, run_id, wall_now=real_time(), ttl=self.policy.retention
        )

    def release(self, key: str, run_id: str) -> None:
        self.ledger.release_dedupe(self.flow, key, run_id)
