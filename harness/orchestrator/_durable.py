"""Durable production runs: accepted before any call, resumed after a crash, retried by workers.

:class:`DurableOrchestrator` is the orchestrator of ``flow.handle(event)`` and
``harness serve``.  It runs the same attempt loop as campaigns
(:class:`~harness.orchestrator.Orchestrator`), with three differences:

* **write-ahead**: :meth:`DurableOrchestrator.handle` first *accepts* the
  delivery in one ledger transaction (event as delivered, dedupe claim, a
  ``run_queue`` row in state ``accepted``) and only then lets the automation
  make a call;
* **persisted progress**: the run's events, its state, the journal of its
  completed calls and the writes it has in flight are saved in its queue row
  as it goes (at the start of each attempt, before each write is sent, after
  each call), under a lease a heartbeat keeps alive;
* **backoff is a stored time**: a retry due within the caller's budget is
  waited for inline (the row says ``waiting`` meanwhile, so a crash during the
  wait loses nothing); a later one parks the run (``waiting`` until
  ``next_wall``, lease released) and :meth:`handle` returns a
  :class:`RunAccepted`; workers (:mod:`harness.orchestrator._workers`) pick
  due runs up.

A run whose lease expired (its process died) is taken by the next worker and
resumed: the automation runs again, the completed calls are answered from the
persisted journal, and a write that was in flight when the process died is an
*ambiguous* write for the hook: it gets the same idempotency key as before
(the key is derived from the run and the request), the search-before-create
guard, and the inbox when neither applies.  A run whose process died during
its last allowed attempt ends ``manual`` with that reason.

Limit (documented, not hidden): the journal matches calls by method, URL and
body, so an automation whose requests carry fresh timestamps or random ids
repeats its completed writes on resume, as it would on any retry.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness._shared.wire import Request, Response, WallClock, real_time
from harness.errors import UsageError
from harness.flow import Flow
from harness.ledger.records import EndState, EventRecord, InboxItem, RunRecord
from harness.ledger.runqueue import LeaseLost, QueuedRun, RunQueue
from harness.orchestrator._hook import Decision, RunHook, Wait, _Plan
from harness.orchestrator._ratelimit import RateLimiter
from harness.orchestrator._run import (
    DeliveryInfo,
    Resume,
    RunLog,
    RunParked,
    RunResult,
    RunState,
    error_message,
)
from harness.orchestrator._runner import Orchestrator

if TYPE_CHECKING:
    from harness.ledger import Ledger

__all__ = ["DEFAULT_BUDGET", "DEFAULT_LEASE", "DurableOrchestrator", "RunAccepted"]

log = logging.getLogger("harness.orchestrator")

#: seconds a lease lasts without a heartbeat; the heartbeat renews it every third of that
DEFAULT_LEASE = 30.0
#: seconds ``flow.handle`` may spend on a run before it returns with the run stored
DEFAULT_BUDGET = 10.0
#: a worker waits inline for a retry due within this many seconds, else parks the run
WORKER_INLINE_WAIT = 1.0
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, kw_only=True, slots=True)
class RunAccepted:
    """A delivery stored durably whose run has not ended yet (it will, in a worker).

    ``state`` is ``accepted`` (not started), ``running``, ``waiting``
    (``next_wall``: epoch seconds of its next attempt) or ``lost`` (this
    process lost the run's lease: another worker owns and finishes it).  ``attached_to`` names
    the unfinished run this delivery's dedupe key belongs to.
    """

    run_id: str
    flow: str
    state: str
    next_wall: float | None = None
    attached_to: str | None = None

    @property
    def end_state(self) -> str:
        """The state, for code that reads ``result.end_state`` of any handle() result."""
        return self.state

    @property
    def ok(self) -> bool:
        """False: nothing is finished yet."""
        return False


class _AcceptedClaims:
    """The dedupe store of a durable orchestrator: the claim was made at acceptance."""

    def __init__(self) -> None:
        self._holders: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def set(self, run_id: str, holder: str | None) -> None:
        with self._lock:
            self._holders[run_id] = holder

    def claim(self, key: str, run_id: str) -> str | None:
        with self._lock:
            return self._holders.pop(run_id, None)

    def release(self, key: str, run_id: str) -> None:
        pass  # the durable orchestrator releases through the ledger itself (see _release)


class _Leases:
    """The runs this process holds, and the heartbeat that keeps their leases alive."""

    def __init__(self, queue: RunQueue, owner: str, lease: float) -> None:
        self.queue = queue
        self.owner = owner
        self.lease = lease
        self._held: set[str] = set()
        self.lost: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str) -> None:
        with self._lock:
            self._held.add(run_id)
            self.lost.discard(run_id)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._beat, name="harness-heartbeat", daemon=True
                )
                self._thread.start()

    def drop(self, run_id: str) -> None:
        with self._lock:
            self._held.discard(run_id)
            self.lost.discard(run_id)

    def _beat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            with self._lock:
                held = sorted(self._held)
            if not held:
                with self._lock:
                    if not self._held:
                        self._thread = None
                        return
                continue
            try:
                lost = self.queue.heartbeat(
                    owner=self.owner, run_ids=held, wall_now=real_time(), lease_for=self.lease
                )
            except Exception as exc:  # the next beat tries again; the lease has slack
                log.error("could not renew the leases of %d runs: %s", len(held), error_message(exc))
                continue
            if lost:
                with self._lock:
                    self.lost.update(lost)
                log.error("lost the lease of runs %s: another worker took them over", ", ".join(lost))

    def stop(self) -> None:
        self._stop.set()


def _response_data(response: Response) -> dict[str, Any]:
    return {
        "status": response.status,
        "headers": [list(h) for h in response.headers],
        "body": base64.b64encode(response.body).decode("ascii"),
    }


def _response_from(data: Mapping[str, Any]) -> Response:
    return Response(
        int(data["status"]),
        tuple((str(k), str(v)) for k, v in data.get("headers") or ()),
        base64.b64decode(str(data.get("body") or "")),
    )


def _event_data(e: EventRecord) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "kind": e.kind,
        "at": e.at,
        "wall_at": e.wall_at,
        "system": e.system,
        "step": e.step,
        "error_class": e.error_class,
        "fault": e.fault,
        "status": e.status,
        "outcome": e.outcome,
        "detail": dict(e.detail),
    }


class _Progress:
    """Saves one run's progress in its queue row (fenced by the lease)."""

    def __init__(self, orch: DurableOrchestrator, run: RunLog, state: RunState) -> None:
        self.orch = orch
        self.run = run
        self.state = state
        self.hook: DurableHook | None = None
        self.started = 0.0
        self.wall_started = 0.0
        self.inflight: set[str] = set()
        self._lock = threading.Lock()

    def data(self) -> dict[str, Any]:
        hook = self.hook
        journal: dict[str, list[dict[str, Any]]] = {}
        rejected: dict[str, dict[str, Any]] = {}
        ambiguous: list[str] = []
        if hook is not None:
            with hook._lock:
                journal = {k: [_response_data(r) for r in v] for k, v in hook.journal.items()}
                rejected = {k: _response_data(r) for k, r in hook.rejected.items()}
                ambiguous = sorted(hook.ambiguous)
        with self.run._lock:
            events = [_event_data(e) for e in self.run.events]
        return {
            "started": self.started,
            "wall_started": self.wall_started,
            "events": events,
            "state": self.state.snapshot(),
            "journal": journal,
            "rejected": rejected,
            "ambiguous": ambiguous,
            "inflight": sorted(self.inflight),
        }

    def save(self, **kwargs: Any) -> None:
        orch = self.orch
        if self.run.id in orch.leases.lost:
            raise RunParked(self.run.id, "lost")
        with self._lock:
            try:
                orch.queue.save(
                    self.run.id,
                    owner=orch.owner,
                    wall_now=real_time(),
                    progress=self.data(),
                    **kwargs,
                )
            except LeaseLost:
                # another worker runs it now: this thread must stop without an end state
                log.error("run %s of flow %s: lease lost, leaving it to its new worker", self.run.id, orch.flow.name)
                raise RunParked(self.run.id, "lost") from None


class DurableHook(RunHook):
    """A :class:`RunHook` that saves the run's progress around every call."""

    progress: _Progress

    def start_attempt(self, number: int) -> None:
        super().start_attempt(number)
        self.progress.save(state="running", attempts=number)

    def decide(self, request: Request, *, can_search: bool = True) -> Decision:
        plan = yield from super().decide(request, can_search=can_search)
        limiter = self.progress.orch.rate_limiter
        if plan.replay is None and limiter is not None:
            wait = limiter.reserve(plan.system)
            if wait > 0:
                # the system's limit is shared by every worker of this process: wait for
                # this call's slot rather than add to a 429 storm
                self.emit(
                    "waiting",
                    system=plan.system,
                    detail={"system": plan.system, "seconds": round(wait, 3), "reason": "rate limit"},
                )
                yield Wait(wait)
        if plan.replay is None and plan.request.method.upper() not in _READS:
            # written before the write is sent: if the process dies now, the resumed
            # run knows this write's outcome is unknown
            self.progress.inflight.add(plan.key)
            self.progress.save()
        return plan

    def _record(
        self,
        plan: _Plan,
        response: Response | None,
        error: BaseException | None,
        *,
        detail_extra: Mapping[str, Any] | None = None,
    ) -> None:
        super()._record(plan, response, error, detail_extra=detail_extra)
        self.progress.inflight.discard(plan.key)
        if plan.replay is None:
            self.progress.save()


class DurableOrchestrator(Orchestrator):
    """An orchestrator whose runs are stored before they start and resumed after a crash.

    ``ledger`` is required (the queue lives there); ``owner`` names this
    process's leases (default: host, pid and a random suffix); ``lease`` is how
    long a lease lasts without a heartbeat; ``budget`` is how long
    :meth:`handle` may spend on a run (0: return right after the acceptance);
    ``rate_limiter`` paces the calls per system (share one between the
    orchestrators of a process).
    The other arguments are :class:`~harness.orchestrator.Orchestrator`'s.
    """

    def __init__(
        self,
        flow: Flow,
        *,
        ledger: Ledger,
        owner: str | None = None,
        lease: float = DEFAULT_LEASE,
        budget: float = DEFAULT_BUDGET,
        leases: _Leases | None = None,
        rate_limiter: RateLimiter | None = None,
        **kwargs: Any,
    ) -> None:
        self._claims = _AcceptedClaims()
        super().__init__(
            flow,
            ledger=ledger,
            clock=WallClock(),
            mode="production",
            dedupe=self._claims,
            **kwargs,
        )
        self.sink = self._finish_durably
        self.queue = RunQueue(ledger)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.budget = budget
        self.rate_limiter = rate_limiter
        self.leases = leases if leases is not None else _Leases(self.queue, self.owner, lease)
        self._local = threading.local()
        self._progress: dict[str, _Progress] = {}
        self._resumes: dict[str, Mapping[str, Any]] = {}
        self._plock = threading.Lock()
        #: called after a run is parked or accepted without being run (wakes the workers)
        self.on_pending: Callable[[], None] | None = None

    # -- accept ---------------------------------------------------------------

    def accept(self, event: Mapping[str, Any], *, lease: bool = False) -> tuple[str, str | None]:
        """Store the delivery durably; returns ``(run_id, attached_to)``.

        The dedupe key is claimed only for an event that keeps the trigger's
        contract (a broken event goes to the inbox and must not block its
        corrected redelivery).
        """
        flow = self.flow
        dedupe_key: str | None = None
        if not flow.check_event(event):
            try:
                dedupe_key = flow.key_for(event)
            except Exception:
                dedupe_key = None  # the run ends manual when it computes the key again
        run_id = uuid.uuid4().hex
        acceptance = self.queue.accept(
            run_id=run_id,
            flow=flow.name,
            event=event,
            dedupe_key=dedupe_key,
            wall_now=real_time(),
            ttl=self.policy.dedupe.retention,
            lease_owner=self.owner if lease else None,
            lease_for=self.lease,
        )
        if acceptance.took_over is not None:
            log.warning(
                "flow %s: dedupe key %r was held by run %s, which left no record (its process "
                "died before runs were stored ahead); run %s takes it over",
                flow.name,
                dedupe_key,
                acceptance.took_over,
                run_id,
            )
        return run_id, acceptance.holder

    def handle(  # type: ignore[override]
        self,
        event: Mapping[str, Any],
        *,
        delivery: DeliveryInfo | None = None,
        wait: float | None = None,
    ) -> RunResult | RunAccepted:
        """Accept ``event`` durably, then run it for at most ``wait`` seconds (default: ``budget``).

        Returns the :class:`RunResult` when the run ended within the budget,
        else a :class:`RunAccepted` (the run is stored; a worker finishes it).
        ``delivery`` must be ``None``: a campaign's deliveries run in virtual
        time under a plain :class:`~harness.orchestrator.Orchestrator`.
        """
        if delivery is not None:
            raise UsageError(
                "DurableOrchestrator.handle: runs production deliveries only; a campaign's "
                "delivery (DeliveryInfo) runs under harness.Orchestrator in virtual time"
            )
        budget = self.budget if wait is None else max(0.0, float(wait))
        run_id, holder = self.accept(event, lease=budget > 0)
        if budget <= 0:
            self._wake()
            return RunAccepted(run_id=run_id, flow=self.flow.name, state="accepted", attached_to=holder)
        self._claims.set(run_id, holder)
        return self._execute(event, run_id=run_id, deadline=real_time() + budget, holder=holder)

    def _execute(
        self,
        event: Mapping[str, Any],
        *,
        run_id: str,
        deadline: float | None,
        holder: str | None,
        resume: Resume | None = None,
    ) -> RunResult | RunAccepted:
        self._local.deadline = deadline
        self.leases.hold(run_id)
        try:
            return self._handle(event, delivery=None, run_id=run_id, resume=resume)
        except RunParked as parked:
            if parked.state == "waiting":
                self._wake()
            return RunAccepted(
                run_id=run_id,
                flow=self.flow.name,
                state=parked.state,
                next_wall=parked.next_wall,
                attached_to=holder,
            )
        finally:
            self.leases.drop(run_id)
            with self._plock:
                self._progress.pop(run_id, None)
                self._resumes.pop(run_id, None)

    def _wake(self) -> None:
        if self.on_pending is not None:
            self.on_pending()

    def retry_item(self, item: InboxItem) -> RunResult:
        """Re-run an inbox item's event now (``harness inbox retry``), as a plain orchestrator
        does: a person is waiting for the answer, and the item is its record."""
        plain = Orchestrator(
            self.flow, ledger=self.ledger, clock=self.clock, mode="production",
            breakers=self.breakers, hosts=self.hosts,
        )
        return plain.retry_item(item)

    # -- resume ---------------------------------------------------------------

    def resume(self, row: QueuedRun) -> RunResult | RunAccepted:
        """Run a leased queue row: start it, continue it after its backoff, or recover it."""
        progress = row.progress or {}
        stored = progress.get("events") or []
        if not stored:
            # accepted, never started (or its process died before the first save)
            self._claims.set(row.id, row.attached_to)
            return self._execute(row.event, run_id=row.id, deadline=None, holder=row.attached_to)
        events = tuple(
            EventRecord(**{**e, "detail": dict(e.get("detail") or {})}) for e in stored
        )
        next_attempt = row.attempts + 1
        now = real_time()
        detail: dict[str, Any] = {
            "next_attempt": next_attempt,
            "recovered": bool(row.recoveries),
            "unknown_writes": len(progress.get("inflight") or ()),
        }
        if row.recoveries:
            detail["recoveries"] = row.recoveries
        events = (
            *events,
            EventRecord(
                seq=max(e.seq for e in events) + 1,
                kind="resumed",
                at=now,
                wall_at=now,
                detail=detail,
            ),
        )
        end: EndState | None = None
        reason = ""
        if next_attempt > self.policy.retry.max_attempts:
            end = "manual"
            reason = (
                f"retries exhausted after {row.attempts} attempts (the process running the "
                f"last one stopped before it ended: {row.recoveries} recoveries)"
            )
        resume = Resume(
            run_id=row.id,
            started=float(progress.get("started") or row.wall_accepted),
            wall_started=float(progress.get("wall_started") or row.wall_accepted),
            events=events,
            next_attempt=next_attempt,
            state=progress.get("state") or {},
            end=end,
            reason=reason,
        )
        with self._plock:
            self._resumes[row.id] = progress
        return self._execute(row.event, run_id=row.id, deadline=None, holder=row.attached_to, resume=resume)

    # -- what the attempt loop calls ----------------------------------------------

    def _new_hook(self, run: RunLog, state: RunState, **kwargs: Any) -> RunHook:
        hook = DurableHook(**kwargs)
        with self._plock:
            progress = self._progress.get(run.id)
            stored = self._resumes.get(run.id)
        if progress is None:
            progress = self._progress_of(run, state)
        progress.hook = hook
        hook.progress = progress
        if stored:
            for key, responses in (stored.get("journal") or {}).items():
                hook.journal[key] = [_response_from(r) for r in responses]
            for key, response in (stored.get("rejected") or {}).items():
                hook.rejected[key] = _response_from(response)
            # a write sent without an answer before the process died is ambiguous:
            # the idempotency key, the guard and the inbox rules apply to it
            hook.ambiguous.update(stored.get("ambiguous") or ())
            hook.ambiguous.update(stored.get("inflight") or ())
        return hook

    def _progress_of(self, run: RunLog, state: RunState) -> _Progress:
        with self._plock:
            progress = self._progress.get(run.id)
            if progress is None:
                progress = _Progress(self, run, state)
                stored = self._resumes.get(run.id) or {}
                first = run.events[0] if run.events else None
                progress.started = float(stored.get("started") or (first.at if first else real_time()))
                progress.wall_started = float(
                    stored.get("wall_started") or (first.wall_at if first else real_time())
                )
                self._progress[run.id] = progress
            return progress

    def _pause(self, run: RunLog, state: RunState, hook: RunHook, attempt: int, delay: float) -> None:
        progress = self._progress_of(run, state)
        now = real_time()
        next_wall = now + delay
        deadline = getattr(self._local, "deadline", None)
        inline_until = deadline if deadline is not None else now + WORKER_INLINE_WAIT
        if next_wall <= inline_until:
            # waited for here, but stored as waiting: a crash now loses nothing
            progress.save(state="waiting", attempts=attempt, next_wall=next_wall)
            self.clock.sleep(delay)
            return
        progress.save(state="waiting", attempts=attempt, next_wall=next_wall, release=True)
        raise RunParked(run.id, "waiting", next_wall)

    def _finish_durably(self, run: RunRecord, item: InboxItem | None) -> None:
        self.queue.finish(run, owner=self.owner, wall_now=real_time(), inbox=item)

    def _release(self, key: str, run_id: str) -> None:
        try:
            self.ledger.release_dedupe(self.flow.name, key, run_id)
        except Exception as exc:  # never mask the interruption being raised
            log.error("could not release dedupe key %s of run %s: %s", key, run_id, error_message(exc))
