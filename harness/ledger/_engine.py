"""Turning a ledger URL into a configured SQLAlchemy engine.

Two backends are supported: SQLite (a file, the default, or memory) and
PostgreSQL through psycopg 3.  Every failure to understand or reach the URL
becomes one :class:`~harness.errors.LedgerError` with ``usage=True`` that names
the URL with its password hidden.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from harness._shared.redact import is_secret_param
from harness.errors import LedgerError

__all__ = [
    "BUSY_TIMEOUT_S",
    "DEFAULT_URL",
    "ENV_VAR",
    "hide_password",
    "is_memory",
    "make_engine",
    "parse_url",
    "resolve_url",
]

DEFAULT_URL = "sqlite:///.harness/ledger.db"
ENV_VAR = "HARNESS_LEDGER_URL"

#: how long a SQLite writer waits for another writer's lock.  Generous on
#: purpose: a CI job with xdist workers on 2 noisy cores can queue several
#: campaign batches, and waiting is always better than "database is locked".
BUSY_TIMEOUT_S = 120.0

#: how long a PostgreSQL connection attempt may take before the URL is
#: declared unreachable (seconds; psycopg's ``connect_timeout``)
PG_CONNECT_TIMEOUT_S = 5

_FIX = "set --ledger URL or $HARNESS_LEDGER_URL to sqlite:///path/ledger.db or postgresql+psycopg://user:password@host/db"


def resolve_url(url: str | None = None) -> str:
    """``url``, else ``$HARNESS_LEDGER_URL``, else :data:`DEFAULT_URL`.

    Empty strings count as unset so that ``HARNESS_LEDGER_URL=`` in a CI
    configuration falls back to the default instead of failing.
    """
    if url is not None and url.strip():
        return url.strip()
    env = os.environ.get(ENV_VAR, "").strip()
    return env or DEFAULT_URL


def hide_password(url: str | URL) -> str:
    """``url`` as text with any password replaced by ``***``, in its userinfo or its query.

    ``sqlite:///l.db?password=P`` and ``postgresql://u@h/db?password=P`` carry a
    password in the query (libpq reads it there): it is hidden like the userinfo's.
    """
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
        # the query's '***' is rendered percent-encoded; show it as the password's
        return _hide_query(parsed).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")
    except (ArgumentError, ValueError):
        # Not parseable: hide anything between ':' and '@' of the netloc.
        url = str(url)
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}" if ":" in creds else url
        return url


def _hide_query(url: URL) -> URL:
    if not any(is_secret_param(k) for k in url.query):
        return url
    return url.set(query={k: ("***" if is_secret_param(k) else v) for k, v in url.query.items()})


def parse_url(text: str) -> URL:
    """Parse and normalise a ledger URL; LedgerError(usage=True) when it is not one.

    ``postgresql://`` and ``postgres://`` mean psycopg 3 (the only PostgreSQL
    driver the harness installs).
    """
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise LedgerError(
            f"ledger URL {hide_password(text)!r} is not a database URL ({exc}); {_FIX}",
            usage=True,
        ) from None
    backend = url.get_backend_name()
    if backend == "postgres":
        url = url.set(drivername="postgresql+psycopg")
    elif backend == "postgresql" and "+" not in url.drivername:
        # SQLAlchemy's default driver for postgresql:// is psycopg2, not installed
        url = url.set(drivername="postgresql+psycopg")
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise LedgerError(
            f"ledger URL {hide_password(url)!r}: unsupported database {backend!r}; "
            f"the ledger runs on SQLite or PostgreSQL: {_FIX}",
            usage=True,
        )
    if backend == "postgresql" and not url.database:
        raise LedgerError(
            f"ledger URL {hide_password(url)!r} names no database; "
            "add one after the host, e.g. postgresql+psycopg://user@host:5432/harness",
            usage=True,
        )
    return url


def is_memory(url: URL) -> bool:
    """True for an in-memory SQLite URL (``sqlite://`` or ``sqlite:///:memory:``)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module: it would emit a
    # deferred BEGIN only before DML, so a read-then-write transaction could
    # need a lock upgrade, which SQLite answers with "database is locked"
    # without waiting.  The engine's "begin" hook emits our own BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # 32 MiB of page cache (default 2 MiB): a campaign batch touches the
        # leaves of six indexes; a small cache makes each insert re-read them
        cursor.execute("PRAGMA cache_size = -32768")
        # after a checkpoint, shrink the WAL back to 64 MiB: a large batch may
        # have grown it and it would otherwise keep that size on disk
        cursor.execute("PRAGMA journal_size_limit = 67108864")
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() not in ("wal", "memory"):
            _set_wal(cursor)
    finally:
        cursor.close()


def _set_wal(cursor: Any) -> None:
    # Switching to WAL needs an exclusive lock and does not always go through
    # the busy handler when several processes create the file at once; retry.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_on_begin(conn: Any) -> None:
    # Writers take the write lock up front (BEGIN IMMEDIATE) so that they wait
    # in the busy handler instead of failing on a lock upgrade; readers use a
    # deferred BEGIN and read a consistent WAL snapshot.
    if conn.get_execution_options().get("harness_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def make_engine(url: URL) -> Engine:
    """A configured engine for a parsed ledger URL (no connection is made yet)."""
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        connect_args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
        if is_memory(url):
            # One shared connection: every connection to ":memory:" would be a
            # new, empty database.  The store serialises access with a lock.
            kwargs["poolclass"] = StaticPool
        else:
            path = Path(url.database or "")
            with contextlib.suppress(OSError):
                # A failure here shows up, with the path, when connecting.
                path.expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = connect_args
    else:
        connect_args = {}
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
        connect_args["application_name"] = "harness-ledger"
        kwargs["connect_args"] = connect_args
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        hint = ""
        if backend == "postgresql":
            hint = " (install the driver: pip install 'harness[postgres]')"
        raise LedgerError(
            f"ledger URL {hide_password(url)!r}: cannot load the database driver: {exc}{hint}",
            usage=True,
        ) from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine
