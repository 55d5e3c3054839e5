"""Scale out through Celery: ``harness serve --engine celery`` dispatches, ``harness worker`` runs.

The ledger stays the source of truth; Celery only carries "run queue item X
of flow F" from the serving process to a worker process on any machine.

* ``harness serve --engine celery --broker URL`` accepts each delivery
  durably in the (shared PostgreSQL) ledger as always, answers 2xx, then
  sends one Celery message per accepted run to the queue
  ``<queue>.<flow name>``.  It runs no automation itself.
* ``harness worker --flow FILE --ledger URL --broker URL`` is a Celery
  worker (thread pool) whose one task, ``harness.run(flow, run_id)``, leases
  that run in the ledger by the same conditional ``UPDATE`` as the embedded
  workers and runs it through the flow's
  :class:`~harness.orchestrator.DurableOrchestrator` (persisted journal,
  heartbeat, fencing).  A run parked in backoff is sent again with a
  countdown to its next attempt.
* A lost message is never a lost run: every worker also sweeps the ledger
  (:class:`~harness.orchestrator.Workers` with ``sweep_after``) and takes the
  runs whose lease expired (a worker died mid-run, its message acknowledged)
  and the accepted or waiting runs left undispatched for a lease's length (the
  broker was down, or the worker holding a countdown died).

A message is acknowledged when its task starts (Celery's default): a worker
killed mid-run leaves recovery to the lease, which is what fences a second
worker, rather than to the broker's redelivery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness._shared.wire import real_time
from harness.errors import LedgerError, UsageError
from harness.flow import Flow
from harness.ledger import Ledger
from harness.ledger.runqueue import RunQueue
from harness.orchestrator import (
    DEFAULT_LEASE,
    DurableOrchestrator,
    RateLimit,
    RateLimiter,
    RunAccepted,
    Workers,
    error_message,
)

__all__ = ["BROKER_SCHEMES", "CeleryDispatch", "CeleryWorker", "check_broker", "queue_name"]

log = logging.getLogger("harness.serve")

#: the broker URL schemes Celery's transports understand and this module supports
BROKER_SCHEMES = ("redis://", "rediss://", "amqp://", "amqps://", "pyamqp://")
TASK = "harness.run"


def check_broker(url: str, *, where: str = "--broker") -> str:
    """``url`` if it names a supported broker; :class:`UsageError` naming the fix otherwise."""
    if not url.startswith(BROKER_SCHEMES):
        raise UsageError(
            f"{where} {url!r}: expected a Redis or RabbitMQ URL such as "
            "redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672//"
        )
    return url


def _celery() -> Any:
    try:
        import celery
    except ImportError as exc:
        raise UsageError(
            f"--engine celery needs Celery ({exc}); install it with pip install 'harness[celery]'"
        ) from None
    return celery


def queue_name(queue: str, flow: str) -> str:
    """The Celery queue of ``flow``'s runs (``queue`` separates deployments on one broker)."""
    return f"{queue}.{flow}"


def _app(broker: str, *, name: str) -> Any:
    celery = _celery()
    app = celery.Celery(name, broker=check_broker(broker), set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # one message at a time per thread: a dead worker holds few unstarted messages
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,  # the "ready" line goes to stdout, for supervisors
        # the producer must not hang a webhook answer on a dead broker: the run is stored,
        # and the workers' sweep finds it
        broker_transport_options={"max_retries": 1, "socket_timeout": 2.0, "socket_connect_timeout": 2.0},
        broker_connection_timeout=2.0,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
    )
    return app


def _check_reachable(app: Any, broker: str, what: str) -> None:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        raise UsageError(
            f"{what}: the broker at {broker} does not answer ({error_message(exc)}); start it or "
            "fix --broker"
        ) from None


class CeleryDispatch:
    """The serving side: send one Celery message per accepted run (``Server``'s dispatch hook).

    Checks at construction that Celery is installed and the broker answers
    (:class:`UsageError` otherwise).  A message that cannot be sent later is
    logged, never raised: the delivery is already stored, and the workers'
    sweep takes it after a lease's length.
    """

    def __init__(self, broker: str, *, queue: str = "harness", check: bool = True) -> None:
        self.broker = check_broker(broker)
        self.queue = queue
        self.app = _app(broker, name="harness-serve")
        if check:
            _check_reachable(self.app, broker, "harness serve --engine celery")

    def __call__(self, flow: str, run_ids: Sequence[str]) -> None:
        for run_id in run_ids:
            try:
                self.app.send_task(TASK, args=[flow, run_id], queue=queue_name(self.queue, flow))
            except Exception as exc:
                log.error(
                    "flow %s: run %s is stored but its message could not be sent to %s (%s); a "
                    "worker's sweep takes it after its lease time",
                    flow,
                    run_id,
                    self.broker,
                    error_message(exc),
                )


class CeleryWorker:
    """The working side: a Celery worker that runs the flows' queued runs from the ledger.

    ``threads`` Celery threads run tasks; one sweep thread recovers what the
    messages missed (see the module's description).  ``rate_limiter`` paces
    the calls per system (share one across processes: a
    :class:`~harness.orchestrator._ratelimit_redis.RedisRateLimiter`).
    """

    def __init__(
        self,
        flows: Sequence[Flow],
        *,
        ledger: Ledger,
        broker: str,
        threads: int = 2,
        lease: float = DEFAULT_LEASE,
        queue: str = "harness",
        rate_limiter: RateLimiter | None = None,
        rate_limits: Mapping[str, RateLimit] | None = None,
        sweep_poll: float = 0.5,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        if not flows:
            raise UsageError("harness worker: give at least one flow (--flow FILE)")
        seen: dict[str, Flow] = {}
        for flow in flows:
            if flow.name in seen and seen[flow.name] is not flow:
                raise UsageError(f"harness worker: two flows are named {flow.name!r}; each needs its own name")
            seen[flow.name] = flow
        self.broker = check_broker(broker)
        self.app = _app(broker, name="harness-worker")
        self.threads = threads
        self.queue_prefix = queue
        self.ledger = ledger
        self.rate_limiter = rate_limiter if rate_limiter is not None else RateLimiter(rate_limits)
        first = DurableOrchestrator(
            flows[0], ledger=ledger, lease=lease, budget=0.0, rate_limiter=self.rate_limiter
        )
        self.orchestrators = {flows[0].name: first}
        for flow in flows[1:]:
            self.orchestrators[flow.name] = DurableOrchestrator(
                flow, ledger=ledger, lease=lease, budget=0.0, owner=first.owner,
                leases=first.leases, rate_limiter=self.rate_limiter,
            )
        self.owner = first.owner
        self.lease = lease
        self.queue = RunQueue(ledger)
        # the sweep: runs whose lease expired, and runs no message brought within a lease
        self.sweep = Workers(
            list(self.orchestrators.values()), threads=1, poll=sweep_poll, sweep_after=lease
        )
        self.on_ready = on_ready

        def harness_run(flow: str, run_id: str) -> str:
            return self.run(flow, run_id)

        self.app.task(name=TASK, ignore_result=True)(harness_run)
        self._dispatch_lock = threading.Lock()

    def queues(self) -> list[str]:
        """The Celery queues this worker consumes (one per flow)."""
        return [queue_name(self.queue_prefix, name) for name in sorted(self.orchestrators)]

    def run(self, flow: str, run_id: str) -> str:
        """The task: lease run ``run_id`` and run it; the state it is left in."""
        orch = self.orchestrators.get(flow)
        if orch is None:
            log.error("worker: a message for flow %r, which this worker does not run (flows: %s)",
                      flow, ", ".join(sorted(self.orchestrators)))
            return "unknown flow"
        now = real_time()
        row = self.queue.lease_run(run_id, owner=self.owner, wall_now=now, lease_for=self.lease)
        if row is None:
            try:
                current = self.queue.get(run_id)
            except LedgerError:
                log.error("worker: a message for run %s of flow %s, which ledger %s does not hold: "
                          "give `harness worker` the ledger `harness serve` accepts into (--ledger)",
                          run_id, flow, self.ledger.url)
                return "unknown run"
            if current.state == "waiting" and current.lease_owner is None and current.next_wall > now:
                self.later(flow, run_id, current.next_wall)  # a countdown that fired early
            return current.state  # finished, or leased by a live worker: nothing to do
        try:
            result = orch.resume(row)
        except Exception as exc:
            # the run stays leased; the sweep resumes it once the lease expires
            log.error("worker: run %s of flow %s could not be run: %s (resumed after its lease of "
                      "%gs expires)", run_id, flow, error_message(exc), self.lease)
            return "error"
        if isinstance(result, RunAccepted):
            if result.state == "waiting" and result.next_wall is not None:
                self.later(flow, run_id, result.next_wall)
            return result.state
        return result.end_state

    def later(self, flow: str, run_id: str, at: float) -> None:
        """Send run ``run_id``'s message again, due at wall time ``at``."""
        try:
            self.app.send_task(
                TASK, args=[flow, run_id], queue=queue_name(self.queue_prefix, flow),
                countdown=max(0.0, at - real_time()) + 0.01,
            )
        except Exception as exc:
            log.error("worker: could not schedule run %s of flow %s (%s); the sweep takes it",
                      run_id, flow, error_message(exc))

    def start(self) -> None:
        """Run the worker in this thread until it is stopped (SIGTERM: warm shutdown)."""
        _check_reachable(self.app, self.broker, "harness worker")
        from celery import signals

        def ready(**_: Any) -> None:
            self.sweep.start()
            if self.on_ready is not None:
                self.on_ready()

        signals.worker_ready.connect(ready, weak=False)
        try:
            self.app.worker_main(
                [
                    "worker",
                    "--pool=threads",
                    f"--concurrency={self.threads}",
                    f"--queues={','.join(self.queues())}",
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    f"--hostname=harness@{self.owner.replace(':', '.')}",
                ]
            )
        finally:
            self.sweep.stop()
            self.orchestrators[next(iter(self.orchestrators))].leases.stop()
