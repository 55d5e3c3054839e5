"""SQL aggregates over the ledger, for the report room.

The ledger may hold millions of runs; the report needs a few hundred numbers.
Every function here pushes the grouping into the database (one scan per
question, indexed filters on flow and wall time) and returns a small
:class:`Rows` (column names and plain tuples) that the report shapes with
pandas.  Nothing here returns a SQLAlchemy object, so the report never sees
SQL.

All functions take a ``ledger`` (anything with an ``engine`` attribute: a
:class:`~harness.ledger.Ledger`) and a :class:`RunFilter` over ``runs``.
Times in the filter are wall epoch seconds (``runs.wall_started``) because a
review window is a real-world window even when the runs were timed on a
virtual clock.  ``bucket_seconds`` splits a query into buckets counted from
``origin`` (week ``0`` is ``[origin, origin + 604800)``).

The SQL is portable between SQLite and PostgreSQL; the only dialect-specific
pieces are integer bucketing and reading a key out of the JSON ``detail`` text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, TypeVar, Unpack

from sqlalchemy import (
    JSON,
    ColumnElement,
    Engine,
    Float,
    Integer,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.pool import SingletonThreadPool, StaticPool
from sqlalchemy.sql import Select

from harness.errors import UsageError
from harness.ledger import _codec
from harness.ledger.records import CampaignRecord, FindingRecord, FlowChange
from harness.ledger.schema import (
    campaigns,
    events,
    findings,
    flow_changes,
    inbox_items,
    runs,
)

R = TypeVar("R")

__all__ = [
    "DELIVERY_KINDS",
    "Rows",
    "RunFilter",
    "RunFilterKeywords",
    "attention_runs",
    "call_coverage",
    "campaign_records",
    "concurrency",
    "contract_violations",
    "failed_by_class",
    "failed_by_place",
    "fault_counts",
    "finding_rows",
    "flow_change_records",
    "flows",
    "has_flow",
    "inbox_summary",
    "oldest_open_items",
    "recovery_durations",
    "run_filter",
    "run_summary",
    "silent_failures",
    "window_bounds",
]

WEEK = 7 * 24 * 3600.0


class _HasEngine(Protocol):
    @property
    def engine(self) -> Engine: ...


@dataclass(kw_only=True, frozen=True, slots=True)
class RunFilter:
    """Which runs an aggregate covers; every empty field means "all".

    ``since`` is inclusive and ``until`` exclusive, both on ``runs.wall_started``.
    """

    flow: str | None = None
    modes: tuple[str, ...] = ()
    campaign_ids: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None

    def conditions(self, *, indexed: bool = True) -> list[ColumnElement[bool]]:
        """The WHERE conditions over ``runs`` this filter stands for.

        With ``indexed=False`` the flow and time terms are written so that no
        index can serve them (``flow || ''``, ``wall_started + 0``): SQLite then
        reaches ``runs`` through its primary key from a smaller table (error
        events, inbox items) instead of walking every run of the window and
        probing the other table for each.
        """
        flow: Any = runs.c.flow if indexed else runs.c.flow.concat("")
        wall: Any = runs.c.wall_started if indexed else runs.c.wall_started + literal(0.0, Float)
        out: list[ColumnElement[bool]] = []
        if self.flow is not None:
            out.append(flow == self.flow)
        if self.modes:
            out.append(runs.c.mode.in_(self.modes))
        if self.campaign_ids:
            out.append(runs.c.campaign_id.in_(self.campaign_ids))
        if self.segments:
            out.append(runs.c.segment.in_(self.segments))
        if self.since is not None:
            out.append(wall >= self.since)
        if self.until is not None:
            out.append(wall < self.until)
        return out


class RunFilterKeywords(TypedDict, total=False):
    """A :class:`RunFilter` given field by field (``Ledger.runs(flow=..., mode=...)``)."""

    flow: str | None
    mode: str | None
    campaign_id: str | None
    segment: str | None
    since: float | None
    until: float | None


def run_filter(where: RunFilter | None = None, **filters: Unpack[RunFilterKeywords]) -> RunFilter:
    """``where``, or the :class:`RunFilter` the keywords name (one mode, campaign, segment).

    Giving both is a :class:`~harness.errors.UsageError`: one filter, one way.
    """
    given = {k: v for k, v in filters.items() if v is not None}
    unknown = sorted(set(filters) - set(RunFilterKeywords.__annotations__))
    if unknown:
        raise UsageError(
            f"unknown run filter {', '.join(map(repr, unknown))}; expected "
            f"{', '.join(RunFilterKeywords.__annotations__)} (or a RunFilter)"
        )
    if where is not None:
        if given:
            raise UsageError(
                f"runs: give a RunFilter or the keywords {', '.join(sorted(given))}, not both"
            )
        return where

    def one(key: str) -> tuple[str, ...]:
        value = given.get(key)
        return () if value is None else (str(value),)

    return RunFilter(
        flow=given.get("flow"),  # type: ignore[arg-type]
        modes=one("mode"),
        campaign_ids=one("campaign_id"),
        segments=one("segment"),
        since=given.get("since"),  # type: ignore[arg-type]
        until=given.get("until"),  # type: ignore[arg-type]
    )


@dataclass(frozen=True, slots=True)
class Rows:
    """A small query result: column names and rows of plain Python values."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def __len__(self) -> int:
        return len(self.rows)

    def dicts(self) -> list[dict[str, Any]]:
        """The rows as dictionaries keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _fetch(ledger: _HasEngine, query: Select[Any]) -> Rows:
    with ledger.engine.connect() as conn:
        result = conn.execute(query)
        columns = tuple(result.keys())
        rows = tuple(tuple(row) for row in result)
    return Rows(columns, rows)


def _records(ledger: _HasEngine, query: Select[Any], codec: _codec.RowCodec[R]) -> tuple[R, ...]:
    """The rows of ``query`` (selecting ``codec.columns``) as records."""
    with ledger.engine.connect() as conn:
        return tuple(codec.from_row(tuple(row)) for row in conn.execute(query))


def _bucket(
    ledger: _HasEngine, column: Any, bucket_seconds: float | None, origin: float
) -> ColumnElement[Any]:
    """``floor((column - origin) / bucket_seconds)`` as an integer, or the constant 0."""
    if not bucket_seconds:
        return literal(0, Integer)
    width = float(bucket_seconds)
    if ledger.engine.dialect.name == "sqlite":
        # CAST truncates toward zero; shifting the origin back by a million buckets
        # keeps the operand positive so that truncating floors, in one expression
        # (a CASE on the sign would evaluate it twice per row).
        shift = 1_000_000
        shifted = (column - literal(origin - shift * width, Float)) / literal(width, Float)
        return cast(shifted, Integer) - shift
    return cast(func.floor((column - literal(origin, Float)) / literal(width, Float)), Integer)


def _json_key(ledger: _HasEngine, column: Any, key: str) -> ColumnElement[Any]:
    """The text value of ``key`` in a JSON text column."""
    if ledger.engine.dialect.name == "sqlite":
        # type_coerce, not CAST: SQLite would give a column named JSON numeric affinity.
        coerced: ColumnElement[Any] = type_coerce(column, JSON)[key].as_string()
        return coerced
    casted: ColumnElement[Any] = cast(column, JSON)[key].as_string()
    return casted


def _via_pk(ledger: _HasEngine, flt: RunFilter) -> list[ColumnElement[bool]]:
    """The filter's conditions for a query that should reach ``runs`` by primary key.

    Used where a small table (error events, inbox items) is joined to
    ``runs``: SQLite has no statistics (the ledger never runs ANALYZE), so it
    would walk the window's runs through ``ix_runs_flow_wall`` and probe the
    other table once per run: 85 s for the inbox over 100,000 runs, since
    ``inbox_items.run_id`` has no index.  Unindexable terms make it drive from
    the small table instead (0.2 s).  PostgreSQL plans by statistics and gets
    the plain terms.
    """
    return flt.conditions(indexed=ledger.engine.dialect.name != "sqlite")


def _class(column: Any) -> ColumnElement[str]:
    return func.coalesce(column, "unknown")


def concurrency(ledger: _HasEngine) -> int:
    """How many aggregate queries may run at once on ``ledger`` (1 for in-memory SQLite).

    Each query takes its own pooled connection; SQLite and PostgreSQL both
    serve concurrent readers, and the sqlite3 driver releases the GIL while a
    statement runs, so a report uses every core.  An in-memory ledger has a
    single shared connection and must be read serially.
    """
    if isinstance(ledger.engine.pool, StaticPool | SingletonThreadPool):
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def has_flow(ledger: _HasEngine, flow: str) -> bool:
    """Whether any run or campaign names ``flow`` (an index seek, not a scan)."""
    query = select(literal(1)).where(
        or_(
            exists().where(runs.c.flow == flow),
            exists().where(campaigns.c.flow == flow),
        )
    )
    with ledger.engine.connect() as conn:
        return conn.execute(query).first() is not None


def flows(ledger: _HasEngine) -> tuple[str, ...]:
    """Every flow named by a run or a campaign, sorted."""
    query = select(runs.c.flow).distinct().union(select(campaigns.c.flow).distinct())
    with ledger.engine.connect() as conn:
        return tuple(sorted(str(row[0]) for row in conn.execute(query)))


def window_bounds(ledger: _HasEngine, flt: RunFilter) -> tuple[int, float | None, float | None]:
    """``(runs, first wall_started, last wall_started)`` of the filtered runs."""
    query = select(
        func.count(), func.min(runs.c.wall_started), func.max(runs.c.wall_started)
    ).where(*flt.conditions())
    with ledger.engine.connect() as conn:
        count, first, last = conn.execute(query).one()
    return int(count or 0), first, last


#: the delivery kinds counted apart in :func:`run_summary` (any other is ``other``)
DELIVERY_KINDS: tuple[str, ...] = ("original", "duplicate", "redelivery", "reordered")


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def run_summary(
    ledger: _HasEngine, flt: RunFilter, *, bucket_seconds: float | None = None, origin: float = 0.0
) -> Rows:
    """Runs counted per (bucket, mode, segment, end state), in one pass over the window.

    Columns: ``bucket, mode, segment, end_state, runs, duplicates,
    duplicates_prevented, calls, retries, attempts, with_error,
    duplicate_effects, duplicate_effects_on_duplicates, attention, silent, last_virtual_ended_at`` and one ``delivery_<kind>`` column per
    :data:`DELIVERY_KINDS` plus ``delivery_other``.

    ``duplicates`` counts ``is_duplicate`` deliveries, ``duplicates_prevented``
    those whose ``duplicate_effects`` is 0, or NULL with end state
    ``suppressed``; ``with_error`` counts runs with a first error;
    ``attention`` runs that ended failed or manual or let a duplicate effect
    escape; ``silent`` runs that ended failed with neither an ``alert`` nor an
    ``inbox_added`` event.  Everything else is a conditional sum rather than
    a GROUP BY key because SQLite sorts every row for a GROUP BY: four keys
    instead of eight is most of the cost of the query on a million runs.
    """
    bucket = _bucket(ledger, runs.c.wall_started, bucket_seconds, origin).label("bucket")
    dup = runs.c.is_duplicate.is_(True)
    prevented = and_(
        dup,
        or_(
            runs.c.duplicate_effects == 0,
            and_(runs.c.duplicate_effects.is_(None), runs.c.end_state == "suppressed"),
        ),
    )
    told = exists().where(
        events.c.run_id == runs.c.id, events.c.kind.in_(("alert", "inbox_added"))
    )
    keys = (bucket, runs.c.mode, runs.c.segment, runs.c.end_state)
    query = (
        select(
            *keys,
            func.count().label("runs"),
            _count_if(dup).label("duplicates"),
            _count_if(prevented).label("duplicates_prevented"),
            func.coalesce(func.sum(runs.c.calls), 0).label("calls"),
            func.coalesce(func.sum(runs.c.retries), 0).label("retries"),
            func.coalesce(func.sum(runs.c.attempts), 0).label("attempts"),
            _count_if(runs.c.first_error_at.is_not(None)).label("with_error"),
            func.coalesce(func.sum(runs.c.duplicate_effects), 0).label("duplicate_effects"),
            func.coalesce(
                func.sum(case((dup, runs.c.duplicate_effects), else_=0)), 0
            ).label("duplicate_effects_on_duplicates"),
            _count_if(
                or_(runs.c.end_state.in_(("failed", "manual")), runs.c.duplicate_effects > 0)
            ).label("attention"),
            # CASE evaluates lazily: the EXISTS probe runs for failed runs only
            func.coalesce(
                func.sum(
                    case((runs.c.end_state != "failed", 0), (told, 0), else_=1)
                ),
                0,
            ).label("silent"),
            func.max(case((runs.c.clock == "virtual", runs.c.ended_at))).label(
                "last_virtual_ended_at"
            ),
            *(
                _count_if(runs.c.delivery_kind == kind).label(f"delivery_{kind}")
                for kind in DELIVERY_KINDS
            ),
            _count_if(runs.c.delivery_kind.not_in(DELIVERY_KINDS)).label("delivery_other"),
        )
        .where(*flt.conditions())
        .group_by(*keys)
    )
    return _fetch(ledger, query)


def failed_by_class(
    ledger: _HasEngine, flt: RunFilter, *, bucket_seconds: float | None = None, origin: float = 0.0
) -> Rows:
    """Distinct runs with at least one ``error`` event, per (bucket, mode, segment, class).

    Columns: ``bucket, mode, segment, error_class, runs``.  A run with errors
    of two classes counts once in each; sums across classes are meaningless,
    sums across buckets and segments are exact.
    """
    bucket = _bucket(ledger, runs.c.wall_started, bucket_seconds, origin).label("bucket")
    error_class = _class(events.c.error_class).label("error_class")
    keys = (bucket, runs.c.mode, runs.c.segment, error_class)
    query = (
        select(*keys, func.count(distinct(events.c.run_id)).label("runs"))
        .select_from(events.join(runs, runs.c.id == events.c.run_id))
        .where(events.c.kind == "error", *_via_pk(ledger, flt))
        .group_by(*keys)
    )
    return _fetch(ledger, query)


def failed_by_place(ledger: _HasEngine, flt: RunFilter) -> Rows:
    """Distinct runs with an ``error`` event, per (mode, segment, class, system, step).

    Columns: ``mode, segment, error_class, system, step, runs`` (system and
    step may be ``None`` when the error happened outside any call or declared
    step).
    """
    error_class = _class(events.c.error_class).label("error_class")
    keys = (runs.c.mode, runs.c.segment, error_class, events.c.system, events.c.step)
    query = (
        select(*keys, func.count(distinct(events.c.run_id)).label("runs"))
        .select_from(events.join(runs, runs.c.id == events.c.run_id))
        .where(events.c.kind == "error", *_via_pk(ledger, flt))
        .group_by(*keys)
    )
    return _fetch(ledger, query)


def recovery_durations(
    ledger: _HasEngine, flt: RunFilter, *, bucket_seconds: float | None = None, origin: float = 0.0
) -> Rows:
    """One row per recovered run: how long from its first error to recovery.

    Columns: ``bucket, mode, segment, error_class, kind, seconds``.  ``kind`` is
    ``automatic`` (the run succeeded: ``recovered_at - first_error_at``) or
    ``manual`` (its inbox item was resolved: ``resolved_at - first_error_at``).
    Only runs that met an error appear, so the result stays far smaller than
    the table; percentiles are taken by the caller (they are not portable SQL).
    """
    bucket = _bucket(ledger, runs.c.wall_started, bucket_seconds, origin).label("bucket")
    error_class = _class(runs.c.error_class).label("error_class")
    automatic = (
        select(
            bucket,
            runs.c.mode,
            runs.c.segment,
            error_class,
            literal("automatic").label("kind"),
            (runs.c.recovered_at - runs.c.first_error_at).label("seconds"),
        )
        .where(
            # a run's first error is an ``error`` event: starting from those events
            # (indexed by kind) reads the few runs that met one, not the whole window
            runs.c.id.in_(select(events.c.run_id).where(events.c.kind == "error")),
            runs.c.first_error_at.is_not(None),
            runs.c.recovered_at.is_not(None),
            runs.c.end_state == "succeeded",
            *_via_pk(ledger, flt),
        )
    )
    manual = (
        select(
            bucket,
            runs.c.mode,
            runs.c.segment,
            error_class,
            literal("manual").label("kind"),
            (inbox_items.c.resolved_at - runs.c.first_error_at).label("seconds"),
        )
        .select_from(inbox_items.join(runs, runs.c.id == inbox_items.c.run_id))
        .where(
            runs.c.first_error_at.is_not(None),
            inbox_items.c.status == "resolved",
            inbox_items.c.resolved_at.is_not(None),
            *_via_pk(ledger, flt),
        )
    )
    with ledger.engine.connect() as conn:
        rows: list[tuple[Any, ...]] = []
        columns: tuple[str, ...] = ()
        for query in (automatic, manual):
            result = conn.execute(query)
            columns = tuple(result.keys())
            rows.extend(tuple(row) for row in result)
    return Rows(columns, tuple(rows))


def inbox_summary(
    ledger: _HasEngine,
    flt: RunFilter,
    *,
    virtual_now: float | None,
    wall_now: float,
    bucket_seconds: float | None = None,
    origin: float = 0.0,
) -> Rows:
    """Inbox items of the filtered runs per (bucket, mode, segment, status, class, owner).

    Columns: ``bucket, mode, segment, status, error_class, owner, items,
    past_due, resolved, person_seconds``.  An open item is past due when its
    ``due_at`` is before "now" in its run's clock: ``virtual_now`` for runs on
    a virtual clock (the caller passes the window's last ``ended_at``),
    ``wall_now`` otherwise.  ``person_seconds`` sums ``resolved_at -
    created_at`` over resolved items: the time the queue held a person's work.
    The bucket is that of the item's ``wall_created``.
    """
    bucket = _bucket(ledger, inbox_items.c.wall_created, bucket_seconds, origin).label("bucket")
    now = case(
        (runs.c.clock == "virtual", literal(virtual_now if virtual_now is not None else 0.0, Float)),
        else_=literal(wall_now, Float),
    )
    past_due = case(
        (and_(inbox_items.c.status == "open", inbox_items.c.due_at < now), 1), else_=0
    )
    resolved = case((inbox_items.c.resolved_at.is_not(None), 1), else_=0)
    person = case(
        (
            inbox_items.c.resolved_at.is_not(None),
            inbox_items.c.resolved_at - inbox_items.c.created_at,
        ),
        else_=0.0,
    )
    keys = (
        bucket,
        runs.c.mode,
        inbox_items.c.segment,
        inbox_items.c.status,
        _class(inbox_items.c.error_class).label("error_class"),
        inbox_items.c.owner,
    )
    query = (
        select(
            *keys,
            func.count().label("items"),
            func.sum(past_due).label("past_due"),
            func.sum(resolved).label("resolved"),
            func.coalesce(func.sum(person), 0.0).label("person_seconds"),
        )
        .select_from(inbox_items.join(runs, runs.c.id == inbox_items.c.run_id))
        .where(*_via_pk(ledger, flt))
        .group_by(*keys)
    )
    return _fetch(ledger, query)


def oldest_open_items(ledger: _HasEngine, flt: RunFilter, *, limit: int = 20) -> Rows:
    """The ``limit`` oldest open inbox items of the filtered runs.

    Columns: ``id, run_id, mode, owner, reason, error_class, segment,
    created_at, wall_created, due_at, clock, runbook`` (``runbook`` read from
    the item's context when the orchestrator stored one).
    """
    query = (
        select(
            inbox_items.c.id,
            inbox_items.c.run_id,
            runs.c.mode,
            inbox_items.c.owner,
            inbox_items.c.reason,
            _class(inbox_items.c.error_class).label("error_class"),
            inbox_items.c.segment,
            inbox_items.c.created_at,
            inbox_items.c.wall_created,
            inbox_items.c.due_at,
            runs.c.clock,
            inbox_items.c.context,
        )
        .select_from(inbox_items.join(runs, runs.c.id == inbox_items.c.run_id))
        .where(inbox_items.c.status == "open", *_via_pk(ledger, flt))
        .order_by(inbox_items.c.wall_created, inbox_items.c.id)
        .limit(limit)
    )
    result = _fetch(ledger, query)
    rows = []
    for row in result.rows:
        context = _loads(row[-1])
        runbook = context.get("runbook", "") if isinstance(context, dict) else ""
        rows.append((*row[:-1], str(runbook or "")))
    return Rows((*result.columns[:-1], "runbook"), tuple(rows))


def silent_failures(ledger: _HasEngine, flt: RunFilter) -> Rows:
    """Runs that ended ``failed`` with nobody told, per (mode, segment).

    A failure is silent when the run has neither an ``alert`` nor an
    ``inbox_added`` event.  Columns: ``mode, segment, runs``.
    """
    told = exists().where(
        events.c.run_id == runs.c.id, events.c.kind.in_(("alert", "inbox_added"))
    )
    keys = (runs.c.mode, runs.c.segment)
    query = (
        select(*keys, func.count().label("runs"))
        .where(runs.c.end_state == "failed", ~told, *flt.conditions())
        .group_by(*keys)
    )
    return _fetch(ledger, query)


def fault_counts(ledger: _HasEngine, flt: RunFilter) -> Rows:
    """Faults injected at the transport boundary: ``call`` events with a fault.

    Columns: ``mode, fault, calls``.  Delivery faults (duplicates,
    redeliveries, reordering) are in :func:`run_summary`'s ``delivery_kind``.
    """
    keys = (runs.c.mode, events.c.fault)
    query = (
        select(*keys, func.count().label("calls"))
        .select_from(events.join(runs, runs.c.id == events.c.run_id))
        .where(events.c.kind == "call", events.c.fault.is_not(None), *_via_pk(ledger, flt))
        .group_by(*keys)
    )
    return _fetch(ledger, query)


def call_coverage(ledger: _HasEngine, flt: RunFilter) -> Rows:
    """Calls per (system, endpoint, fault): what a campaign reached and what it tried there.

    Columns: ``system, step, fault, calls``; ``fault`` is ``None`` for calls met
    by no fault, and ``unfaked_host`` for calls the harness refused because no
    fake serves the host (``system`` is then the host).
    """
    keys = (events.c.system, events.c.step, events.c.fault)
    query = (
        select(*keys, func.count().label("calls"))
        .select_from(events.join(runs, runs.c.id == events.c.run_id))
        .where(events.c.kind == "call", *_via_pk(ledger, flt))
        .group_by(*keys)
    )
    return _fetch(ledger, query)


def contract_violations(ledger: _HasEngine, flt: RunFilter, *, samples: int = 3) -> Rows:
    """``contract_violation`` events per (mode, field, rule) with sample values.

    Columns: ``mode, field, rule, violations, runs, samples`` where
    ``samples`` is a tuple of up to ``samples`` of the most frequent values
    seen (as text; ``None`` for a missing or null value).
    """
    field = _json_key(ledger, events.c.detail, "field").label("field")
    rule = _json_key(ledger, events.c.detail, "rule").label("rule")
    value = _json_key(ledger, events.c.detail, "value").label("value")
    base = events.join(runs, runs.c.id == events.c.run_id)
    where = (events.c.kind == "contract_violation", *_via_pk(ledger, flt))
    counts = (
        select(
            runs.c.mode,
            field,
            rule,
            func.count().label("violations"),
            func.count(distinct(events.c.run_id)).label("runs"),
        )
        .select_from(base)
        .where(*where)
        .group_by(runs.c.mode, field, rule)
    )
    values = (
        select(runs.c.mode, field, value, func.count().label("n"))
        .select_from(base)
        .where(*where)
        .group_by(runs.c.mode, field, value)
        .order_by(func.count().desc())
        .limit(2000)
    )
    head = _fetch(ledger, counts)
    seen: dict[tuple[Any, Any], list[Any]] = {}
    for mode, name, sample, _n in _fetch(ledger, values).rows:
        bucket = seen.setdefault((mode, name), [])
        if len(bucket) < samples:
            bucket.append(None if sample is None else str(sample))
    rows = tuple(
        (*row, tuple(seen.get((row[0], row[1]), ()))) for row in head.rows
    )
    return Rows((*head.columns, "samples"), rows)


def finding_rows(
    ledger: _HasEngine, flt: RunFilter, *, limit: int = 50
) -> tuple[Rows, tuple[FindingRecord, ...]]:
    """``(counts, latest)``: findings per (mode, oracle), and the latest ``limit`` findings.

    Findings are selected by flow, mode, campaign and ``wall_created`` in the
    window (segments do not apply: a finding belongs to a scenario).
    """
    conds: list[ColumnElement[bool]] = []
    if flt.flow is not None:
        conds.append(findings.c.flow == flt.flow)
    if flt.modes:
        conds.append(findings.c.mode.in_(flt.modes))
    if flt.campaign_ids:
        conds.append(findings.c.campaign_id.in_(flt.campaign_ids))
    if flt.since is not None:
        conds.append(findings.c.wall_created >= flt.since)
    if flt.until is not None:
        conds.append(findings.c.wall_created < flt.until)
    counts = (
        select(findings.c.mode, findings.c.oracle, func.count().label("findings"))
        .where(*conds)
        .group_by(findings.c.mode, findings.c.oracle)
    )
    latest = (
        select(*[findings.c[c] for c in _codec.FINDINGS.columns])
        .where(*conds)
        .order_by(findings.c.wall_created.desc(), findings.c.id)
        .limit(limit)
    )
    return _fetch(ledger, counts), _records(ledger, latest, _codec.FINDINGS)


def campaign_records(
    ledger: _HasEngine, flt: RunFilter, *, limit: int = 50
) -> tuple[CampaignRecord, ...]:
    """The campaigns the filtered runs belong to (or the filter names), newest first."""
    conds: list[ColumnElement[bool]] = []
    if flt.campaign_ids:
        conds.append(campaigns.c.id.in_(flt.campaign_ids))
    else:
        if flt.flow is not None:
            conds.append(campaigns.c.flow == flt.flow)
        if flt.modes:
            conds.append(campaigns.c.mode.in_(flt.modes))
        if flt.since is not None:
            conds.append(
                or_(campaigns.c.wall_ended.is_(None), campaigns.c.wall_ended >= flt.since)
            )
        if flt.until is not None:
            conds.append(campaigns.c.wall_started < flt.until)
    query = (
        select(*[campaigns.c[c] for c in _codec.CAMPAIGNS.columns])
        .where(*conds)
        .order_by(campaigns.c.wall_started.desc(), campaigns.c.id)
        .limit(limit)
    )
    return _records(ledger, query, _codec.CAMPAIGNS)


def flow_change_records(
    ledger: _HasEngine, *, flow: str | None, since: float | None, until: float | None
) -> tuple[FlowChange, ...]:
    """Recorded contract/rule/code/config changes in the window, oldest first."""
    conds: list[ColumnElement[bool]] = []
    if flow is not None:
        conds.append(flow_changes.c.flow == flow)
    if since is not None:
        conds.append(flow_changes.c.wall_at >= since)
    if until is not None:
        conds.append(flow_changes.c.wall_at < until)
    query = (
        select(*[flow_changes.c[c] for c in _codec.CHANGES.columns])
        .where(*conds)
        .order_by(flow_changes.c.wall_at, flow_changes.c.id)
    )
    return _records(ledger, query, _codec.CHANGES)


def attention_runs(
    ledger: _HasEngine,
    flt: RunFilter,
    *,
    limit: int = 100,
    states: Sequence[str] = ("failed", "manual"),
    count: bool = True,
) -> tuple[int | None, Rows]:
    """``(total, latest)``: runs ending in ``states`` or with escaped duplicate effects.

    ``latest`` holds at most ``limit`` of them, newest first, so that a
    report over a million runs lists a page, not the table (``count=False``
    skips the total, a pass over the window, when the caller has it from
    :func:`run_summary`'s ``attention``).  Columns: ``id,
    mode, segment, end_state, error_class, delivery_kind, attempts, errors,
    duplicate_effects, wall_started, campaign_id, seed, example``.
    """
    cond = or_(runs.c.end_state.in_(tuple(states)), runs.c.duplicate_effects > 0)
    total_q = select(func.count()).where(cond, *flt.conditions())
    query = (
        select(
            runs.c.id,
            runs.c.mode,
            runs.c.segment,
            runs.c.end_state,
            runs.c.error_class,
            runs.c.delivery_kind,
            runs.c.attempts,
            runs.c.errors,
            runs.c.duplicate_effects,
            runs.c.wall_started,
            runs.c.campaign_id,
            runs.c.seed,
            runs.c.example,
        )
        .where(cond, *flt.conditions())
        .order_by(runs.c.wall_started.desc(), runs.c.id)
        .limit(limit)
    )
    total = None
    if count:
        with ledger.engine.connect() as conn:
            total = int(conn.execute(total_q).scalar_one() or 0)
    return total, _fetch(ledger, query)


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return {}
