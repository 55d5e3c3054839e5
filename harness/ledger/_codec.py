"""Records to rows and back: the one place that knows both shapes.

Rows are plain tuples in the column orders below so that batched writes can go
to the driver's ``executemany`` without per-row dictionaries (most of the cost
of a Core ``insert()`` with a list of dicts).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from harness.ledger.records import (
    CampaignRecord,
    EventRecord,
    FindingRecord,
    FlowChange,
    InboxItem,
    RunRecord,
)

__all__ = [
    "CAMPAIGNS",
    "CAMPAIGN_COLUMNS",
    "CHANGES",
    "EVENTS",
    "EVENT_COLUMNS",
    "FINDINGS",
    "FINDING_COLUMNS",
    "INBOX",
    "INBOX_COLUMNS",
    "RUNS",
    "RUN_COLUMNS",
    "RowCodec",
    "campaign_from_row",
    "campaign_row",
    "change_row",
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

R = TypeVar("R")

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


class RowCodec(Generic[R]):
    """Rows of one table to records of one dataclass and back, derived from the dataclass.

    Every column names a field of ``record`` (``prefix`` columns excepted: a
    value the caller passes, such as an event row's run id); every field not
    stored is named in ``omit``.  The cell codec of a field follows its type:
    a ``bool`` is stored as a bool, a ``Mapping`` as JSON text (:func:`dumps`,
    :func:`loads`), a ``tuple`` as a JSON list; everything else as is.

    :meth:`row` and :meth:`from_row` are compiled once from that plan (as
    :mod:`dataclasses` writes ``__init__``): bulk writes convert hundreds of
    thousands of records, where a loop over fields per record would cost
    several times the hand-written tuple.
    """

    def __init__(
        self,
        record: type[R],
        columns: tuple[str, ...],
        *,
        prefix: tuple[str, ...] = (),
        omit: tuple[str, ...] = (),
    ) -> None:
        hints = typing.get_type_hints(record)
        names = [f.name for f in dataclasses.fields(record)]  # type: ignore[arg-type]
        stored = columns[len(prefix):]
        if columns[: len(prefix)] != prefix:
            raise ValueError(f"{record.__name__}: the columns must start with {prefix}")
        unknown = [c for c in stored if c not in names]
        unstored = [n for n in names if n not in stored and n not in omit]
        if unknown or unstored:
            raise ValueError(
                f"{record.__name__}: columns {unknown} are not fields, fields {unstored} are "
                "not columns; add the column to the schema or the field to omit"
            )
        self.record = record
        self.columns = columns
        space: dict[str, Any] = {"Record": record, "dumps": dumps, "loads": loads,
                                 "json_list": _json_list, "json_tuple": _json_tuple}
        encode = [f"{_ENCODE[_kind(hints[c])]}(r.{c})" for c in stored]
        decode = [f"{c}={_DECODE[_kind(hints[c])]}(c_{i})" for i, c in enumerate(stored)]
        head = ", ".join(prefix)
        cells = ", ".join([*prefix, *encode])
        unpack = ", ".join([*(f"_{p}" for p in prefix), *(f"c_{i}" for i in range(len(stored)))])
        source = (
            f"def row({head + ', ' if head else ''}r):\n    return ({cells},)\n"
            f"def from_row(row, **extra):\n    ({unpack},) = row\n"
            f"    return Record({', '.join(decode)}, **extra)\n"
        )
        exec(compile(source, f"<RowCodec {record.__name__}>", "exec"), space)
        self.row: Callable[..., tuple[Any, ...]] = space["row"]
        self.from_row: Callable[..., R] = space["from_row"]


def _kind(hint: Any) -> str:
    origin = typing.get_origin(hint) or hint
    if origin is bool:
        return "bool"
    if origin is tuple:
        return "tuple"
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return "mapping"
    return "plain"


def _json_list(value: Sequence[Any]) -> str:
    return dumps(list(value))


def _json_tuple(text: str | None) -> tuple[Any, ...]:
    return tuple(json.loads(text)) if text else ()


_ENCODE = {"bool": "bool", "mapping": "dumps", "tuple": "json_list", "plain": ""}
_DECODE = {"bool": "bool", "mapping": "loads", "tuple": "json_tuple", "plain": ""}

RUNS: RowCodec[RunRecord] = RowCodec(RunRecord, RUN_COLUMNS, omit=("events",))
EVENTS: RowCodec[EventRecord] = RowCodec(EventRecord, EVENT_COLUMNS, prefix=("run_id",))
INBOX: RowCodec[InboxItem] = RowCodec(InboxItem, INBOX_COLUMNS)
CAMPAIGNS: RowCodec[CampaignRecord] = RowCodec(CampaignRecord, CAMPAIGN_COLUMNS)
FINDINGS: RowCodec[FindingRecord] = RowCodec(FindingRecord, FINDING_COLUMNS)
CHANGES: RowCodec[FlowChange] = RowCodec(FlowChange, ("flow", "wall_at", "kind", "description", "by"))


def run_row(r: RunRecord) -> tuple[Any, ...]:
    """``r`` as a row in :data:`RUN_COLUMNS` order (its events go to the events table)."""
    return RUNS.row(r)


def run_from_row(row: Sequence[Any], events: tuple[EventRecord, ...] = ()) -> RunRecord:
    """The run stored as ``row`` (:data:`RUN_COLUMNS` order), with ``events``."""
    return RUNS.from_row(row, events=events)


def event_row(run_id: str, e: EventRecord) -> tuple[Any, ...]:
    """``e`` of run ``run_id`` as a row in :data:`EVENT_COLUMNS` order."""
    return EVENTS.row(run_id, e)


def event_from_row(row: Sequence[Any]) -> EventRecord:
    """``row`` in :data:`EVENT_COLUMNS` order (the run id is ignored)."""
    return EVENTS.from_row(row)


def inbox_row(i: InboxItem) -> tuple[Any, ...]:
    """``i`` as a row in :data:`INBOX_COLUMNS` order."""
    return INBOX.row(i)


def inbox_from_row(row: Sequence[Any]) -> InboxItem:
    """The inbox item stored as ``row`` (:data:`INBOX_COLUMNS` order)."""
    return INBOX.from_row(row)


def campaign_row(c: CampaignRecord) -> tuple[Any, ...]:
    """``c`` as a row in :data:`CAMPAIGN_COLUMNS` order."""
    return CAMPAIGNS.row(c)


def campaign_from_row(row: Sequence[Any]) -> CampaignRecord:
    """The campaign stored as ``row`` (:data:`CAMPAIGN_COLUMNS` order)."""
    return CAMPAIGNS.from_row(row)


def finding_row(f: FindingRecord) -> tuple[Any, ...]:
    """``f`` as a row in :data:`FINDING_COLUMNS` order."""
    return FINDINGS.row(f)


def finding_from_row(row: Sequence[Any]) -> FindingRecord:
    """The finding stored as ``row`` (:data:`FINDING_COLUMNS` order)."""
    return FINDINGS.from_row(row)


def change_row(c: FlowChange) -> tuple[Any, ...]:
    """``c`` as a row of the flow_changes table."""
    return CHANGES.row(c)
