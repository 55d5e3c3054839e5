"""The records of one run in progress: its events, its outcome, what a caller gets back."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness._shared.redact import redact_text
from harness._shared.wire import real_time
from harness.flow import MISSING, Flow, Violation
from harness.ledger.records import EndState, ErrorClass, EventRecord, InboxItem, RunRecord
from harness.orchestrator._inbox import redact_data, redact_message

if TYPE_CHECKING:
    from harness.orchestrator._runner import Orchestrator

__all__ = [
    "DeliveryInfo",
    "Resume",
    "RunLog",
    "RunParked",
    "RunResult",
    "RunState",
    "Sink",
    "error_message",
]

log = logging.getLogger("harness.orchestrator")

Sink = Callable[[RunRecord, InboxItem | None], None]


@dataclass(kw_only=True, frozen=True, slots=True)
class DeliveryInfo:
    """Where a delivery comes from (campaigns fill it; production leaves it ``None``).

    ``delivery`` is the delivery's index in its scenario; ``delivery_kind`` is
    ``original``, ``duplicate``, ``redelivery`` or ``reordered``; ``segment``
    overrides the flow's segment function; ``tag`` is stored in the run's
    detail (the world's delivery tag, to join runs and writes).
    """

    campaign_id: str | None = None
    seed: int | None = None
    example: int | None = None
    delivery: int = 0
    delivery_kind: str = "original"
    is_duplicate: bool = False
    segment: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of :meth:`Orchestrator.handle`.

    ``value`` is the automation's return value (for a suppressed duplicate with
    ``on_duplicate="return-existing"``: the first run's value when this
    process knows it); ``error`` the last error; ``inbox_item`` the item a
    person must act on when ``end_state == "manual"``.
    """

    run: RunRecord
    end_state: EndState
    value: Any
    error: BaseException | None
    inbox_item: InboxItem | None

    @property
    def ok(self) -> bool:
        """True when nothing is left for a person: succeeded or suppressed."""
        return self.end_state in ("succeeded", "suppressed")


class RunParked(BaseException):
    """The run leaves this thread without an end state: it is stored and resumes later.

    A ``BaseException`` so that neither the automation's ``except Exception``
    nor the attempt loop mistakes it for a failure of the run.  Raised by the
    durable orchestrator when a run waits for its next attempt past the
    caller's budget, or when its lease passed to another worker.
    """

    def __init__(self, run_id: str, state: str, next_wall: float | None = None) -> None:
        super().__init__(f"run {run_id} {state}")
        self.run_id = run_id
        self.state = state
        self.next_wall = next_wall


@dataclass(frozen=True, kw_only=True, slots=True)
class Resume:
    """Where a stored run picks up: its id, its events and outcome so far, its journal.

    ``next_attempt`` is the number of the attempt to make; ``end``/``reason``
    end the run at once instead (a run whose process died too often).
    """

    run_id: str
    started: float
    wall_started: float
    events: tuple[EventRecord, ...] = ()
    next_attempt: int = 1
    state: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    end: EndState | None = None
    reason: str = ""
    error: BaseException | None = None


class RunLog:
    """Events and counters of one run in progress."""

    def __init__(self, orch: Orchestrator, run_id: str) -> None:
        self.orch = orch
        self.id = run_id
        self.events: list[EventRecord] = []
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.attempt = 0
        self.error_class: ErrorClass | None = None
        self.first_error_at: float | None = None

    def restore(self, events: tuple[EventRecord, ...]) -> None:
        """Continue after ``events`` (a stored run resumed): their seq numbers go on."""
        with self._lock:
            self.events = list(events)
            self._seq = itertools.count(max((e.seq for e in events), default=0) + 1)

    def emit(
        self,
        kind: str,
        *,
        system: str | None = None,
        step: str | None = None,
        error_class: ErrorClass | None = None,
        fault: str | None = None,
        status: int | None = None,
        outcome: str | None = None,
        detail: Mapping[str, Any] | None = None,
        level: int = logging.INFO,
    ) -> None:
        at = self.orch.clock.now()
        record = EventRecord(
            seq=0,
            kind=kind,
            at=at,
            wall_at=real_time(),
            system=system,
            step=step,
            error_class=error_class,
            fault=fault,
            status=status,
            outcome=outcome,
            detail=dict(detail or {}),
        )
        with self._lock:
            seq = next(self._seq)
            self.events.append(with_seq(record, seq))
        if kind == "call" and outcome == "ok":
            level = logging.DEBUG
        elif kind in ("error", "contract_violation", "inbox_added", "breaker", "waiting"):
            level = max(level, logging.WARNING)
        if log.isEnabledFor(level) and _anyone_listens(level):
            flow = self.orch.flow
            parts = [f"run={self.id}", f"flow={flow.name}", f"owner={flow.owner or '-'}"]
            parts.append(f"attempt={self.attempt}")
            if error_class or self.error_class:
                parts.append(f"error_class={error_class or self.error_class}")
            if system:
                parts.append(f"system={system}")
            if status is not None:
                parts.append(f"status={status}")
            if outcome:
                parts.append(f"outcome={outcome}")
            if fault:
                parts.append(f"fault={fault}")
            shown = {k: v for k, v in (detail or {}).items() if k not in ("event",)}
            log.log(
                level,
                "%s %s %s",
                kind,
                " ".join(parts),
                redact_text(str(shown))[:500] if shown else "",
                extra={
                    "run_id": self.id,
                    "flow": flow.name,
                    "owner": flow.owner,
                    "attempt": self.attempt,
                    "error_class": error_class or self.error_class,
                    "transition": kind,
                    "system": system,
                },
            )


def _anyone_listens(level: int) -> bool:
    """Whether a record of ``level`` from ``log`` would reach any handler.

    The same walk as ``Logger.callHandlers``: a handler of ``log`` or of an
    ancestor it propagates to, else Python's last-resort handler.  Inside a
    chaos scenario the last resort is a ``NullHandler`` and nobody is
    configured: building the line (and redacting it) was then wasted work.
    """
    logger: logging.Logger | None = log
    while logger is not None:
        for handler in logger.handlers:
            if level >= handler.level:
                return True
        if not logger.propagate:
            break
        logger = logger.parent
    last = logging.lastResort
    if last is None:
        # callHandlers may then print its one-time "no handlers" notice: keep that path
        return True
    return level >= last.level and not isinstance(last, logging.NullHandler)


def with_seq(record: EventRecord, seq: int) -> EventRecord:
    return dataclasses.replace(record, seq=seq)


def error_message(exc: BaseException) -> str:
    return redact_message(f"{type(exc).__name__}: {exc}")[:500]


class RecoveredError(Exception):
    """An error of an earlier attempt of a stored run, as its message was stored."""


class RunState:
    """The outcome of a run as it is decided."""

    def __init__(self) -> None:
        self.end: EndState | None = None
        self.value: Any = None
        self.error: BaseException | None = None
        self.error_class: ErrorClass | None = None
        self.classes: set[str] = set()
        self.errors = 0
        self.attempts = 0
        self.retries = 0
        self.first_error_at: float | None = None
        self.reason = ""
        self.violations: tuple[Violation, ...] = ()
        self.attempt_log: list[dict[str, Any]] = []

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-safe data (stored with a durable run between its attempts)."""
        return {
            "error": error_message(self.error) if self.error is not None else None,
            "error_class": self.error_class,
            "classes": sorted(self.classes),
            "errors": self.errors,
            "attempts": self.attempts,
            "retries": self.retries,
            "first_error_at": self.first_error_at,
            "reason": self.reason,
            "attempt_log": self.attempt_log,
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take up a :meth:`snapshot` (the error comes back as :class:`RecoveredError`)."""
        if not data:
            return
        message = data.get("error")
        self.error = RecoveredError(str(message)) if message else None
        self.error_class = data.get("error_class")
        self.classes = set(data.get("classes") or ())
        self.errors = int(data.get("errors") or 0)
        self.attempts = int(data.get("attempts") or 0)
        self.retries = int(data.get("retries") or 0)
        self.first_error_at = data.get("first_error_at")
        self.reason = str(data.get("reason") or "")
        self.attempt_log = [dict(a) for a in data.get("attempt_log") or ()]

    def fail(self, error: BaseException, error_class: ErrorClass, at: float) -> None:
        self.error = error
        self.error_class = error_class
        self.classes.add(error_class)
        self.errors += 1
        if self.first_error_at is None:
            self.first_error_at = at


async def await_value(awaitable: Any) -> Any:
    return await awaitable


def shown_value(v: Violation) -> Any:
    if v.value is MISSING:
        return "<missing>"
    return redact_data(v.value)


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "(no runbook)"


def event_id_of(flow: Flow, event: Mapping[str, Any]) -> str | None:
    return flow.trigger.event_id(event)
