"""The orchestrator: one accepted delivery in, one run with exactly one end state out.

``Orchestrator.handle(event)`` does, in order: a ``delivery`` event; the
trigger's data contract (a violation goes to the inbox, never retried); the
dedupe claim on the flow's key (a second delivery ends ``suppressed``);
attempts of the unmodified automation with every HTTP call passing the hook
(:mod:`harness.orchestrator._hook`); classification of each failure;
exponential backoff with full jitter for transient ones within the attempt
cap and the run deadline; the inbox for logical errors and exhausted retries;
alerts for critical flows; one ``end`` event.  The finished
:class:`~harness.ledger.records.RunRecord` (and its inbox item) go to the
sink: the ledger at once by default, a batch in campaigns.

End states: ``succeeded``; ``suppressed`` (a duplicate delivery);
``manual`` (in the inbox with context); ``failed`` only when the run was
interrupted (``KeyboardInterrupt``, ``SystemExit``), which is re-raised after
the run is recorded.  Every transition is also one log line on the
``harness.orchestrator`` logger with ``run_id``, ``flow``, ``owner``,
``attempt``, ``error_class`` and ``transition`` as ``extra``.
"""

from __future__ import annotations

import copy
import inspect
import logging
import random
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness._aio import run as run_awaitable
from harness._shared.redact import redact_url
from harness._shared.wire import Clock, Response, VirtualClock, WallClock, real_time
from harness.errors import InvalidTypeError
from harness.flow import Flow, Violation
from harness.ledger.records import EndState, ErrorClass, InboxItem, RunRecord
from harness.orchestrator._alerts import Alert, Alerter
from harness.orchestrator._breaker import BreakerChange, Breakers
from harness.orchestrator._classify import (
    AutomationReportedFailure,
    ContractViolation,
    SwallowedFailure,
    classify,
    error_status,
    is_retryable,
    retry_after,
)
from harness.orchestrator._clients import activate, deactivate, install
from harness.orchestrator._dedupe import DedupeStore, LedgerDedupe
from harness.orchestrator._hook import RunHook, system_for_host
from harness.orchestrator._inbox import (
    journal_from_context,
    partial_effects,
    redact_data,
    redact_request,
    redact_response,
    unknown_effects,
)
from harness.orchestrator._retry import backoff_delay
from harness.orchestrator._run import (
    DeliveryInfo,
    Resume,
    RunLog,
    RunParked,
    RunResult,
    RunState,
    Sink,
    error_message,
    event_id_of,
    first_line,
    shown_value,
)
from harness.orchestrator._tracing import export_run
from harness.systems import SystemDescriptor, known_descriptor, known_descriptors

if TYPE_CHECKING:
    from harness.ledger import Ledger

__all__ = ["DeliveryInfo", "Orchestrator", "RunResult", "Sink", "orchestrator_for"]

log = logging.getLogger("harness.orchestrator")

_CRITICAL = ("high", "critical")
_RESULTS_KEPT = 10_000  # first-run results remembered for return-existing


@dataclass(frozen=True, slots=True)
class _RunContext:
    """What stays fixed through one run: its log, the event as delivered, how it came,
    its times, its event and object keys, its segment, and the inbox item it retries."""

    run: RunLog
    event: Any
    info: DeliveryInfo
    mode: str
    started: float
    wall_started: float
    event_id: str | None
    object_key: str | None
    segment: str
    retry_of: InboxItem | None


def flow_descriptors(flow: Flow) -> list[SystemDescriptor]:
    """The descriptors of the systems ``flow`` calls: its world's (when it declares one), then
    every loaded fake's.  A world factory that fails here is skipped: the known ones remain."""
    out: list[SystemDescriptor] = []
    factory = getattr(flow, "world", None)
    if factory is not None:
        try:
            world = factory(0)
            out.extend(world.descriptor(s.name) for s in world.systems)
        except Exception as exc:
            log.warning("flow %s: its world could not be built to read its systems: %s", flow.name, exc)
    names = {d.name for d in out}
    out.extend(d for d in known_descriptors() if d.name not in names)
    return out


