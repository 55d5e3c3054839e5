"""Worker threads that run due runs from the ledger's queue, and the embedded default of ``flow.handle``.

:class:`Workers` lease due runs (accepted, waiting past their time, or
running under a lease that expired because its process died) and hand each to
its flow's :class:`~harness.orchestrator.DurableOrchestrator`.
:func:`embedded_orchestrator` gives every flow of a process one owner, one
heartbeat, one rate limiter and one worker pool per ledger.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from harness._shared.wire import real_time
from harness.errors import InvalidValueError
from harness.flow import Flow
from harness.ledger.runqueue import QueuedRun, RunQueue
from harness.orchestrator._durable import DEFAULT_LEASE, DurableOrchestrator, _Leases
from harness.orchestrator._ratelimit import RateLimiter
from harness.orchestrator._run import error_message

if TYPE_CHECKING:
    from harness.ledger import Ledger

__all__ = ["Workers", "embedded_orchestrator"]

log = logging.getLogger("harness.orchestrator")


class Workers:
    """Worker threads that run the due runs of some flows from one ledger.

    ``orchestrators`` share the ledger and the owner; ``threads`` workers lease
    due runs (accepted, waiting past their time, or running with an expired
    lease) and run them; ``poll`` is the longest a worker sleeps before it
    looks again (a local acceptance wakes it at once).  ``idle_exit``: a
    worker ends when no unfinished run of these flows is left (the embedded
    workers of ``flow.handle``); ``harness serve`` keeps them running.
    ``sweep_after``: leave accepted and waiting runs to a dispatcher (a
    distributed engine) for that many seconds past their due time and take
    only the runs it lost (its message, or its worker, died) and the runs
    whose lease expired.
    """

    def __init__(
        self,
        orchestrators: Sequence[DurableOrchestrator],
        *,
        threads: int = 2,
        poll: float = 0.5,
        idle_exit: bool = False,
        sweep_after: float | None = None,
    ) -> None:
        if not orchestrators:
            raise InvalidValueError("Workers: no flow to work for")
        self.by_flow: dict[str, DurableOrchestrator] = {}
        first = orchestrators[0]
        self.queue = first.queue
        self.owner = first.owner
        self.lease = first.lease
        self.threads = threads
        self.poll = poll
        self.idle_exit = idle_exit
        self.sweep_after = sweep_after
        self._wake = threading.Condition()
        self._pending = False
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        for o in orchestrators:
            self.add(o)

    def add(self, orch: DurableOrchestrator) -> None:
        """Work for ``orch``'s flow too (same ledger and owner)."""
        if orch.owner != self.owner:
            raise InvalidValueError(f"Workers: flow {orch.flow.name!r} leases as {orch.owner!r}, not {self.owner!r}")
        self.by_flow[orch.flow.name] = orch
        orch.on_pending = self.wake

    def start(self) -> None:
        """Start the worker threads (again, if they ended idle)."""
        with self._lock:
            self._stop.clear()
            self._workers = [t for t in self._workers if t.is_alive()]
            for n in range(len(self._workers), self.threads):
                t = threading.Thread(target=self._loop, name=f"harness-worker-{n}", daemon=True)
                self._workers.append(t)
                t.start()

    def wake(self) -> None:
        """A run became due (or may have): wake a worker, starting them if needed."""
        with self._wake:
            self._pending = True
            self._wake.notify_all()
        if self.idle_exit:
            self.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers after their current run (a run in progress stays leased and is
        recovered by the next worker once its lease expires)."""
        self._stop.set()
        self.wake_all()
        for t in list(self._workers):
            t.join(timeout)

    def alive(self) -> int:
        """The number of worker threads running."""
        return sum(1 for t in self._workers if t.is_alive())

    def wake_all(self) -> None:
        with self._wake:
            self._pending = True
            self._wake.notify_all()

    def run_once(self) -> int:
        """Lease and run every due run now, in this thread; the number run."""
        count = 0
        while True:
            rows = self._lease_due(sorted(self.by_flow))
            if not rows:
                return count
            for row in rows:
                self._run(row)
                count += 1

    def _lease_due(self, flows: list[str]) -> list[QueuedRun]:
        now = real_time()
        return self.queue.lease_due(
            owner=self.owner,
            wall_now=now,
            lease_for=self.lease,
            flows=flows,
            older_than=None if self.sweep_after is None else now - self.sweep_after,
        )

    def _run(self, row: QueuedRun) -> None:
        orch = self.by_flow[row.flow]
        try:
            orch.resume(row)
        except Exception as exc:
            # the run stays leased and is recovered when the lease expires; say so loudly
            log.error(
                "worker: run %s of flow %s could not be run: %s (it is retried after its lease "
                "of %gs expires)",
                row.id,
                row.flow,
                error_message(exc),
                self.lease,
            )

    def _loop(self) -> None:
        flows = sorted(self.by_flow)
        while not self._stop.is_set():
            try:
                rows = self._lease_due(flows)
            except Exception as exc:
                log.error("worker: could not read the run queue: %s", error_message(exc))
                rows = []
            if rows:
                for row in rows:
                    self._run(row)
                continue
            try:
                due = self.queue.next_due(flows=flows)
            except Exception:
                due = real_time() + self.poll
            if due is None and self.idle_exit:
                return
            if due is None or self.sweep_after is not None:
                # a sweep looks again after its poll: due runs are its dispatcher's first
                wait = self.poll
            else:
                wait = min(self.poll, max(0.0, due - real_time()))
            with self._wake:
                if not self._pending:
                    self._wake.wait(max(wait, 0.01))
                self._pending = False


# -- the embedded default of flow.handle: one owner, heartbeat and worker pool per process ----

_EMBEDDED: dict[str, tuple[_Leases, Workers | None, RateLimiter]] = {}
_EMBEDDED_LOCK = threading.Lock()


def embedded_orchestrator(flow: Flow, ledger: Ledger) -> DurableOrchestrator:
    """A durable orchestrator for ``flow`` on ``ledger`` with this process's embedded workers.

    The workers start when a run is parked or left to them, and at once when
    the ledger holds unfinished runs of ``flow`` (a previous process died with
    them); they end when no unfinished run of their flows is left.
    """
    with _EMBEDDED_LOCK:
        entry = _EMBEDDED.get(ledger.url)
        if entry is None:
            owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
            entry = (_Leases(RunQueue(ledger), owner, DEFAULT_LEASE), None, RateLimiter())
        leases, workers, limiter = entry
        orch = DurableOrchestrator(
            flow, ledger=ledger, owner=leases.owner, leases=leases, rate_limiter=limiter
        )
        if workers is None:
            workers = Workers([orch], idle_exit=True)
        else:
            workers.add(orch)
        _EMBEDDED[ledger.url] = (leases, workers, limiter)
    if orch.queue.next_due(flows=[flow.name]) is not None:
        workers.wake()
    return orch
