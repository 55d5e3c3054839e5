"""Records to rows and back: the one place that knows both shapes.

Rows are plain tuples in the column orders below so that batched writes can go
to the driver's ``executemany`` without per-row dictionaries (most of the cost
of a Core ``insert()`` with a list of dicts).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness.ledger.records import (
    CampaignRecord,
    EventRecord,
    FindingRecord,
    FlowChange,
    InboxItem,
    RunRecord,
)

__all__ = [
    "CAMPAIGN_COLUMNS",
    "EVENT_COLUMNS",
    "FINDING_COLUMNS",
    "INBOX_COLUMNS",
    "RUN_COLUMNS",
    "campaign_from_row",
    "campaign_row",
    "dumps",
    "event_from_row",
    "event_row",
    "finding_from_row",
    "finding_row",
    "inbox_from_row",
    "inbox_row",
    "loads",
    "run_from_row",
    "run_row",
    "storable",
    "storable_row",
]

# One encoder, built once: json.dumps(..., sort_keys=True) builds a new encoder
# on every call, which costs more than the encoding of a small detail mapping.
_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def storable(value: str, limit: int | None) -> str:
    """``value`` as a text column of ``limit`` characters (``None``: unbounded) can hold it.

    PostgreSQL refuses NUL in text and a string longer than its column, and no
    UTF-8 database takes a lone surrogate (``"\\ud800"``, valid in JSON): an
    event holding one must still be recorded, never dropped.  A value that fits
    is returned unchanged.  Otherwise NUL becomes ``\\x00`` and a surrogate
    its ``\\udXXX`` escape; a value still too long (a 2,000-character dedupe
    key) keeps its head and ends in ``...sha256:<hex of the whole value>``, so
    equal values still map to equal keys and different ones to different keys.
    """
    clean = "\x00" not in value and (value.isascii() or _encodes(value))
    if clean and (limit is None or len(value) <= limit):
        return value
    if not clean:
        value = value.replace("\x00", "\\x00")
        if not _encodes(value):
            value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    if limit is None or len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    tail = f"...sha256:{digest}"
    return value[: max(0, limit - len(tail))] + tail


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable_row(row: Sequence[Any], limits: Sequence[int | bool | None]) -> tuple[Any, ...]:
    """``row`` with every text cell made :func:`storable` in its column (``False``: not text)."""
    return tuple(
        storable(v, lim) if isinstance(v, str) and not isinstance(lim, bool) else v
        for v, lim in zip(row, limits, strict=False)
    )


def dumps(value: Mapping[str, Any] | Sequence[Any]) -> str:
    """JSON text of a detail mapping (sorted keys; unknown types as ``str``)."""
    if not value:
        return "[]" if isinstance(value, list | tuple) else "{}"
    return _ENCODER.encode(value)


def loads(text: str | None) -> Any:
    """The mapping (or list) stored as JSON text; ``{}`` for NULL or empty."""
    if not text or text == "{}":
        return {}
    return json.loads(text)


RUN_COLUMNS: tuple[str, ...] = (
    "id",
    "campaign_id",
    "flow",
    "mode",
    "segment",
    "seed",
    "example",
    "delivery",
    "event_id",
    "object_key",
    "dedupe_key",
    "delivery_kind",
    "is_duplicate",
    "end_state",
    "error_class",
    "attempts",
    "errors",
    "calls",
    "retries",
    "started_at",
    "ended_at",
    "first_error_at",
    "recovered_at",
    "wall_started",
    "wall_ended",
    "clock",
    "duplicate_effects",
    "synthetic",
    "detail",
)

EVENT_COLUMNS: tuple[str, ...] = (
    "run_id",
    "seq",
    "kind",
    "at",
    "wall_at",
    "system",
    "step",
    "error_class",
    "fault",
    "status",
    "outcome",
    "detail",
)

INBOX_COLUMNS: tuple[str, ...] = (
    "id",
    "run_id",
    "flow",
    "owner",
    "reason",
    "error_class",
    "segment",
    "status",
    "created_at",
    "wall_created",
    "due_at",
    "resolved_at",
    "resolved_by",
    "resolution",
    "note",
    "context",
)

CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "id",
    "flow",
    "mode",
    "seed",
    "examples",
    "command",
    "versions",
    "status",
    "wall_started",
    "wall_ended",
    "synthetic",
    "label",
)

FINDING_COLUMNS: tuple[str, ...] = (
    "id",
    "campaign_id",
    "flow",
    "mode",
    "oracle",
    "message",
    "scenario",
    "reproduce",
    "seed",
    "example",
    "timeline",
    "detail",
    "wall_created",
)


def run_row(r: RunRecord) -> tuple[Any, ...]:
    return (
        r.id,
        r.campaign_id,
        r.flow,
        r.mode,
        r.segment,
        r.seed,
        r.example,
        r.delivery,
        r.event_id,
        r.object_key,
        r.dedupe_key,
        r.delivery_kind,
        bool(r.is_duplicate),
        r.end_state,
        r.error_class,
        r.attempts,
        r.errors,
        r.calls,
        r.retries,
        r.started_at,
        r.ended_at,
        r.first_error_at,
        r.recovered_at,
        r.wall_started,
        r.wall_ended,
        r.clock,
        r.duplicate_effects,
        bool(r.synthetic),
        dumps(r.detail),
    )


def run_from_row(row: Sequence[Any], events: tuple[EventRecord, ...] = ()) -> RunRecord:
    (
        id_,
        campaign_id,
        flow,
        mode,
        segment,
        seed,
        example,
        delivery,
        event_id,
        object_key,
        dedupe_key,
        delivery_kind,
        is_duplicate,
        end_state,
        error_class,
        attempts,
        errors,
        calls,
        retries,
        started_at,
        ended_at,
        first_error_at,
        recovered_at,
        wall_started,
        wall_ended,
        clock,
        duplicate_effects,
        synthetic,
        detail,
    ) = row
    return RunRecord(
        id=id_,
        flow=flow,
        mode=mode,
        end_state=end_state,
        started_at=started_at,
        ended_at=ended_at,
        wall_started=wall_started,
        wall_ended=wall_ended,
        campaign_id=campaign_id,
        segment=segment,
        seed=seed,
        example=example,
        delivery=delivery,
        event_id=event_id,
        object_key=object_key,
        dedupe_key=dedupe_key,
        delivery_kind=delivery_kind,
        is_duplicate=bool(is_duplicate),
        error_class=error_class,
        attempts=attempts,
        errors=errors,
        calls=calls,
        retries=retries,
        first_error_at=first_error_at,
        recovered_at=recovered_at,
        clock=clock,
        duplicate_effects=duplicate_effects,
        synthetic=bool(synthetic),
        detail=loads(detail),
        events=events,
    )


def event_row(run_id: str, e: EventRecord) -> tuple[Any, ...]:
    return (
        run_id,
        e.seq,
        e.kind,
        e.at,
        e.wall_at,
        e.system,
        e.step,
        e.error_class,
        e.fault,
        e.status,
        e.outcome,
        dumps(e.detail),
    )


def event_from_row(row: Sequence[Any]) -> EventRecord:
    """``row`` in :data:`EVENT_COLUMNS` order (the run id is ignored)."""
    _run_id, seq, kind, at, wall_at, system, step, error_class, fault, status, outcome, detail = row
    return EventRecord(
        seq=seq,
        kind=kind,
        at=at,
        wall_at=wall_at,
        system=system,
        step=step,
        error_class=error_class,
        fault=fault,
        status=status,
        outcome=outcome,
        detail=loads(detail),
    )


def inbox_row(i: InboxItem) -> tuple[Any, ...]:
    return (
        i.id,
        i.run_id,
        i.flow,
        i.owner,
        i.reason,
        i.error_class,
        i.segment,
        i.status,
        i.created_at,
        i.wall_created,
        i.due_at,
        i.resolved_at,
        i.resolved_by,
        i.resolution,
        i.note,
        dumps(i.context),
    )


def inbox_from_row(row: Sequence[Any]) -> InboxItem:
    (
        id_,
        run_id,
        flow,
        owner,
        reason,
        error_class,
        segment,
        status,
        created_at,
        wall_created,
        due_at,
        resolved_at,
        resolved_by,
        resolution,
        note,
        context,
    ) = row
    return InboxItem(
        id=id_,
        run_id=run_id,
        flow=flow,
        reason=reason,
        created_at=created_at,
        wall_created=wall_created,
        due_at=due_at,
        owner=owner,
        error_class=error_class,
        segment=segment,
        status=status,
        resolved_at=resolved_at,
        resolved_by=resolved_by,
        resolution=resolution,
        note=note,
        context=loads(context),
    )


def campaign_row(c: CampaignRecord) -> tuple[Any, ...]:
    return (
        c.id,
        c.flow,
        c.mode,
        c.seed,
        c.examples,
        c.command,
        dumps(c.versions),
        c.status,
        c.wall_started,
        c.wall_ended,
        bool(c.synthetic),
        c.label,
    )


def campaign_from_row(row: Sequence[Any]) -> CampaignRecord:
    (
        id_,
        flow,
        mode,
        seed,
        examples,
        command,
        versions,
        status,
        wall_started,
        wall_ended,
        synthetic,
        label,
    ) = row
    return CampaignRecord(
        id=id_,
        flow=flow,
        mode=mode,
        wall_started=wall_started,
        seed=seed,
        examples=examples,
        command=command,
        versions=loads(versions),
        status=status,
        wall_ended=wall_ended,
        synthetic=bool(synthetic),
        label=label,
    )


def finding_row(f: FindingRecord) -> tuple[Any, ...]:
    return (
        f.id,
        f.campaign_id,
        f.flow,
        f.mode,
        f.oracle,
        f.message,
        f.scenario,
        f.reproduce,
        f.seed,
        f.example,
        dumps(list(f.timeline)),
        dumps(f.detail),
        f.wall_created,
    )


def finding_from_row(row: Sequence[Any]) -> FindingRecord:
    (
        id_,
        campaign_id,
        flow,
        mode,
        oracle,
        message,
        scenario,
        reproduce,
        seed,
        example,
        timeline,
        detail,
        wall_created,
    ) = row
    steps = json.loads(timeline) if timeline else []
    return FindingRecord(
        id=id_,
        flow=flow,
        mode=mode,
        oracle=oracle,
        message=message,
        scenario=scenario,
        reproduce=reproduce,
        wall_created=wall_created,
        campaign_id=campaign_id,
        seed=seed,
        example=example,
        timeline=tuple(steps),
        detail=loads(detail),
    )


def change_row(c: FlowChange) -> tuple[Any, ...]:
    return (c.flow, c.wall_at, c.kind, c.description, c.by)
