"""The records the ledger stores, as frozen dataclasses.

Every other room hands the ledger these and gets them back; no room but the
ledger sees a row or a SQL type.  Times come in two clocks: ``*_at`` fields are
in the *run's* clock (virtual seconds in a campaign, epoch seconds in
production), ``wall_*`` fields are always epoch seconds of the real clock.
``detail`` and ``context`` are JSON-serialisable mappings, already redacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

__all__ = [
    "END_STATES",
    "ERROR_CLASSES",
    "EVENT_KINDS",
    "CampaignRecord",
    "EndState",
    "ErrorClass",
    "EventRecord",
    "FindingRecord",
    "FlowChange",
    "InboxItem",
    "LedgerInfo",
    "Mode",
    "RunRecord",
]

EndState = Literal["succeeded", "suppressed", "manual", "failed"]
END_STATES: tuple[str, ...] = ("succeeded", "suppressed", "manual", "failed")

ErrorClass = Literal["transient", "logical", "duplicate", "unknown"]
ERROR_CLASSES: tuple[str, ...] = ("transient", "logical", "duplicate", "unknown")

Mode = Literal["bare", "orchestrated", "production"]

#: the kinds of :class:`EventRecord`, in the order they usually happen
EVENT_KINDS: tuple[str, ...] = (
    "delivery",  # a trigger delivery was accepted (detail: event id, delivery kind)
    "contract_violation",  # detail: field, value, rule
    "duplicate_suppressed",  # dedupe key already claimed (detail: key, first run id)
    "attempt",  # an attempt of the handler started (detail: number)
    "call",  # one HTTP call (system, status, fault, outcome, detail: method, path, latency)
    "error",  # an attempt raised (error_class, detail: type, message)
    "retry_scheduled",  # detail: delay, reason
    "breaker",  # a circuit breaker changed state (detail: system, state)
    "waiting",  # a run waited on an open breaker (detail: system, seconds)
    "inbox_added",  # the run went to the inbox (detail: item id, reason)
    "inbox_action",  # a person acted on the run's inbox item (detail: action, by, note)
    "alert",  # an alert was sent (detail: sink, kind, throttled)
    "timeout_defaulted",  # a call had no timeout and got the default (detail: url)
    "resumed",  # a stored run continued in a worker (detail: next attempt, recovered after a crash)
    "end",  # the run ended (detail: end state)
)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One append-only event of a run."""

    seq: int
    kind: str
    at: float
    wall_at: float
    _: KW_ONLY
    system: str | None = None
    step: str | None = None
    error_class: ErrorClass | None = None
    fault: str | None = None
    status: int | None = None
    outcome: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One accepted delivery handled by a flow, with its events.

    ``delivery_kind`` is ``original``, ``duplicate`` (same event again),
    ``redelivery`` (same object, new event id) or ``reordered``.
    ``is_duplicate`` is true for every delivery that is not the first for its
    object.  ``duplicate_effects`` is the number of side effects that escaped
    for this delivery, measured from the fakes' state (``None`` when no ground
    truth exists, as in production).  ``first_error_at`` and ``recovered_at``
    give the automatic time to recovery; the manual one comes from the inbox.
    """

    id: str
    flow: str
    mode: str
    end_state: EndState
    started_at: float
    ended_at: float
    wall_started: float
    wall_ended: float
    _: KW_ONLY
    campaign_id: str | None = None
    segment: str = "all"
    seed: int | None = None
    example: int | None = None
    delivery: int = 0
    event_id: str | None = None
    object_key: str | None = None
    dedupe_key: str | None = None
    delivery_kind: str = "original"
    is_duplicate: bool = False
    error_class: ErrorClass | None = None
    attempts: int = 1
    errors: int = 0
    calls: int = 0
    retries: int = 0
    first_error_at: float | None = None
    recovered_at: float | None = None
    clock: str = "virtual"
    duplicate_effects: int | None = None
    synthetic: bool = False
    detail: Mapping[str, Any] = field(default_factory=dict)
    events: tuple[EventRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """One campaign (or a production/pilot session, or a synthetic history)."""

    id: str
    flow: str
    mode: str
    wall_started: float
    _: KW_ONLY
    seed: int | None = None
    examples: int | None = None
    command: str = ""
    versions: Mapping[str, str] = field(default_factory=dict)
    status: str = "running"  # running | completed | interrupted | failed
    wall_ended: float | None = None
    synthetic: bool = False
    label: str = ""


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A run a person must finish: the manual fallback queue.

    ``context`` holds the event, every attempt, the last request and response
    (redacted) and the partial effects already made.  ``status`` is ``open``,
    ``resolved``, ``discarded`` or ``retried``.
    """

    id: str
    run_id: str
    flow: str
    reason: str
    created_at: float
    wall_created: float
    due_at: float
    _: KW_ONLY
    owner: str = ""
    error_class: ErrorClass | None = None
    segment: str = "all"
    status: str = "open"
    resolved_at: float | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    note: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FindingRecord:
    """An oracle's violation as stored: enough to show and to reproduce it."""

    id: str
    flow: str
    mode: str
    oracle: str  # the finding's class: duplicate_effect, silent_loss, ...
    message: str
    scenario: str  # the minimal scenario as a readable program
    reproduce: str  # one shell line
    wall_created: float
    _: KW_ONLY
    campaign_id: str | None = None
    seed: int | None = None
    example: int | None = None
    timeline: tuple[Mapping[str, Any], ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FlowChange:
    """A change to a flow's contract or rules, for the 90-day maintenance cost."""

    flow: str
    wall_at: float
    kind: str  # contract | rule | code | config
    description: str
    _: KW_ONLY
    by: str = ""


@dataclass(frozen=True, slots=True)
class LedgerInfo:
    """What ``harness ledger info`` prints."""

    url: str
    schema_version: int
    size_bytes: int | None
    runs: int
    events: int
    campaigns: int
    findings: int
    inbox_open: int
    first_wall: float | None
    last_wall: float | None
    _: KW_ONLY
    flows: tuple[str, ...] = ()
