"""Who runs the accepted runs of ``harness serve``: the seam where the dispatcher is chosen.

The app accepts deliveries; a *dispatcher* gets the runs done.  It has four
methods (:class:`Dispatcher`): ``start``, ``stop``, ``wake`` (a delivery was
just accepted) and ``alive`` (for ``/healthz``).  Two ship here:

* :class:`WorkerProcesses` (the default): worker processes forked from the
  serving process, each with its own worker threads, owner and heartbeat.
  The serving process then only verifies signatures and writes acceptances,
  so a delivery's answer never waits behind a run's Python code for the GIL
  (measured in ``benchmarks/serve_ack.py``).  A child watches a pipe from
  its parent: a byte is a wake-up; ``s`` then the end of the file is
  :meth:`WorkerProcesses.stop` (finish the current runs, then end); the end of
  the file alone is the parent dying (end at once, as one process would), so
  a killed server leaves no orphan running runs; its leased runs are recovered
  after their lease by the next server's workers.  (Not ``PR_SET_PDEATHSIG``: it fires when the *thread*
  that forked ends, and a mounted app may start its workers from a
  short-lived thread.)
* :class:`WorkerThreads`: the worker threads in the serving process (one
  process, nothing forked: what tests with an in-process world of fakes use).

Another dispatcher (a distributed engine) passes its own object as
``create_app(..., dispatcher=...)``.

Rate limits stay shared within a process; across ``n`` worker processes each
gets ``1/n`` of every limit, so together they keep the vendor's limit.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from harness.errors import UsageError
from harness.flow import Flow
from harness.orchestrator import DurableOrchestrator, RateLimit, RateLimiter, Workers

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from harness.ledger import Ledger

__all__ = ["Dispatcher", "WorkerProcesses", "WorkerThreads", "share_limits"]

log = logging.getLogger("harness.serve")

class Dispatcher(Protocol):
    """What ``harness serve`` needs of whatever runs its accepted runs."""

    def start(self) -> None:
        """Start working (idempotent; again after :meth:`stop`)."""

    def stop(self) -> None:
        """Stop after the runs in progress (unfinished runs stay in the ledger)."""

    def wake(self) -> None:
        """Deliveries were just accepted: look at the queue now, not at the next poll."""

    def alive(self) -> int:
        """How many workers are running (``/healthz`` shows it)."""


def share_limits(limits: Mapping[str, RateLimit], parts: int) -> dict[str, RateLimit]:
    """Each of ``parts`` processes' share of ``limits``: together they make the same rate."""
    if parts <= 1:
        return dict(limits)
    shared = {}
    for system, limit in limits.items():
        calls = max(1, limit.calls // parts)
        # the same calls per second in total: each process's bucket refills 1/parts as fast
        shared[system] = RateLimit(calls=calls, per=limit.per * calls * parts / limit.calls)
    return shared


def build_orchestrators(
    flows: Sequence[Flow],
    *,
    ledger: Ledger,
    lease: float,
    rate_limiter: RateLimiter,
    owner: str | None = None,
) -> list[DurableOrchestrator]:
    """One durable orchestrator per flow, sharing one owner, heartbeat and rate limiter."""
    first = DurableOrchestrator(
        flows[0], ledger=ledger, lease=lease, budget=0.0, rate_limiter=rate_limiter, owner=owner
    )
    out = [first]
    for flow in flows[1:]:
        out.append(
            DurableOrchestrator(
                flow, ledger=ledger, lease=lease, budget=0.0, owner=first.owner,
                leases=first.leases, rate_limiter=rate_limiter,
            )
        )
    return out


class WorkerThreads:
    """The runs are made by ``threads`` worker threads in the serving process."""

    def __init__(self, orchestrators: Sequence[DurableOrchestrator], *, threads: int, poll: float) -> None:
        self.workers = Workers(list(orchestrators), threads=threads, poll=poll)

    def start(self) -> None:
        self.workers.start()

    def stop(self) -> None:
        self.workers.stop()

    def wake(self) -> None:
        self.workers.wake_all()

    def alive(self) -> int:
        return self.workers.alive()


class WorkerProcesses:
    """``processes`` forked worker processes with ``threads`` worker threads each.

    Each child builds its own orchestrators for ``flows`` (its own owner, so
    its leases are its own), shares ``1/processes`` of each rate limit, and
    runs until the pipe from the parent closes (:meth:`stop`, or the parent
    died).  A byte on the pipe is a wake-up: a delivery was accepted.
    :meth:`wake` also restarts a child that died, and says so in the log.
    """

    def __init__(
        self,
        flows: Sequence[Flow],
        *,
        ledger: Ledger,
        processes: int,
        threads: int = 1,
        lease: float,
        poll: float,
        rate_limits: Mapping[str, RateLimit],
    ) -> None:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise UsageError(
                "harness serve: worker processes are forked, and this platform cannot fork; "
                "run the workers as threads (--worker-threads, or worker_mode='threads')"
            )
        self.flows = list(flows)
        self.ledger = ledger
        self.processes = processes
        self.threads = threads
        self.lease = lease
        self.poll = poll
        self.limits = share_limits(rate_limits, processes)
        self._children: list[tuple[BaseProcess, int] | None] = [None] * processes
        self._lock = threading.Lock()
        self._started = False

    # -- parent side -----------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._started = True
            for slot in range(self.processes):
                self._ensure(slot)

    def _ensure(self, slot: int) -> None:
        child = self._children[slot]
        if child is not None:
            proc, fd = child
            if proc.is_alive():
                return
            log.error(
                "worker process %d (pid %s) ended with status %s; starting another (its leased "
                "runs are recovered when their lease of %gs expires)",
                slot, proc.pid, proc.exitcode, self.lease,
            )
            os.close(fd)
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        # the child must not hold its siblings' write ends, or it would keep their pipes open
        others = [c[1] for c in self._children if c is not None and c[1] != write_fd]
        ctx = multiprocessing.get_context("fork")
        proc = ctx.Process(
            target=self._child,
            args=(slot, read_fd, [write_fd, *others]),
            name=f"harness-worker-process-{slot}",
            daemon=True,
        )
        proc.start()
        os.close(read_fd)
        self._children[slot] = (proc, write_fd)

    def stop(self) -> None:
        with self._lock:
            self._started = False
            children = [c for c in self._children if c is not None]
            self._children = [None] * self.processes
        for _, fd in children:
            with contextlib.suppress(OSError):
                # "s" then end-of-file: stop after the current runs (end-of-file alone: I died)
                os.set_blocking(fd, True)
                os.write(fd, b"s")
            with contextlib.suppress(OSError):
                os.close(fd)
        for proc, _ in children:
            proc.join(self.lease + 10)
            if proc.is_alive():
                log.error("worker process %s did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.join(5)

    def wake(self) -> None:
        with self._lock:
            if not self._started:
                return
            for slot in range(self.processes):
                self._ensure(slot)
                child = self._children[slot]
                assert child is not None
                # a full pipe already holds a wake-up; a dead child is restarted next time
                with contextlib.suppress(BlockingIOError, BrokenPipeError):
                    os.write(child[1], b"w")

    def alive(self) -> int:
        with self._lock:
            return sum(1 for c in self._children if c is not None and c[0].is_alive())

    # -- child side ------------------------------------------------------------

    def _child(self, slot: int, read_fd: int, inherited: list[int]) -> None:
        from harness._watchdog import lift_exit_guard

        lift_exit_guard()  # the CLI's guard is for automations; this process must be able to end
        # the parent's server owns these signals; a child stops when its pipe closes
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd in inherited:
            with contextlib.suppress(OSError):
                os.close(fd)
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        orchestrators = build_orchestrators(
            self.flows, ledger=self.ledger, lease=self.lease,
            rate_limiter=RateLimiter(self.limits), owner=owner,
        )
        workers = Workers(orchestrators, threads=self.threads, poll=self.poll)
        workers.start()
        stopping = False
        while True:
            try:
                data = os.read(read_fd, 4096)
            except InterruptedError:
                continue
            if not data:
                break
            stopping = stopping or b"s" in data
            workers.wake_all()
        if not stopping:
            # the server died (a crash, a SIGKILL, an OOM): die with it, as one process would;
            # the runs this process held are recovered after their lease
            os._exit(1)
        workers.stop(timeout=self.lease + 5)
        orchestrators[0].leases.stop()


def dispatcher_for(
    mode: str,
    flows: Sequence[Flow],
    orchestrators: Sequence[DurableOrchestrator],
    *,
    ledger: Ledger,
    workers: int,
    lease: float,
    poll: float,
    rate_limits: Mapping[str, RateLimit],
) -> Dispatcher:
    """The built-in dispatcher named ``mode``: ``processes`` or ``threads``."""
    if mode == "threads":
        return WorkerThreads(orchestrators, threads=workers, poll=poll)
    if mode == "processes":
        return WorkerProcesses(
            flows, ledger=ledger, processes=workers, lease=lease, poll=poll, rate_limits=rate_limits
        )
    raise UsageError(f"harness serve: worker mode must be 'processes' or 'threads', got {mode!r}")

