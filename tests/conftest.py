"""Fixtures shared by every room's tests: fresh ledgers on SQLite and PostgreSQL.

``sqlite_ledger`` is a new SQLite ledger file in ``tmp_path``.  ``pg_url``
creates a new database ``harness_test_<random>`` on the local PostgreSQL
server (``$HARNESS_TEST_PG_ADMIN_URL``, default the ``postgres`` user on
127.0.0.1:5432) and drops it afterwards; ``pg_ledger`` opens a ledger in it.
Both PostgreSQL fixtures skip, saying why, only when the server is
unreachable (``.ci/run`` starts it).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import make_url

from harness.ledger import Ledger

PG_ADMIN_URL = os.environ.get(
    "HARNESS_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

_pg_unreachable: list[str] = []


def _admin_connect() -> psycopg.Connection[Any]:
    """An autocommit psycopg connection to the admin database, or skip."""

    if _pg_unreachable:
        pytest.skip(_pg_unreachable[0])
    url = make_url(PG_ADMIN_URL)
    assert url.host in (None, "localhost") or str(url.host).startswith("127."), (
        "tests only talk to 127.0.0.0/8"
    )
    try:
        return psycopg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password,
            dbname=url.database or "postgres",
            autocommit=True,
            connect_timeout=3,
        )
    except psycopg.OperationalError as exc:
        reason = (
            f"PostgreSQL unreachable at {url.render_as_string(hide_password=True)} "
            f"({' '.join(str(exc).split())[:200]}); .ci/run starts it"
        )
        _pg_unreachable.append(reason)
        pytest.skip(reason)


@pytest.fixture
def pg_url_factory() -> Iterator[Callable[[], str]]:
    """Create fresh databases on demand; every one is dropped after the test."""
    created: list[str] = []
    admin = _admin_connect()

    def make() -> str:
        name = f"harness_test_{secrets.token_hex(6)}"
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        for name in created:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()


@pytest.fixture
def pg_url(pg_url_factory: Callable[[], str]) -> str:
    """The URL of a fresh, empty PostgreSQL database (dropped after the test)."""
    return pg_url_factory()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a ledger file that does not exist yet (its directory neither)."""
    return f"sqlite:///{tmp_path / 'ledger' / 'ledger.db'}"


@pytest.fixture
def sqlite_ledger(sqlite_url: str) -> Iterator[Ledger]:
    """A new, empty SQLite ledger file in ``tmp_path``."""
    with Ledger.open(sqlite_url) as ledger:
        yield ledger


@pytest.fixture
def pg_ledger(pg_url: str) -> Iterator[Ledger]:
    """A new, empty ledger in a fresh PostgreSQL database."""
    with Ledger.open(pg_url) as ledger:
        yield ledger
