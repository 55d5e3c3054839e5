"""The ledger's plumbing every table uses: the engine, locks, transactions and prepared inserts.

Every write is one transaction: a batch of runs is committed with all its
events (and inbox items) or not at all.  On SQLite a writer takes the write
lock at ``BEGIN IMMEDIATE`` and waits for it (busy timeout), so threads and
processes (pytest-xdist workers) can write at once without "database is
locked"; in-process writers also queue on a lock so they do not spin in
SQLite's busy handler.  On PostgreSQL several machines write at once and the
primary keys arbitrate (dedupe claims).
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Self

from sqlalchemy import Connection, Engine, String
from sqlalchemy.exc import SQLAlchemyError

from harness._shared.redact import is_secret_param, redact_text
from harness.errors import LedgerError
from harness.ledger import _codec, schema

MODES: tuple[str, ...] = ("bare", "orchestrated", "production")


#: inbox action -> the item's status afterwards
INBOX_ACTIONS: dict[str, str] = {"resolve": "resolved", "discard": "discarded", "retry": "retried"}


# Run ids per IN (...) list when loading events: well under SQLite's limit of
# bound parameters (32766) and PostgreSQL's planner comfort zone.
_IN_CHUNK = 500


# Ledgers open in this process, so that a forked child (multiprocessing with
# the fork start method) does not reuse its parent's pooled connections or
# inherit a lock another thread held at the fork.
_OPEN: weakref.WeakSet[LedgerCore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for ledger in list(_OPEN):
        ledger._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _one_line(text: str, limit: int = 400) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _text_limit(column: Any) -> int | bool | None:
    """The length of a text column (``None``: unbounded); ``False`` for any other type."""
    if isinstance(column.type, String):
        return column.type.length
    return False


class LedgerCore:
    """The state and plumbing of one ledger database (see :class:`harness.ledger.Ledger`)."""

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
            lock = threading.RLock()
            self._wlock = lock
            # an in-memory database is one shared connection: serialise reads too
            self._rlock = lock if self._memory else nullcontext()
        else:
            self._wlock = nullcontext()
            self._rlock = nullcontext()

    def _reset_after_fork(self) -> None:
        # the parent's connections stay the parent's (close=False); the child
        # opens its own on first use
        self._make_locks()
        if not self._memory:
            self.engine.dispose(close=False)

    def close(self) -> None:
        """Release every pooled connection (the ledger can be reopened by URL)."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self.url!r})"

    def _error(self, what: str, exc: BaseException, *, usage: bool) -> LedgerError:
        orig = getattr(exc, "orig", None) or exc
        message = _one_line(str(orig))
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
                        # write_rows).  The pragma only takes effect outside
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

