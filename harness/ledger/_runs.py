"""The runs and events tables: write runs whole (with their events), read them back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Unpack

from sqlalchemy import Connection, select

from harness.errors import LedgerError
from harness.ledger import _codec, schema
from harness.ledger._core import _IN_CHUNK, MODES, LedgerCore
from harness.ledger.aggregates import RunFilter, RunFilterKeywords, run_filter
from harness.ledger.records import (
    END_STATES,
    EventRecord,
    InboxItem,
    RunRecord,
)


class RunTable(LedgerCore):
    """The runs and events tables: write runs whole (with their events), read them back (a part of :class:`harness.ledger.Ledger`)."""

    def write_runs(self, runs: Sequence[RunRecord], *, inbox: Sequence[InboxItem] = ()) -> None:
        """Write ``runs`` with their events (and ``inbox`` items) in one transaction.

        All or nothing: if any row is rejected (duplicate run id, unknown
        campaign) nothing of the batch is stored and LedgerError says why.
        A run's ``campaign_id`` must have been started with
        :meth:`start_campaign` (or be ``None``).
        """
        if not runs and not inbox:
            return
        run_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []
        campaign_ids: set[str] = set()
        end_states = frozenset(END_STATES)
        modes = frozenset(MODES)
        event_row = _codec.event_row
        for run in runs:
            if run.end_state not in end_states or run.mode not in modes:
                field, value, allowed = (
                    ("end_state", run.end_state, END_STATES)
                    if run.end_state not in end_states
                    else ("mode", run.mode, MODES)
                )
                raise LedgerError(
                    f"run {run.id!r}: {field} {value!r} is not one of {', '.join(allowed)}"
                )
            if run.campaign_id is not None:
                campaign_ids.add(run.campaign_id)
            run_rows.append(_codec.run_row(run))
            run_id = run.id
            event_rows.extend([event_row(run_id, e) for e in run.events])
        inbox_rows = [_codec.inbox_row(item) for item in inbox]
        what = f"writing {len(run_rows)} runs (first {runs[0].id!r})" if runs else "writing inbox"
        self.write_rows(what, run_rows, event_rows, inbox_rows, campaign_ids)

    def write_rows(
        self,
        what: str,
        run_rows: Sequence[tuple[Any, ...]],
        event_rows: Sequence[tuple[Any, ...]],
        inbox_rows: Sequence[tuple[Any, ...]],
        campaign_ids: set[str],
    ) -> None:
        """Insert prepared rows (``_codec`` column orders) in one transaction.

        The bulk door of the ledger room: :meth:`record_runs` and
        :mod:`harness.ledger.simulate` prepare rows and write them through it.

        References are checked here rather than by SQLite per row: every
        event row must belong to a run of ``run_rows`` (callers build them
        so), campaigns and the runs of inbox items must exist.
        """
        with self._write(what, bulk=True) as conn:
            if campaign_ids:
                missing = self._missing_campaigns(conn, campaign_ids)
                if missing:
                    raise LedgerError(
                        f"ledger {self.url}: runs name campaign(s) {', '.join(map(repr, missing))} "
                        "that were never started: call start_campaign first"
                    )
            if inbox_rows:
                batch = {row[0] for row in run_rows}
                outside = {row[1] for row in inbox_rows} - batch
                if outside:
                    present = set(
                        conn.execute(
                            select(schema.runs.c.id).where(schema.runs.c.id.in_(sorted(outside)))
                        ).scalars()
                    )
                    if outside - present:
                        raise LedgerError(
                            f"ledger {self.url}: inbox items name run(s) "
                            f"{', '.join(map(repr, sorted(outside - present)))} that are not in "
                            "the ledger: write the run first"
                        )
            self._insert_many(conn, "runs", run_rows)
            self._insert_many(conn, "events", event_rows)
            self._insert_many(conn, "inbox_items", inbox_rows)

    def _select_runs(self) -> Any:
        return select(*[schema.runs.c[c] for c in _codec.RUN_COLUMNS])

    def _events_for(self, conn: Connection, run_ids: Sequence[str]) -> dict[str, list[EventRecord]]:
        found: dict[str, list[EventRecord]] = {}
        columns = [schema.events.c[c] for c in _codec.EVENT_COLUMNS]
        for start in range(0, len(run_ids), _IN_CHUNK):
            chunk = list(run_ids[start : start + _IN_CHUNK])
            stmt = (
                select(*columns)
                .where(schema.events.c.run_id.in_(chunk))
                .order_by(schema.events.c.run_id, schema.events.c.seq, schema.events.c.id)
            )
            for row in conn.execute(stmt):
                found.setdefault(row[0], []).append(_codec.event_from_row(row))
        return found

    def run(self, run_id: str) -> RunRecord:
        """One run with its events; LedgerError(usage=True) if there is none."""
        with self._read("reading a run") as conn:
            row = conn.execute(self._select_runs().where(schema.runs.c.id == run_id)).first()
            if row is None:
                raise LedgerError(f"ledger {self.url}: no run with id {run_id!r}", usage=True)
            events = self._events_for(conn, [run_id]).get(run_id, [])
        return _codec.run_from_row(row, tuple(events))

    def _runs_query(self, where: RunFilter, limit: int | None) -> Any:
        r = schema.runs.c
        stmt = self._select_runs().where(*where.conditions()).order_by(r.wall_started, r.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return stmt

    def runs(
        self,
        where: RunFilter | None = None,
        *,
        limit: int | None = None,
        with_events: bool = False,
        **filters: Unpack[RunFilterKeywords],
    ) -> list[RunRecord]:
        """Runs matching ``where`` (a :class:`RunFilter`), oldest first (by ``wall_started``).

        The filter's fields may also be given one by one, as keywords
        (``flow=``, ``mode=``, ``campaign_id=``, ``segment=``, ``since=``,
        ``until=``; see :func:`run_filter`).  ``since``/``until`` bound
        ``wall_started`` (``since <= t < until``), served by an index so a
        small window reads only its rows.  Events are loaded only with
        ``with_events``.  For large windows prefer :meth:`iter_runs`, which
        streams.
        """
        stmt = self._runs_query(run_filter(where, **filters), limit)
        with self._read("reading runs") as conn:
            rows = conn.execute(stmt).all()
            if not with_events:
                return [_codec.run_from_row(row) for row in rows]
            events = self._events_for(conn, [row[0] for row in rows])
        return [_codec.run_from_row(row, tuple(events.get(row[0], ()))) for row in rows]

    def iter_runs(
        self,
        where: RunFilter | None = None,
        *,
        with_events: bool = False,
        chunk: int = 5000,
        **filters: Unpack[RunFilterKeywords],
    ) -> Iterator[RunRecord]:
        """Like :meth:`runs` but streamed ``chunk`` rows at a time (bounded memory).

        The read transaction stays open until the iterator is exhausted or
        closed.
        """
        stmt = self._runs_query(run_filter(where, **filters), None)
        with self._read("reading runs") as conn:
            result = conn.execution_options(yield_per=chunk).execute(stmt)
            for part in result.partitions():
                if with_events:
                    # a second cursor on the same connection: fine on both backends
                    # since the streaming result is buffered per partition
                    events = self._events_for(conn, [row[0] for row in part])
                    for row in part:
                        yield _codec.run_from_row(row, tuple(events.get(row[0], ())))
                else:
                    for row in part:
                        yield _codec.run_from_row(row)

