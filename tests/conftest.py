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


# ---------------------------------------------------------------------------
# The loopback guard: no test, and no demo run inside a test, may open a
# connection outside 127.0.0.0/8 (or ::1).  socket.socket.connect/connect_ex and
# socket.create_connection are patched for the whole session; a refused attempt
# raises ConnectionRefusedError at once (nothing is sent) and is also recorded,
# so that code which swallows the error (an automation catching
# requests.ConnectionError) still fails its test loudly at teardown.
# Unix-domain sockets (a path, not a host) are local by nature and allowed.
# libpq (psycopg) connects in C, outside this guard: conftest's _admin_connect
# asserts the PostgreSQL URL is loopback instead.

import ipaddress  # noqa: E402
import socket  # noqa: E402


class NonLoopbackConnection(ConnectionRefusedError):
    """A test tried to connect outside the loopback range; refused before any packet."""


_network_violations: list[str] = []
_saved_socket_functions: dict[str, Any] = {}


def is_loopback_address(address: Any) -> bool:
    """True for a Unix socket path or a (host, port, ...) whose host is loopback.

    A host name other than ``localhost`` is never resolved (resolving it would
    already be traffic): it is refused.
    """
    if isinstance(address, str | bytes):
        return True  # AF_UNIX path
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%", 1)[0]
    if host.lower() in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _refuse(address: Any) -> NonLoopbackConnection:
    message = (
        f"network guard (tests/conftest.py): connection to {address!r} refused: tests may only "
        "connect to 127.0.0.0/8 or ::1"
    )
    _network_violations.append(message)
    return NonLoopbackConnection(message)


def _install_network_guard() -> None:
    if _saved_socket_functions:
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection
    _saved_socket_functions.update(
        connect=real_connect, connect_ex=real_connect_ex, create_connection=real_create_connection
    )

    def connect(self: socket.socket, address: Any) -> None:
        if self.family != getattr(socket, "AF_UNIX", None) and not is_loopback_address(address):
            raise _refuse(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family != getattr(socket, "AF_UNIX", None) and not is_loopback_address(address):
            raise _refuse(address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not is_loopback_address(tuple(address)):
            raise _refuse(address)
        return real_create_connection(address, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.create_connection = create_connection


def _remove_network_guard() -> None:
    if not _saved_socket_functions:
        return
    socket.socket.connect = _saved_socket_functions.pop("connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = _saved_socket_functions.pop("connect_ex")  # type: ignore[method-assign]
    socket.create_connection = _saved_socket_functions.pop("create_connection")


def pytest_configure(config: pytest.Config) -> None:
    _install_network_guard()


def pytest_unconfigure(config: pytest.Config) -> None:
    _remove_network_guard()


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """Fail the test if it attempted a non-loopback connection, even one it caught."""
    _network_violations.clear()
    yield
    if _network_violations:
        found = list(_network_violations)
        _network_violations.clear()
        pytest.fail(
            f"{len(found)} non-loopback connection attempt(s) during the test: {found[0]}",
            pytrace=False,
        )


@pytest.fixture
def network_violations() -> list[str]:
    """The guard's record of refused attempts in this test (a test of the guard clears it)."""
    return _network_violations
