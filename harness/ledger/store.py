"""The ledger store: open by URL, write runs whole, read for the report.

INTERFACE CONTRACT (other rooms code against these signatures; keep them).

Every write is one transaction: a batch of runs is committed with all its
events (and inbox items) or not at all.  On SQLite a writer takes the write
lock at ``BEGIN IMMEDIATE`` and waits for it (busy timeout), so threads and
processes (pytest-xdist workers) can write at once without "database is
locked"; in-process writers also queue on a lock so they do not spin in
SQLite's busy handler.  On PostgreSQL several machines write at once and the
primary keys arbitrate (dedupe claims).
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, String, exists, func, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from harness.errors import LedgerError

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]
from harness.ledger import _codec, _stranded, migrations, schema
from harness.ledger._engine import (
    DEFAULT_URL,
    hide_password,
    is_memory,
    make_engine,
    parse_url,
    resolve_url,
)
from harness.ledger.records import (
    END_STATES,
    CampaignRecord,
    EventRecord,
    FindingRecord,
    FlowChange,
    InboxItem,
    LedgerInfo,
    RunRecord,
)

__all__ = ["DEFAULT_URL", "INBOX_ACTIONS", "MODES", "Ledger", "resolve_url"]

MODES: tuple[str, ...] = ("bare", "orchestrated", "production")

#: inbox action -> the item's status afterwards
INBOX_ACTIONS: dict[str, str] = {"resolve": "resolved", "discard": "discarded", "retry": "retried"}

# Run ids per IN (...) list when loading events: well under SQLite's limit of
# bound parameters (32766) and PostgreSQL's planner comfort zone.
_IN_CHUNK = 500


# Ledgers open in this process, so that a forked child (multiprocessing with
# the fork start method) does not reuse its parent's pooled connections or
# inherit a lock another thread held at the fork.
_OPEN: weakref.WeakSet[Ledger] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for ledger in list(_OPEN):
        ledger._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def write_lock_path(database: str) -> str:
    """The lock file the writers of the SQLite ledger at ``database`` queue on: in the
    temporary directory (never a stray file beside the user's ledger), named by the
    ledger's real path so every process that opens it finds the same one."""
    import hashlib
    import tempfile

    key = hashlib.sha256(os.path.realpath(os.path.expanduser(database)).encode()).hexdigest()[:24]
    return os.path.join(tempfile.gettempdir(), f"harness-ledger-{key}.lock")


class _WriteLock:
    """The write lock of a SQLite ledger: threads queue on an RLock and, for a file, processes
    queue on an ``flock`` of a lock file (:func:`write_lock_path`).

    Without the second, writers of several processes (``harness serve``'s worker
    processes and its acceptances) meet in SQLite's busy handler, which polls
    with sleeps of up to 100 ms: measured with ``benchmarks/serve_ack.py``, that
    made a delivery's acknowledgement wait seconds behind the workers' writes.
    A kernel lock wakes the next writer as soon as the lock is free.
    """

    def __init__(self, path: str | None) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._path = path if fcntl is not None else None
        self._fd: int | None = None

    def _file(self) -> int | None:
        if self._fd is None and self._path is not None:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:
                self._path = None  # no lock file: SQLite's own locking still holds
        return self._fd

    def __enter__(self) -> _WriteLock:
        self._lock.acquire()
        try:
            if self._depth == 0:
                fd = self._file()
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def forget_parent(self) -> None:
        """In a forked child: close the parent's descriptor (never unlock it: the lock is the
        parent's), so the child locks through a file of its own."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _one_line(text: str, limit: int = 400) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class Ledger:
    """One ledger database (SQLite file or PostgreSQL), safe to share between threads.

    Open it with :meth:`open`; close it (or use it as a context manager) to
    release its connections.  ``engine`` is the SQLAlchemy engine: only code
    inside ``harness.ledger`` may use it (the report's SQL aggregates).
    """

    url: str  # with any password hidden
    engine: Engine

    def __init__(self, engine: Engine, url: str, *, memory: bool = False) -> None:
        """Wrap a configured engine; use :meth:`open` instead."""
        self.engine = engine
        self.url = url
        self.backend = engine.dialect.name
        self._memory = memory
        self._wlock: AbstractContextManager[Any]
        self._rlock: AbstractContextManager[Any]
        self._make_locks()
        _OPEN.add(self)
        placeholder = "?" if self.backend == "sqlite" else "%s"
        quote = engine.dialect.identifier_preparer.quote
        self._insert_sql: dict[str, str] = {}
        #: per insert column: its length (String), None (Text) or False (not text)
        self._limits: dict[str, tuple[int | bool | None, ...]] = {}
        self._campaign_probe_sql: dict[int, str] = {}
        for table, columns in (
            (schema.runs, _codec.RUN_COLUMNS),
            (schema.events, _codec.EVENT_COLUMNS),
            (schema.inbox_items, _codec.INBOX_COLUMNS),
            (schema.campaigns, _codec.CAMPAIGN_COLUMNS),
            (schema.findings, _codec.FINDING_COLUMNS),
            (schema.flow_changes, ("flow", "wall_at", "kind", "description", "by")),
            (schema.dedupe_keys, ("flow", "key", "run_id", "claimed_wall", "expires_wall")),
        ):
            self._insert_sql[table.name] = (
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                f"VALUES ({', '.join([placeholder] * len(columns))})"
            )
            self._limits[table.name] = tuple(_text_limit(table.c[c]) for c in columns)

    def _make_locks(self) -> None:
        if self.backend == "sqlite":
            path = None if self._memory else self.engine.url.database
            lock = _WriteLock(write_lock_path(path) if path else None)
            self._wlock = lock
            # an in-memory database is one shared connection: serialise reads too
            self._rlock = lock if self._memory else nullcontext()
        else:
            self._wlock = nullcontext()
            self._rlock = nullcontext()

    def _reset_after_fork(self) -> None:
        # the parent's connections stay the parent's (close=False); the child
        # opens its own on first use, and its own lock file
        if isinstance(self._wlock, _WriteLock):
            self._wlock.forget_parent()
        self._make_locks()
        if not self._memory:
            self.engine.dispose(close=False)

    # ------------------------------------------------------------------ open/close
    @classmethod
    def open(cls, url: str | None = None, *, create: bool = True) -> Ledger:
        """Open (creating or migrating) the ledger at ``url``; LedgerError(usage=True) if bad.

        ``url`` defaults to ``$HARNESS_LEDGER_URL``, then
        :data:`DEFAULT_URL`.  A new database gets the current schema; an older
        ledger is upgraded in place (``create=False``: a missing SQLite file
        is an error instead of a new ledger); a newer one, a database that is not a
        ledger, a wrong URL or an unreachable server raise one
        :class:`~harness.errors.LedgerError` naming the URL (password hidden)
        with ``exit_code`` 2.
        """
        parsed = parse_url(resolve_url(url))
        if not create and parsed.get_backend_name() == "sqlite" and not is_memory(parsed):
            path = Path(parsed.database or "")
            if not path.exists():
                raise LedgerError(
                    f"ledger {hide_password(parsed)}: no ledger file at {str(path)!r} "
                    "(nothing has been recorded there yet); pass --ledger URL or set "
                    "$HARNESS_LEDGER_URL to the ledger you mean",
                    usage=True,
                )
        engine = make_engine(parsed)
        ledger = cls(engine, hide_password(parsed), memory=is_memory(parsed))
        try:
            # Most opens find a current ledger: check under a read snapshot so
            # that many processes opening at once do not queue for the write
            # lock; create or upgrade under the write lock (prepare re-reads).
            with ledger._read("opening", usage=True) as conn:
                found = migrations.read_version(conn)
            if found != schema.SCHEMA_VERSION:
                with ledger._write("opening", usage=True) as conn:
                    migrations.prepare(conn)
        except ValueError as exc:
            engine.dispose()
            raise LedgerError(f"ledger {ledger.url} {exc}", usage=True) from None
        except BaseException:
            engine.dispose()
            raise
        return ledger

    def close(self) -> None:
        """Release every pooled connection (the ledger can be reopened by URL)."""
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self.url!r})"

    # ------------------------------------------------------------------ plumbing
    def _error(self, what: str, exc: BaseException, *, usage: bool) -> LedgerError:
        orig = getattr(exc, "orig", None) or exc
        message = _one_line(str(orig))
        from harness._redact import is_secret_param, redact_text

        url = self.engine.url
        secrets = [str(url.password)] if url.password else []
        secrets += [str(v) for k, v in url.query.items() if is_secret_param(k) and isinstance(v, str)]
        for secret in secrets:
            # drivers do not echo passwords today; make sure no message ever does
            message = message.replace(secret, "***")
        message = redact_text(message)
        hint = ""
        lowered = message.lower()
        if "malformed" in lowered:
            # corrupted pages: not the user's input but a broken ledger, exit 3 (not 2)
            usage = False
            hint = " (the ledger's pages are corrupted: restore it from a backup)"
        if "unable to open database file" in lowered:
            hint = " (check that the directory exists and is writable)"
        elif "file is not a database" in lowered:
            hint = " (the file is not a SQLite database: point --ledger at a ledger file)"
        elif "connection refused" in lowered or "could not connect" in lowered:
            hint = " (is the server running? check --ledger / $HARNESS_LEDGER_URL)"
        elif "does not exist" in lowered and "database" in lowered:
            hint = " (create the database first, e.g. createdb, or fix the URL)"
        return LedgerError(f"ledger {self.url}: {what} failed: {message}{hint}", usage=usage)

    @contextmanager
    def _write(
        self,
        what: str,
        *,
        usage: bool = False,
        reraise: tuple[type[BaseException], ...] = (),
        bulk: bool = False,
    ) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite), committed on exit.

        ``bulk``: the caller guarantees referential integrity itself, SQLite's
        per-row foreign-key checks are off for this transaction.
        """
        with self._wlock:
            try:
                with self.engine.connect() as conn:
                    conn.execution_options(harness_write=True)
                    if bulk and self.backend == "sqlite":
                        # SQLite checks a foreign key per inserted row with an
                        # index probe, which made ingest 5x slower; a bulk
                        # write checks its references itself (see
                        # _write_rows).  The pragma only takes effect outside
                        # a transaction, hence the driver connection.
                        driver = conn.connection.driver_connection
                        assert driver is not None
                        driver.execute("PRAGMA foreign_keys = OFF")
                        try:
                            with conn.begin():
                                yield conn
                        finally:
                            driver.execute("PRAGMA foreign_keys = ON")
                    else:
                        with conn.begin():
                            yield conn
            except reraise:
                raise
            except SQLAlchemyError as exc:
                raise self._error(what, exc, usage=usage) from exc

    @contextmanager
    def _read(self, what: str, *, usage: bool = False) -> Iterator[Connection]:
        """One read transaction (a consistent snapshot on both backends)."""
        with self._rlock:
            try:
                with self.engine.connect() as conn, conn.begin():
                    yield conn
            except SQLAlchemyError as exc:
                raise self._error(what, exc, usage=usage) from exc

    def _insert_many(self, conn: Connection, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        # exec_driver_sql goes straight to the driver's executemany: no
        # per-row dictionaries, no compilation; this is what makes ingest fast.
        if rows:
            # whatever an event held (NUL, a lone surrogate, a 2,000-character key)
            # is encoded to fit its column, never a reason to lose the run
            limits = self._limits[table]
            conn.exec_driver_sql(self._insert_sql[table], [_codec.storable_row(r, limits) for r in rows])

    def _missing_campaigns(self, conn: Connection, ids: set[str]) -> list[str]:
        # plain SQL, like the inserts: a campaign write checks its campaign once per
        # scenario, and building the SQLAlchemy IN construct cost more than the query
        wanted = sorted(ids)
        sql = self._campaign_probe_sql.get(len(wanted))
        if sql is None:
            placeholder = "?" if self.backend == "sqlite" else "%s"
            quote = self.engine.dialect.identifier_preparer.quote
            sql = (
                f"SELECT {quote('id')} FROM {quote(schema.campaigns.name)} "
                f"WHERE {quote('id')} IN ({', '.join([placeholder] * len(wanted))})"
            )
            if len(self._campaign_probe_sql) < 64:
                self._campaign_probe_sql[len(wanted)] = sql
        present = {row[0] for row in conn.exec_driver_sql(sql, tuple(wanted))}
        return sorted(ids - present)

    # ------------------------------------------------------------------ campaigns
    def start_campaign(self, campaign: CampaignRecord) -> None:
        """Record a campaign (status ``running``) before its runs are written.

        Starting a campaign id that already exists for the same flow resumes
        it (status back to ``running``): a rerun after a crash continues.
        """
        with self._write(f"starting campaign {campaign.id!r}") as conn:
            existing = conn.execute(
                select(schema.campaigns.c.flow).where(schema.campaigns.c.id == campaign.id)
            ).first()
            if existing is None:
                self._insert_many(conn, "campaigns", [_codec.campaign_row(campaign)])
            elif existing[0] != campaign.flow:
                raise LedgerError(
                    f"ledger {self.url}: campaign id {campaign.id!r} already belongs to flow "
                    f"{existing[0]!r}, not {campaign.flow!r}; use a new campaign id"
                )
            else:
                conn.execute(
                    schema.campaigns.update()
                    .where(schema.campaigns.c.id == campaign.id)
                    .values(status="running", wall_ended=None)
                )

    def finish_campaign(self, campaign_id: str, *, status: str, wall_ended: float) -> None:
        """Set a campaign's final ``status`` (completed | interrupted | failed)."""
        if status not in ("completed", "interrupted", "failed", "running"):
            raise LedgerError(
                f"campaign status {status!r} is not one of completed, interrupted, failed",
                usage=True,
            )
        with self._write(f"finishing campaign {campaign_id!r}") as conn:
            updated = conn.execute(
                schema.campaigns.update()
                .where(schema.campaigns.c.id == campaign_id)
                .values(status=status, wall_ended=wall_ended)
            ).rowcount
        if not updated:
            raise LedgerError(f"ledger {self.url}: no campaign with id {campaign_id!r}", usage=True)

    def campaign(self, campaign_id: str) -> CampaignRecord:
        """The campaign ``campaign_id``; LedgerError(usage=True) if there is none."""
        with self._read("reading a campaign") as conn:
            row = conn.execute(
                select(*[schema.campaigns.c[c] for c in _codec.CAMPAIGN_COLUMNS]).where(
                    schema.campaigns.c.id == campaign_id
                )
            ).first()
        if row is None:
            raise LedgerError(f"ledger {self.url}: no campaign with id {campaign_id!r}", usage=True)
        return _codec.campaign_from_row(row)

    def campaigns(self, *, flow: str | None = None) -> list[CampaignRecord]:
        """Every campaign (of ``flow``), oldest first."""
        stmt = select(*[schema.campaigns.c[c] for c in _codec.CAMPAIGN_COLUMNS])
        if flow is not None:
            stmt = stmt.where(schema.campaigns.c.flow == flow)
        stmt = stmt.order_by(schema.campaigns.c.wall_started, schema.campaigns.c.id)
        with self._read("reading campaigns") as conn:
            return [_codec.campaign_from_row(row) for row in conn.execute(stmt)]

    # ------------------------------------------------------------------ runs
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
        self._write_rows(what, run_rows, event_rows, inbox_rows, campaign_ids)

    def _write_rows(
        self,
        what: str,
        run_rows: Sequence[tuple[Any, ...]],
        event_rows: Sequence[tuple[Any, ...]],
        inbox_rows: Sequence[tuple[Any, ...]],
        campaign_ids: set[str],
    ) -> None:
        """Insert prepared rows (``_codec`` column orders) in one transaction.

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

    def _runs_query(
        self,
        *,
        flow: str | None,
        mode: str | None,
        campaign_id: str | None,
        segment: str | None,
        since: float | None,
        until: float | None,
        limit: int | None,
    ) -> Any:
        r = schema.runs.c
        stmt = self._select_runs()
        if flow is not None:
            stmt = stmt.where(r.flow == flow)
        if mode is not None:
            stmt = stmt.where(r.mode == mode)
        if campaign_id is not None:
            stmt = stmt.where(r.campaign_id == campaign_id)
        if segment is not None:
            stmt = stmt.where(r.segment == segment)
        if since is not None:
            stmt = stmt.where(r.wall_started >= since)
        if until is not None:
            stmt = stmt.where(r.wall_started < until)
        stmt = stmt.order_by(r.wall_started, r.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return stmt

    def runs(
        self,
        *,
        flow: str | None = None,
        mode: str | None = None,
        campaign_id: str | None = None,
        segment: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
        with_events: bool = False,
    ) -> list[RunRecord]:
        """Runs matching every given filter, oldest first (by ``wall_started``).

        ``since``/``until`` bound ``wall_started`` (``since <= t < until``),
        served by an index so a small window reads only its rows.  Events are
        loaded only with ``with_events``.  For large windows prefer
        :meth:`iter_runs`, which streams.
        """
        stmt = self._runs_query(
            flow=flow,
            mode=mode,
            campaign_id=campaign_id,
            segment=segment,
            since=since,
            until=until,
            limit=limit,
        )
        with self._read("reading runs") as conn:
            rows = conn.execute(stmt).all()
            if not with_events:
                return [_codec.run_from_row(row) for row in rows]
            events = self._events_for(conn, [row[0] for row in rows])
        return [_codec.run_from_row(row, tuple(events.get(row[0], ()))) for row in rows]

    def iter_runs(
        self,
        *,
        flow: str | None = None,
        mode: str | None = None,
        campaign_id: str | None = None,
        segment: str | None = None,
        since: float | None = None,
        until: float | None = None,
        with_events: bool = False,
        chunk: int = 5000,
    ) -> Iterator[RunRecord]:
        """Like :meth:`runs` but streamed ``chunk`` rows at a time (bounded memory).

        The read transaction stays open until the iterator is exhausted or
        closed.
        """
        stmt = self._runs_query(
            flow=flow,
            mode=mode,
            campaign_id=campaign_id,
            segment=segment,
            since=since,
            until=until,
            limit=None,
        )
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

    # ------------------------------------------------------------------ dedupe
    def claim_dedupe(
        self, flow: str, key: str, run_id: str, *, wall_now: float, ttl: float | None
    ) -> str | None:
        """Claim ``key`` for ``run_id``; return ``None`` if claimed, else the run id holding it.

        The primary key ``(flow, key)`` arbitrates between threads, processes
        and machines: the first INSERT wins.  A claim whose ``expires_wall`` is
        before ``wall_now`` is taken over by one conditional UPDATE, so two
        contenders cannot both take it.  ``ttl=None`` claims forever.  A run
        claiming a key it already holds gets ``None``.
        """
        expires = None if ttl is None else wall_now + ttl
        k = schema.dedupe_keys.c
        key = _codec.storable(key, _DEDUPE_KEY_LENGTH)
        # The loop only repeats when the holder released the key between our
        # failed INSERT and our read; a handful of rounds is plenty.
        for _ in range(20):
            try:
                with self._write("claiming a dedupe key", reraise=(IntegrityError,)) as conn:
                    # the prepared INSERT (no statement built and compiled per claim, which
                    # cost a fifth of the claim); the primary key still arbitrates
                    conn.exec_driver_sql(
                        self._insert_sql["dedupe_keys"], (flow, key, run_id, wall_now, expires)
                    )
                return None
            except IntegrityError:
                pass
            with self._write("claiming a dedupe key") as conn:
                taken = conn.execute(
                    schema.dedupe_keys.update()
                    .where(
                        k.flow == flow,
                        k.key == key,
                        k.expires_wall.is_not(None),
                        k.expires_wall < wall_now,
                    )
                    .values(run_id=run_id, claimed_wall=wall_now, expires_wall=expires)
                ).rowcount
                if taken:
                    return None
                holder = conn.execute(
                    select(k.run_id).where(k.flow == flow, k.key == key)
                ).scalar()
            if holder is not None:
                return None if holder == run_id else str(holder)
        raise LedgerError(f"ledger {self.url}: dedupe key {key!r} of flow {flow!r} kept changing hands")

    def release_dedupe(self, flow: str, key: str, run_id: str) -> None:
        """Release ``key`` if ``run_id`` holds it (so a failed run can be retried)."""
        k = schema.dedupe_keys.c
        key = _codec.storable(key, _DEDUPE_KEY_LENGTH)
        with self._write("releasing a dedupe key") as conn:
            conn.execute(
                schema.dedupe_keys.delete().where(
                    k.flow == flow, k.key == key, k.run_id == run_id
                )
            )

    # ------------------------------------------------------------------ inbox
    def add_inbox_item(self, item: InboxItem) -> None:
        """Add an item for a run already written (or use ``write_runs(inbox=...)``)."""
        with self._write(f"adding inbox item {item.id!r}") as conn:
            exists = conn.execute(
                select(schema.runs.c.id).where(schema.runs.c.id == item.run_id)
            ).first()
            if exists is None:
                raise LedgerError(
                    f"ledger {self.url}: inbox item {item.id!r} names run {item.run_id!r}, "
                    "which is not in the ledger: write the run first"
                )
            self._insert_many(conn, "inbox_items", [_codec.inbox_row(item)])

    def _select_inbox(self) -> Any:
        return select(*[schema.inbox_items.c[c] for c in _codec.INBOX_COLUMNS])

    def inbox(
        self, *, flow: str | None = None, status: str | None = "open", campaigns: bool = False
    ) -> list[InboxItem]:
        """Inbox items (of ``flow``, with ``status``; ``None`` for all), oldest first.

        Items of campaign runs (``harness check``, the pytest plugin) are tests,
        not work for a person: they are left out unless ``campaigns`` is true.
        """
        i = schema.inbox_items.c
        stmt = self._select_inbox()
        if flow is not None:
            stmt = stmt.where(i.flow == flow)
        if status is not None:
            stmt = stmt.where(i.status == status)
        if not campaigns:
            stmt = stmt.where(~self._campaign_run(i.run_id))
        stmt = stmt.order_by(i.wall_created, i.id)
        with self._read("reading the inbox") as conn:
            return [_codec.inbox_from_row(row) for row in conn.execute(stmt)]

    @staticmethod
    def _campaign_run(run_id: Any) -> Any:
        # a synthetic history (`harness simulate`) stands in for production: its items stay
        r, c = schema.runs.c, schema.campaigns.c
        return exists().where(r.id == run_id, c.id == r.campaign_id, c.synthetic.is_(False))

    def inbox_campaigns(self, run_ids: Sequence[str]) -> dict[str, str]:
        """Run id -> campaign id, for those of ``run_ids`` made by a (not synthetic) campaign."""
        if not run_ids:
            return {}
        r = schema.runs.c
        out: dict[str, str] = {}
        with self._read("reading the inbox's campaigns") as conn:
            for start in range(0, len(run_ids), 500):
                chunk = list(run_ids[start : start + 500])
                c = schema.campaigns.c
                stmt = select(r.id, r.campaign_id).where(
                    r.id.in_(chunk), c.id == r.campaign_id, c.synthetic.is_(False)
                )
                out.update({str(a): str(b) for a, b in conn.execute(stmt)})
        return out

    def hidden_campaign_items(self, *, flow: str | None = None, status: str | None = "open") -> int:
        """How many inbox items :meth:`inbox` leaves out by default (campaign runs' items)."""
        i = schema.inbox_items.c
        stmt = select(func.count()).select_from(schema.inbox_items).where(self._campaign_run(i.run_id))
        if flow is not None:
            stmt = stmt.where(i.flow == flow)
        if status is not None:
            stmt = stmt.where(i.status == status)
        with self._read("counting the inbox's campaign items") as conn:
            return int(conn.execute(stmt).scalar_one())

    def inbox_item(self, item_id: str) -> InboxItem:
        """One inbox item; LedgerError(usage=True) if there is none."""
        with self._read("reading an inbox item") as conn:
            row = conn.execute(
                self._select_inbox().where(schema.inbox_items.c.id == item_id)
            ).first()
        if row is None:
            raise LedgerError(f"ledger {self.url}: no inbox item with id {item_id!r}", usage=True)
        return _codec.inbox_from_row(row)

    def inbox_item_actionable(self, item: InboxItem) -> bool:
        """Whether ``item`` can be retried, resolved or discarded: open, or its retry died."""
        if item.status == "open":
            return True
        with self._read("reading an inbox item") as conn:
            return _stranded.stranded(conn, item, wall_now=time.time())

    def act_on_inbox_item(
        self, item_id: str, *, action: str, by: str, note: str, at: float, wall_at: float
    ) -> InboxItem:
        """action: resolve | discard | retry; appends an ``inbox_action`` event to the run.

        Only an ``open`` item can be acted on (LedgerError(usage=True)
        otherwise, naming who closed it); the item's status becomes
        ``resolved``/``discarded``/``retried``, ``resolution`` the action,
        ``resolved_at``/``resolved_by`` the time and person.  Returns the item
        as stored.
        """
        if action not in INBOX_ACTIONS:
            raise LedgerError(
                f"inbox action {action!r} is not one of {', '.join(INBOX_ACTIONS)}", usage=True
            )
        if not by.strip():
            raise LedgerError(
                f"inbox item {item_id!r}: say who acts (by=''): every resolution names a person",
                usage=True,
            )
        i = schema.inbox_items.c
        with self._write(f"acting on inbox item {item_id!r}") as conn:
            row = conn.execute(self._select_inbox().where(i.id == item_id)).first()
            if row is None:
                raise LedgerError(
                    f"ledger {self.url}: no inbox item with id {item_id!r}", usage=True
                )
            item = _codec.inbox_from_row(row)
            # a retry killed before it wrote its run leaves the item actionable
            was = "retried" if _stranded.stranded(conn, item, wall_now=wall_at) else "open"
            if item.status != was:
                raise LedgerError(
                    f"inbox item {item_id!r} is already {item.status} "
                    f"(by {item.resolved_by or 'unknown'}); only open items can be acted on",
                    usage=True,
                )
            updated = conn.execute(
                schema.inbox_items.update()
                .where(i.id == item_id, i.status == was)
                .values(
                    status=INBOX_ACTIONS[action],
                    resolved_at=at,
                    resolved_by=by,
                    resolution=action,
                    note=note,
                )
            ).rowcount
            if updated != 1:
                # PostgreSQL, READ COMMITTED: another person acted between our
                # read and our update; the guard on status kept theirs
                raise LedgerError(
                    f"inbox item {item_id!r} was acted on by someone else just now; "
                    "look at it again (harness inbox show)",
                    usage=True,
                )
            last_seq = conn.execute(
                select(func.max(schema.events.c.seq)).where(schema.events.c.run_id == item.run_id)
            ).scalar()
            event = EventRecord(
                seq=(last_seq or 0) + 1,
                kind="inbox_action",
                at=at,
                wall_at=wall_at,
                error_class=item.error_class,
                outcome=INBOX_ACTIONS[action],
                detail={
                    "action": action, "by": by, "note": note, "item_id": item_id,
                    **(_stranded.claim_detail(wall_at) if action == "retry" else {}),
                    **({"after_interrupted_retry": True} if was == "retried" else {}),
                },
            )
            self._insert_many(conn, "events", [_codec.event_row(item.run_id, event)])
            row = conn.execute(self._select_inbox().where(i.id == item_id)).first()
        assert row is not None  # just updated in this transaction
        return _codec.inbox_from_row(row)

    # ------------------------------------------------------------------ findings, changes
    def write_findings(self, findings: Sequence[FindingRecord]) -> None:
        """Write findings in one transaction."""
        if not findings:
            return
        rows = [_codec.finding_row(f) for f in findings]
        with self._write(f"writing {len(rows)} findings") as conn:
            ids = {f.campaign_id for f in findings if f.campaign_id is not None}
            if ids:
                missing = self._missing_campaigns(conn, ids)
                if missing:
                    raise LedgerError(
                        f"ledger {self.url}: findings name campaign(s) "
                        f"{', '.join(map(repr, missing))} that were never started"
                    )
            self._insert_many(conn, "findings", rows)

    def findings(
        self, *, flow: str | None = None, campaign_id: str | None = None
    ) -> list[FindingRecord]:
        """Findings (of ``flow``, of ``campaign_id``), oldest first."""
        f = schema.findings.c
        stmt = select(*[f[c] for c in _codec.FINDING_COLUMNS])
        if flow is not None:
            stmt = stmt.where(f.flow == flow)
        if campaign_id is not None:
            stmt = stmt.where(f.campaign_id == campaign_id)
        stmt = stmt.order_by(f.wall_created, f.id)
        with self._read("reading findings") as conn:
            return [_codec.finding_from_row(row) for row in conn.execute(stmt)]

    def record_change(self, change: FlowChange) -> None:
        """Record a change to a flow (contract, rule, code, config)."""
        self.record_changes([change])

    def record_changes(self, changes: Sequence[FlowChange]) -> None:
        """Record several flow changes in one transaction."""
        if changes:
            with self._write("recording flow changes") as conn:
                self._insert_many(conn, "flow_changes", [_codec.change_row(c) for c in changes])

    def changes(
        self, *, flow: str | None = None, since: float | None = None, until: float | None = None
    ) -> list[FlowChange]:
        """Flow changes (of ``flow``, with ``since <= wall_at < until``), oldest first."""
        c = schema.flow_changes.c
        stmt = select(c.flow, c.wall_at, c.kind, c.description, c.by)
        if flow is not None:
            stmt = stmt.where(c.flow == flow)
        if since is not None:
            stmt = stmt.where(c.wall_at >= since)
        if until is not None:
            stmt = stmt.where(c.wall_at < until)
        stmt = stmt.order_by(c.wall_at, c.id)
        with self._read("reading flow changes") as conn:
            return [
                FlowChange(flow=r[0], wall_at=r[1], kind=r[2], description=r[3], by=r[4])
                for r in conn.execute(stmt)
            ]

    # ------------------------------------------------------------------ maintenance
    def _size_bytes(self, conn: Connection) -> int | None:
        if self.backend == "postgresql":
            value = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            return int(value) if value is not None else None
        if self._memory:
            return None
        database = self.engine.url.database or ""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            path = Path(database + suffix)
            if path.exists():
                total += path.stat().st_size
        return total

    def info(self) -> LedgerInfo:
        """Size, counts, date range of runs and schema version."""
        r = schema.runs.c
        with self._read("reading ledger info") as conn:
            version = migrations.read_version(conn) or schema.SCHEMA_VERSION
            runs, first, last = conn.execute(
                select(func.count(), func.min(r.wall_started), func.max(r.wall_ended))
            ).one()

            def count(table: Any, *where: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)

            info = LedgerInfo(
                url=self.url,
                schema_version=version,
                size_bytes=self._size_bytes(conn),
                runs=int(runs or 0),
                events=count(schema.events),
                campaigns=count(schema.campaigns),
                findings=count(schema.findings),
                inbox_open=count(schema.inbox_items, schema.inbox_items.c.status == "open"),
                first_wall=first,
                last_wall=last,
                flows=tuple(conn.execute(select(r.flow).distinct().order_by(r.flow)).scalars()),
            )
        return info

    def prune(self, *, older_than: float, wall_now: float) -> int:
        """Delete everything older than ``older_than`` seconds before ``wall_now``.

        Removes runs started before the cutoff with their events and inbox
        items, findings, flow changes and dedupe claims made before it, and
        campaigns that ended before it and have nothing left.  One transaction.
        Returns the number of runs deleted.
        """
        if older_than < 0:
            raise LedgerError(f"prune: older_than must be >= 0 seconds: {older_than}", usage=True)
        cutoff = wall_now - older_than
        r, c = schema.runs.c, schema.campaigns.c
        old_runs = select(r.id).where(r.wall_started < cutoff)
        with self._write("pruning") as conn:
            conn.execute(schema.events.delete().where(schema.events.c.run_id.in_(old_runs)))
            conn.execute(
                schema.inbox_items.delete().where(schema.inbox_items.c.run_id.in_(old_runs))
            )
            deleted = conn.execute(schema.runs.delete().where(r.wall_started < cutoff)).rowcount
            conn.execute(schema.findings.delete().where(schema.findings.c.wall_created < cutoff))
            conn.execute(
                schema.flow_changes.delete().where(schema.flow_changes.c.wall_at < cutoff)
            )
            conn.execute(
                schema.dedupe_keys.delete().where(schema.dedupe_keys.c.claimed_wall < cutoff)
            )
            conn.execute(
                schema.campaigns.delete().where(
                    func.coalesce(c.wall_ended, c.wall_started) < cutoff,
                    ~select(r.id).where(r.campaign_id == c.id).exists(),
                    ~select(schema.findings.c.id)
                    .where(schema.findings.c.campaign_id == c.id)
                    .exists(),
                )
            )
        return int(deleted or 0)

    def export_csv(self, directory: Path) -> list[Path]:
        """Write one ``<table>.csv`` per table (header row first) into ``directory``.

        Rows are streamed, so the export of a large ledger needs little memory.
        Every text cell is redacted (the rules of :mod:`harness._redact`) and
        defused: a cell a spreadsheet would run as a formula (``=``, ``+``,
        ``-``, ``@``, tab, carriage return first) gets a leading ``'``.  Each
        file is written beside its name and renamed when whole; a failure
        leaves no partial file.  Returns the files written, in dependency order.
        """
        directory = Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"cannot create export directory {str(directory)!r}: {exc.strerror}", usage=True
            ) from None
        written: list[Path] = []
        with self._read("exporting") as conn:
            for table in schema.metadata.sorted_tables:
                path = directory / f"{table.name}.csv"
                partial = directory / f".{table.name}.csv.partial"
                order = list(table.primary_key.columns)
                result = conn.execution_options(yield_per=10000).execute(
                    select(table).order_by(*order)
                )
                try:
                    with partial.open("w", newline="", encoding="utf-8") as fh:
                        writer = csv.writer(fh)
                        writer.writerow([column.name for column in table.columns])
                        for part in result.partitions():
                            writer.writerows([_csv_cell(v) for v in row] for row in part)
                    partial.replace(path)
                except OSError as exc:
                    partial.unlink(missing_ok=True)
                    raise LedgerError(
                        f"cannot write {str(path)!r}: {exc.strerror or exc}", usage=False
                    ) from None
                except BaseException:
                    partial.unlink(missing_ok=True)
                    raise
                written.append(path)
        return written


#: first characters that make a spreadsheet evaluate a cell (OWASP "CSV injection")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A cell as exported: text redacted, and defused when a spreadsheet would run it."""
    if not isinstance(value, str):
        return value
    from harness._redact import redact_text

    value = redact_text(value)
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


_DEDUPE_KEY_LENGTH: int | None = getattr(schema.dedupe_keys.c.key.type, "length", None)


def _text_limit(column: Any) -> int | bool | None:
    """The length of a text column (``None``: unbounded); ``False`` for any other type."""
    if isinstance(column.type, String):
        return column.type.length
    return False