class Orchestrator:
    """Runs one flow's deliveries durably; thread-safe, one instance per flow.

    ``ledger`` is where runs, inbox items and dedupe keys go (default:
    ``Ledger.open()``, opened only if the default sink or dedupe needs it);
    ``clock`` the run's clock (:class:`~harness.WallClock` by default,
    a :class:`~harness.VirtualClock` in campaigns); ``rng`` draws the jitter
    (seed it to reproduce a run); ``dedupe`` a :class:`DedupeStore`
    (default :class:`LedgerDedupe`); ``sink(run, inbox_item)`` receives every
    finished run (default: written to the ledger at once); ``alerts`` an
    :class:`~harness.orchestrator.Alerter` (default: the flow's
    :class:`~harness.policy.AlertPolicy`); ``mode`` is stored on each run
    (default ``orchestrated`` when a :class:`DeliveryInfo` is given, ``production`` else);
    ``breakers`` shares circuit state between orchestrators; ``hosts`` maps
    hosts to system names for base URLs the defaults do not know;
    ``systems`` are the descriptors of the systems the flow calls (default:
    those of the flow's world when it declares one, then every loaded fake's):
    they map hosts to systems and say which systems take idempotency keys
    and which creates have a search-before-create guard.
    """

    def __init__(
        self,
        flow: Flow,
        *,
        ledger: Ledger | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        dedupe: DedupeStore | None = None,
        sink: Sink | None = None,
        alerts: Alerter | None = None,
        mode: str | None = None,
        breakers: Breakers | None = None,
        hosts: Mapping[str, str] | None = None,
        systems: Sequence[SystemDescriptor] | None = None,
    ) -> None:
        if not isinstance(flow, Flow):
            raise InvalidTypeError(f"Orchestrator: 'flow' must be a harness.Flow, got {flow!r}")
        self.flow = flow
        self.policy = flow.policy
        self.clock: Clock = clock if clock is not None else WallClock()
        self.rng = rng if rng is not None else random.Random()
        self._ledger = ledger
        self._ledger_lock = threading.Lock()
        self.dedupe: DedupeStore | None = dedupe
        self.sink: Sink = sink if sink is not None else self._write_to_ledger
        self.alerts = alerts if alerts is not None else Alerter(flow.policy.alerts, clock=self.clock)
        self.mode = mode
        self.breakers = breakers if breakers is not None else Breakers(flow.policy.breaker)
        self.hosts = dict(hosts or {})
        self.systems: tuple[SystemDescriptor, ...] = tuple(
            systems if systems is not None else flow_descriptors(flow)
        )
        self._handler: Callable[..., Any] | None = None
        self._results: OrderedDict[str, Any] = OrderedDict()
        self._results_lock = threading.Lock()
        install()

    # -- collaborators -------------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        """The ledger, opened on first use from ``$HARNESS_LEDGER_URL`` when none was given."""
        with self._ledger_lock:
            if self._ledger is None:
                from harness.ledger import Ledger

                self._ledger = Ledger.open()
            return self._ledger

    def _dedupe_store(self) -> DedupeStore:
        if self.dedupe is None:
            self.dedupe = LedgerDedupe(self.ledger, self.flow.name, self.policy.dedupe)
        return self.dedupe

    def _write_to_ledger(self, run: RunRecord, item: InboxItem | None) -> None:
        # one transaction: the run, its events and its inbox item are stored together or not at all
        self.ledger.write_runs([run], inbox=[item] if item is not None else [])

    def handler(self) -> Callable[..., Any]:
        if self._handler is None:
            self._handler = self.flow.handler()
        return self._handler

    def _system_of(self, host: str) -> str:
        return system_for_host(host, self.hosts, self.systems)

    def _descriptor_of(self, name: str) -> SystemDescriptor:
        for descriptor in self.systems:
            if descriptor.name == name:
                return descriptor
        return known_descriptor(name)

    # -- the run ---------------------------------------------------------------

    def handle(self, event: Mapping[str, Any], *, delivery: DeliveryInfo | None = None) -> RunResult:
        """Handle one delivery of ``event``; always returns a result with one end state.

        Raises only for interruptions (``KeyboardInterrupt``, ``SystemExit``,
        after recording the run as ``failed``) and when the sink (the ledger)
        cannot record the run.
        """
        return self._handle(event, delivery=delivery)

    def retry_item(self, item: InboxItem) -> RunResult:
        """Run the flow again on an inbox item's stored event (``harness inbox retry``).

        The dedupe key stays with the original run, so the claim is skipped;
        the item's partial effects seed the journal, so writes that already
        succeeded are not repeated.
        """
        event = item.context.get("event")
        if not isinstance(event, Mapping):
            from harness.errors import UsageError

            raise UsageError(
                f"inbox item {item.id}: no stored event to retry; resolve it by hand instead"
            )
        return self._handle(
            event,
            delivery=None,
            retry_of=item,
            journal=journal_from_context(item.context),
        )

    def _handle(
        self,
        event: Mapping[str, Any],
        *,
        delivery: DeliveryInfo | None,
        retry_of: InboxItem | None = None,
        journal: Mapping[str, list[Response]] | None = None,
        run_id: str | None = None,
        resume: Resume | None = None,
    ) -> RunResult:
        """One run; ``run_id`` names it (a durable acceptance chose it); ``resume``
        continues a stored run (no contract check or claim again: both were done)."""
        ctx = self._context(event, delivery, retry_of, run_id, resume)
        state = self._open(ctx, resume)
        hook: RunHook | None = None
        dedupe_key: str | None = None
        claimed = False
        try:
            violations = self.flow.check_event(ctx.event) if resume is None else ()
            if violations:
                self._reject(ctx, state, violations)
            else:
                dedupe_key = self._dedupe_key(ctx, state)
            if state.end is None and dedupe_key is not None and retry_of is None:
                claimed = self._claim(ctx, state, dedupe_key)
            if state.end is None:
                first = resume.next_attempt if resume is not None else 1
                hook = self._attempts(
                    ctx.run, ctx.event, dedupe_key, ctx.started, state, journal,
                    first=first, object_key=ctx.object_key,
                )
        except RunParked:
            raise  # stored, not ended: it resumes later
        except BaseException as exc:
            # an interruption: record what happened, then let it propagate
            state.end = "failed"
            state.fail(exc, "unknown", self.clock.now())
            state.reason = f"interrupted: {error_message(exc)}"
            self._finish(ctx, dedupe_key, state, hook)
            if claimed and dedupe_key is not None:
                self._release(dedupe_key, ctx.run.id)
            raise
        return self._finish(ctx, dedupe_key, state, hook)

    def _context(
        self,
        event: Mapping[str, Any],
        delivery: DeliveryInfo | None,
        retry_of: InboxItem | None,
        run_id: str | None,
        resume: Resume | None,
    ) -> _RunContext:
        """The fixed facts of one run: its id, the event as delivered, its times, keys and segment."""
        # the event as delivered, kept apart from the automation: one that changes its
        # event (event.pop("objectId")) must not change what is retried or stored
        event = _delivered(event)
        flow = self.flow
        run_id = resume.run_id if resume is not None else (run_id or uuid.uuid4().hex)
        run = RunLog(self, run_id)
        started = resume.started if resume is not None else self.clock.now()
        wall_started = resume.wall_started if resume is not None else real_time()
        info = delivery or DeliveryInfo()
        mode = self.mode or ("orchestrated" if delivery is not None else "production")
        event_id = event_id_of(flow, event)
        try:
            object_key: str | None = flow.trigger.object_key(event)
        except Exception:
            object_key = None
        segment = info.segment if info.segment is not None else flow.segment_for(event)
        return _RunContext(
            run=run, event=event, info=info, mode=mode, started=started,
            wall_started=wall_started, event_id=event_id, object_key=object_key,
            segment=segment, retry_of=retry_of,
        )

    def _open(self, ctx: _RunContext, resume: Resume | None) -> RunState:
        """A new run's state after its ``delivery`` event; a resumed run's stored events and state."""
        state = RunState()
        if resume is None:
            detail: dict[str, Any] = {
                "event_id": ctx.event_id,
                "delivery_kind": ctx.info.delivery_kind,
                "is_duplicate": ctx.info.is_duplicate,
            }
            if ctx.retry_of is not None:
                detail.update(retry_of=ctx.retry_of.run_id, inbox_item=ctx.retry_of.id)
            ctx.run.emit("delivery", detail=detail)
        else:
            ctx.run.restore(resume.events)
            state.restore(resume.state)
            if resume.end is not None:
                state.end = resume.end
                state.reason = resume.reason
                if resume.error is not None:
                    state.fail(resume.error, "unknown", self.clock.now())
        return state

    def _reject(self, ctx: _RunContext, state: RunState, violations: tuple[Violation, ...]) -> None:
        """Emit each broken trigger-contract rule and end the run ``manual`` (never retried)."""
        for v in violations:
            ctx.run.emit(
                "contract_violation",
                error_class="logical",
                detail={"where": "trigger", "field": v.field, "value": shown_value(v), "rule": v.rule},
            )
        error = ContractViolation(f"trigger {self.flow.trigger.name}", violations)
        state.fail(error, "logical", self.clock.now())
        state.reason = f"the event broke the trigger's data contract: {state.error}"
        state.violations = violations
        state.end = "manual"

    def _dedupe_key(self, ctx: _RunContext, state: RunState) -> str | None:
        """The flow's dedupe key of the event (the trigger's object by default); a key
        function that raises ends the run ``manual`` and gives ``None``."""
        flow = self.flow
        try:
            dedupe_key = flow.key_for(ctx.event)
            if dedupe_key is None and flow.dedupe_key is None and ctx.object_key:
                # no key declared: the trigger's business object is the default
                dedupe_key = f"{flow.trigger.name}:{ctx.object_key}"
        except Exception as exc:
            state.fail(exc, "logical", self.clock.now())
            state.reason = f"the flow's dedupe key raised on this event: {error_message(exc)}"
            state.end = "manual"
            ctx.run.emit(
                "error",
                error_class="logical",
                detail={"type": type(exc).__name__, "message": error_message(exc), "where": "dedupe_key"},
            )
            return None
        return dedupe_key

    def _claim(self, ctx: _RunContext, state: RunState, dedupe_key: str) -> bool:
        """Claim ``dedupe_key`` for the run: ``True`` if claimed; else the run ends
        ``suppressed`` (with the first run's value under return-existing)."""
        policy = self.policy
        holder = self._dedupe_store().claim(dedupe_key, ctx.run.id)
        if holder is None:
            return True
        ctx.run.error_class = "duplicate"
        ctx.run.emit(
            "duplicate_suppressed",
            error_class="duplicate",
            detail={"key": dedupe_key, "first_run": holder, "policy": policy.dedupe.on_duplicate},
        )
        state.end = "suppressed"
        state.error_class = "duplicate"
        if policy.dedupe.on_duplicate == "return-existing":
            with self._results_lock:
                state.value = self._results.get(holder)
        return False

    def _attempts(
        self,
        run: RunLog,
        event: Mapping[str, Any],
        dedupe_key: str | None,
        started: float,
        state: RunState,
        journal: Mapping[str, list[Response]] | None,
        *,
        first: int = 1,
        object_key: str | None = None,
    ) -> RunHook:
        """Attempts from ``first`` until one succeeds or the run must stop; returns the run's hook."""
        policy = self.policy
        clock = self.clock
        run_deadline = started + min(policy.retry.deadline, policy.timeouts.run)
        hook = self._run_hook(run, state, dedupe_key, object_key, run_deadline)
        if journal:
            hook.seed_journal(journal)
        handler = self.handler()
        for number in range(first, policy.retry.max_attempts + 1):
            value, error = self._attempt(run, state, hook, handler, event, number)
            if error is None:
                state.value = value
                state.end = "succeeded"
                return hook
            error_class, message = self._attempt_failed(run, state, hook, error, number)
            if self._gives_up(state, hook, error_class, message, number):
                return hook
            wait_hint = retry_after(error, now=clock.now())
            delay = backoff_delay(policy.retry, number, self.rng, retry_after=wait_hint)
            if clock.now() + delay > run_deadline:
                state.reason = (
                    f"run deadline of {run_deadline - started:g}s reached after {number} "
                    f"attempts: {message}"
                )
                state.end = "manual"
                return hook
            retry_detail: dict[str, Any] = {
                "delay": round(delay, 6),
                "next_attempt": number + 1,
                "reason": message,
            }
            if wait_hint is not None:
                retry_detail["retry_after"] = wait_hint
            state.retries += 1
            run.emit("retry_scheduled", error_class=error_class, detail=retry_detail)
            self._pause(run, state, hook, number, delay)
        raise AssertionError("unreachable: the attempt loop always returns")  # pragma: no cover

    def _run_hook(
        self,
        run: RunLog,
        state: RunState,
        dedupe_key: str | None,
        object_key: str | None,
        run_deadline: float,
    ) -> RunHook:
        """The run's hook, wired to this orchestrator's policy, clock, breakers and systems."""
        return self._new_hook(
            run,
            state,
            run_id=run.id,
            idempotency_base=f"{self.flow.name}\n{dedupe_key or run.id}",
            policy=self.policy,
            write_contracts=self.flow.write_contracts,
            clock=self.clock,
            breakers=self.breakers,
            emit=run.emit,
            on_breaker=lambda change: self._breaker_changed(run, change),
            system_of=self._system_of,
            run_deadline=run_deadline,
            descriptor_of=self._descriptor_of,
            subject_id=object_key,
        )

    def _attempt(
        self,
        run: RunLog,
        state: RunState,
        hook: RunHook,
        handler: Callable[..., Any],
        event: Mapping[str, Any],
        number: int,
    ) -> tuple[Any, Exception | None]:
        """Attempt ``number``: the automation's value and ``None``, or ``None`` and why it failed
        (a raise, a hook error it swallowed, a failed write, or a result the flow rejects)."""
        clock = self.clock
        run.attempt = number
        state.attempts = number
        hook.start_attempt(number)
        attempt_started = clock.now()
        run.emit("attempt", detail={"number": number})
        error: Exception | None = None
        value: Any = None
        token = activate(hook)
        try:
            value = handler(_delivered(event))  # each attempt gets the event as delivered
            if inspect.isawaitable(value):
                # in the run's clock: virtual sleeps and timeouts in a campaign
                value = run_awaitable(value, clock)
            if hook.raised is not None:
                # the automation caught the hook's own error and carried on: the
                # write it wanted never happened, so this attempt did not succeed
                raise hook.raised
            if hook.failed_writes:
                failed = next(iter(hook.failed_writes.values()))
                raise SwallowedFailure(
                    f"{failed.method} {failed.system} {failed.request.path} -> "
                    f"{failed.status if failed.status is not None else failed.error}",
                    failed.error_class or "transient",
                )
            if not self.flow.result(value):
                raise AutomationReportedFailure(value)
        except Exception as exc:
            error = exc
        finally:
            deactivate(token)
        state.attempt_log.append(
            {
                "number": number,
                "started_at": attempt_started,
                "ended_at": clock.now(),
                "calls": sum(1 for c in hook.calls if c.attempt == number and not c.replayed),
                "replayed": sum(1 for c in hook.calls if c.attempt == number and c.replayed),
            }
        )
        return value, error

    def _attempt_failed(
        self, run: RunLog, state: RunState, hook: RunHook, error: Exception, number: int
    ) -> tuple[ErrorClass, str]:
        """Classify a failed attempt, record it in the state and an ``error`` event;
        returns its error class and message."""
        policy = self.policy
        root = hook.raised if hook.raised is not None else error
        error_class = classify(root, policy)
        if error_class == "unknown" and root is not error:
            error_class = classify(error, policy)
        state.fail(error, error_class, self.clock.now())
        run.error_class = error_class
        status = error_status(error)
        detail: dict[str, Any] = {
            "type": type(error).__name__,
            "message": error_message(error),
            "attempt": number,
        }
        if status is not None:
            detail["status"] = status
        if root is not error:
            detail["root"] = error_message(root)
        if isinstance(root, ContractViolation):
            state.violations = root.violations
        state.attempt_log[-1].update(error_class=error_class, error=detail["message"])
        failed_calls = [c for c in hook.calls if c.attempt == number and c.outcome != "ok"]
        system = failed_calls[-1].system if failed_calls else None
        if isinstance(root, ContractViolation) and " " in root.where:
            system = root.where.split(" ", 1)[0]
        if status is None and failed_calls and failed_calls[-1].status is not None:
            detail["last_status"] = failed_calls[-1].status
        run.emit("error", system=system, error_class=error_class, status=status, detail=detail)
        return error_class, detail["message"]

    def _gives_up(
        self, state: RunState, hook: RunHook, error_class: ErrorClass, message: str, number: int
    ) -> bool:
        """End the run ``manual`` and say ``True`` when the failure is not retried: a class
        not retried, a write of unknown outcome that cannot be deduped, or no attempts left."""
        if not is_retryable(error_class, self.policy):
            state.reason = f"{error_class} error, not retried: {message}"
            state.end = "manual"
            return True
        if hook.unsafe:
            # a write that may have happened and cannot be deduped: a retry would
            # send it again blindly, so a person checks instead
            unsafe = next(iter(hook.unsafe.values()))
            state.reason = (
                f"not retried: the outcome of {unsafe.method} {unsafe.system} "
                f"{redact_url(unsafe.request.path)} is unknown (no answer after it was sent) and "
                f"{unsafe.system} has neither idempotency keys nor a search-before-create guard; "
                f"check whether it happened ({message})"
            )
            state.end = "manual"
            return True
        if number >= self.policy.retry.max_attempts:
            state.reason = f"retries exhausted after {number} attempts: {message}"
            state.end = "manual"
            return True
        return False

    # -- what a durable orchestrator overrides ----------------------------------

    def _new_hook(self, run: RunLog, state: RunState, **kwargs: Any) -> RunHook:
        """The hook of one run (a durable orchestrator's also persists its journal)."""
        return RunHook(**kwargs)

    def _pause(self, run: RunLog, state: RunState, hook: RunHook, attempt: int, delay: float) -> None:
        """Wait ``delay`` before the next attempt (a durable orchestrator may park the run)."""
        self.clock.sleep(delay)

    def _breaker_changed(self, run: RunLog, change: BreakerChange) -> None:
        run.emit(
            "breaker",
            system=change.system,
            detail={"system": change.system, "state": change.state, "failures": change.failures},
        )
        if change.state == "open":
            self._alert(
                run,
                "breaker_open",
                f"{self.flow.name}: circuit for {change.system} opened after {change.failures} "
                f"transient failures; runs wait. Runbook: {first_line(self.flow.runbook)}",
                subject=change.system,
                detail={"system": change.system, "failures": change.failures},
            )

    def _alert(
        self,
        run: RunLog,
        kind: str,
        text: str,
        *,
        subject: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        flow = self.flow
        if flow.criticality not in _CRITICAL:
            return
        alert = Alert(
            kind=kind,
            flow=flow.name,
            text=text,
            subject=subject,
            owner=flow.owner,
            criticality=flow.criticality,
            run_id=run.id,
            at=self.clock.now(),
            detail=dict(detail or {}),
        )
        for outcome in self.alerts.send(alert):
            run.emit(
                "alert",
                detail={
                    "sink": outcome.sink,
                    "kind": kind,
                    "throttled": outcome.throttled,
                    **({"error": outcome.error} if outcome.error else {}),
                },
            )

    def _release(self, key: str, run_id: str) -> None:
        try:
            self._dedupe_store().release(key, run_id)
        except Exception as exc:  # never mask the interruption being raised
            log.error("could not release dedupe key %s of run %s: %s", key, run_id, error_message(exc))

    def _finish(
        self, ctx: _RunContext, dedupe_key: str | None, state: RunState, hook: RunHook | None
    ) -> RunResult:
        """End the run: inbox item and alerts, the ``end`` event, the record to the sink
        (a sink failure is logged and re-raised), its spans; returns the result."""
        run = ctx.run
        end_state = state.end or "failed"
        calls = hook.calls if hook is not None else []
        item = self._end_alerts(ctx, dedupe_key, state, end_state, calls)
        ended = self.clock.now()
        run.emit(
            "end",
            error_class=state.error_class,
            outcome=end_state,
            detail={"end_state": end_state, **({"reason": state.reason} if state.reason else {})},
            level=logging.ERROR if end_state == "failed" else logging.INFO,
        )
        record = self._record(ctx, dedupe_key, state, end_state, ended, calls, item)
        if end_state == "succeeded":
            with self._results_lock:
                self._results[run.id] = state.value
                while len(self._results) > _RESULTS_KEPT:
                    self._results.popitem(last=False)
        try:
            self.sink(record, item)
        except Exception as exc:
            # the run happened but is not recorded: say so loudly, keep the dedupe key
            # (its effects are real), and let the caller see the failure
            flow = self.flow
            log.error(
                "run %s of flow %s ended %s but could not be recorded: %s",
                run.id,
                flow.name,
                end_state,
                error_message(exc),
                extra={"run_id": run.id, "flow": flow.name, "owner": flow.owner},
            )
            raise
        export_run(record)  # spans, when an exporter is configured (one check otherwise)
        return RunResult(
            run=record,
            end_state=end_state,
            value=state.value,
            error=None if end_state in ("succeeded", "suppressed") else state.error,
            inbox_item=item,
        )

    def _end_alerts(
        self,
        ctx: _RunContext,
        dedupe_key: str | None,
        state: RunState,
        end_state: EndState,
        calls: list[Any],
    ) -> InboxItem | None:
        """A ``manual`` run's inbox item (with its event and alert); the failure-rate alert
        when this end crosses the threshold.  Returns the item, ``None`` if there is none."""
        flow = self.flow
        run = ctx.run
        item: InboxItem | None = None
        if end_state == "manual":
            item = self._inbox_item(run, ctx.event, dedupe_key, ctx.object_key, ctx.segment, state, calls)
            run.emit(
                "inbox_added",
                error_class=state.error_class,
                detail={"item": item.id, "reason": state.reason},
            )
            self._alert(
                run,
                "inbox",
                f"{flow.name}: run {run.id} needs a person ({state.reason}). "
                f"Inbox item {item.id}, owner {flow.owner or 'unset'}.",
                subject=item.id,
                detail={"item": item.id, "error_class": state.error_class},
            )
        if end_state != "suppressed":
            crossed = self.alerts.record_end(flow.name, end_state in ("manual", "failed"))
            if crossed is not None:
                self._alert(
                    run,
                    "failure_rate",
                    f"{flow.name}: {crossed:.0%} of the last {self.alerts.policy.failure_window} "
                    f"runs needed a person or failed (threshold "
                    f"{self.alerts.policy.failure_rate:.0%})",
                    detail={"rate": crossed},
                )
        return item

    def _run_detail(
        self, ctx: _RunContext, state: RunState, calls: list[Any], item: InboxItem | None
    ) -> dict[str, Any]:
        """The run record's ``detail``: owner, error classes, effect and call counts, reason, links."""
        flow = self.flow
        # counted, not rendered: rendering (redaction, JSON) is paid only for inbox items
        effects = {
            (c.method, c.url, c.request.body) for c in calls if c.is_write and c.outcome == "ok"
        }
        detail: dict[str, Any] = {
            "owner": flow.owner,
            "criticality": flow.criticality,
            "error_classes": sorted(state.classes),
            "partial_effects": len(effects),
            "replayed_calls": sum(1 for c in calls if c.replayed),
            "idempotency_keys": sum(
                1 for c in calls if not c.replayed and c.request.header("Idempotency-Key") is not None
            ),
        }
        if state.reason:
            detail["reason"] = state.reason
        if item is not None:
            detail["inbox_item"] = item.id
        if ctx.info.tag is not None:
            detail["tag"] = ctx.info.tag
        if ctx.retry_of is not None:
            detail["retry_of"] = ctx.retry_of.run_id
            detail["inbox_item_retried"] = ctx.retry_of.id
        return detail

    def _record(
        self,
        ctx: _RunContext,
        dedupe_key: str | None,
        state: RunState,
        end_state: EndState,
        ended: float,
        calls: list[Any],
        item: InboxItem | None,
    ) -> RunRecord:
        """The finished run's record, its events included."""
        info = ctx.info
        # without delivery information (production) the claim is what reveals a duplicate
        production_duplicate = end_state == "suppressed" and info == DeliveryInfo() and ctx.retry_of is None
        detail = self._run_detail(ctx, state, calls, item)
        recovered_at = ended if end_state == "succeeded" and state.first_error_at is not None else None
        return RunRecord(
            id=ctx.run.id,
            flow=self.flow.name,
            mode=ctx.mode,
            end_state=end_state,
            started_at=ctx.started,
            ended_at=ended,
            wall_started=ctx.wall_started,
            wall_ended=real_time(),
            campaign_id=info.campaign_id,
            segment=ctx.segment,
            seed=info.seed,
            example=info.example,
            delivery=info.delivery,
            event_id=ctx.event_id,
            object_key=ctx.object_key,
            dedupe_key=dedupe_key,
            delivery_kind=(
                "duplicate" if production_duplicate else info.delivery_kind
            ),
            is_duplicate=info.is_duplicate or production_duplicate,
            error_class=state.error_class,
            attempts=state.attempts,
            errors=state.errors,
            calls=sum(1 for c in calls if not c.replayed),
            retries=state.retries,
            first_error_at=state.first_error_at,
            recovered_at=recovered_at,
            clock="virtual" if isinstance(self.clock, VirtualClock) else "wall",
            duplicate_effects=None,
            synthetic=False,
            detail=detail,
            events=tuple(ctx.run.events),
        )

    def _inbox_item(
        self,
        run: RunLog,
        event: Mapping[str, Any],
        dedupe_key: str | None,
        object_key: str | None,
        segment: str,
        state: RunState,
        calls: list[Any],
    ) -> InboxItem:
        flow = self.flow
        now = self.clock.now()
        real_calls = [c for c in calls if not c.replayed]
        last = real_calls[-1] if real_calls else None
        context: dict[str, Any] = {
            "event": redact_data(event),
            "dedupe_key": dedupe_key,
            "object_key": object_key,
            "reason": state.reason,
            "error": {
                "class": state.error_class,
                "type": type(state.error).__name__ if state.error is not None else None,
                "message": error_message(state.error) if state.error is not None else None,
            },
            "violations": [
                {"field": v.field, "value": shown_value(v), "rule": v.rule} for v in state.violations
            ],
            "attempts": state.attempt_log,
            "last_request": redact_request(last.request) if last is not None else None,
            "last_response": redact_response(last.response) if last is not None else None,
            "last_call": (
                {
                    "system": last.system,
                    "status": last.status,
                    "outcome": last.outcome,
                    "error": last.error,
                    "fault": last.fault,
                }
                if last is not None
                else None
            ),
            "partial_effects": partial_effects(calls),
            # writes that may have happened (no answer after sending): a person checks these
            "unknown_effects": unknown_effects(calls),
            "runbook": flow.runbook,
            "criticality": flow.criticality,
        }
        return InboxItem(
            id="ibx_" + uuid.uuid4().hex[:20],
            run_id=run.id,
            flow=flow.name,
            reason=state.reason or "needs a person",
            created_at=now,
            wall_created=real_time(),
            due_at=now + self.policy.inbox.due_after,
            owner=flow.owner,
            error_class=state.error_class,
            segment=segment,
            status="open",
            context=context,
        )


# -- production: one cached orchestrator per flow ----------------------------------

_CACHE: dict[int, tuple[weakref.ref[Flow], Orchestrator]] = {}
_CACHE_LOCK = threading.RLock()  # re-entrant: a weakref callback may run under it


def orchestrator_for(flow: Flow) -> Orchestrator:
    """The process's orchestrator for ``flow`` (wall clock, ``Ledger.open()``), created once.

    It is durable (:class:`~harness.orchestrator.DurableOrchestrator`): each
    delivery is stored before it runs, and the process's embedded workers
    finish the runs that wait past ``flow.handle``'s budget or that a dead
    process left behind.
    """
    with _CACHE_LOCK:
        entry = _CACHE.get(id(flow))
        if entry is not None and entry[0]() is flow:
            return entry[1]
        from harness.ledger import Ledger
        from harness.orchestrator._workers import embedded_orchestrator

        orch = embedded_orchestrator(flow, Ledger.open())

        def forget(_: object, key: int = id(flow)) -> None:
            with _CACHE_LOCK:
                _CACHE.pop(key, None)

        _CACHE[id(flow)] = (weakref.ref(flow, forget), orch)
        return orch


def _delivered(event: Mapping[str, Any]) -> Any:
    """A deep copy of ``event``; the event itself when it holds something that cannot be copied."""
    try:
        return copy.deepcopy(event)
    except Exception:  # a lock, a socket, a generator: nothing the harness can copy
        return event
