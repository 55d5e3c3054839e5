"""Opening a ledger: URL selection, and one clear line (exit 2) for every wrong URL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from harness.errors import LedgerError
from harness.ledger import DEFAULT_URL, Ledger, resolve_url


def test_the_url_comes_from_the_argument_then_the_environment_then_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HARNESS_LEDGER_URL", raising=False)
    assert resolve_url(None) == DEFAULT_URL == "sqlite:///.harness/ledger.db"
    monkeypatch.setenv("HARNESS_LEDGER_URL", "sqlite:///from-env.db")
    assert resolve_url(None) == "sqlite:///from-env.db"
    assert resolve_url("sqlite:///explicit.db") == "sqlite:///explicit.db"
    monkeypatch.setenv("HARNESS_LEDGER_URL", "  ")
    assert resolve_url("") == DEFAULT_URL


def test_the_default_ledger_is_a_wal_file_under_dot_harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_LEDGER_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    with Ledger.open() as ledger:
        assert ledger.url == DEFAULT_URL
        ledger.info()
    db = tmp_path / ".harness" / "ledger.db"
    assert db.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _open_error(url: str) -> LedgerError:
    with pytest.raises(LedgerError) as info:
        Ledger.open(url)
    error = info.value
    assert error.exit_code == 2, error
    assert "\n" not in str(error).strip()
    return error


def test_a_url_that_is_not_a_url_is_named() -> None:
    error = _open_error("ledger.db")
    assert "ledger URL 'ledger.db' is not a database URL" in str(error)
    assert "sqlite:///" in str(error)  # says what a valid one looks like


def test_an_unsupported_database_is_named_with_the_password_hidden() -> None:
    error = _open_error("mysql://ops:hunter2@127.0.0.1/ledger")
    assert "unsupported database 'mysql'" in str(error)
    assert "hunter2" not in str(error) and "ops:***@127.0.0.1" in str(error)


@pytest.mark.postgres
def test_an_unreachable_postgresql_is_one_line_with_the_password_hidden() -> None:
    # port 1 on the loopback: nothing listens there, the refusal is immediate
    error = _open_error("postgresql+psycopg://postgres:hunter2@127.0.0.1:1/ledger")
    text = str(error)
    assert text.startswith("ledger postgresql+psycopg://postgres:***@127.0.0.1:1/ledger: opening failed")
    assert "hunter2" not in text and "is the server running?" in text


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_a_usage_error(pg_url: str) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/harness_test_does_not_exist"
    error = _open_error(missing)
    assert "harness_test_does_not_exist" in str(error) and "create the database" in str(error)


@pytest.mark.postgres
def test_plain_postgresql_urls_use_psycopg(pg_url: str) -> None:
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with Ledger.open(plain) as ledger:
        assert ledger.url.startswith("postgresql+psycopg://")
        assert ledger.info().runs == 0


def test_a_ledger_from_a_newer_harness_is_refused(sqlite_url: str) -> None:
    Ledger.open(sqlite_url).close()
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE harness_meta SET value = '99' WHERE key = 'schema_version'")
    error = _open_error(sqlite_url)
    assert f"ledger {sqlite_url} has schema version 99, newer than this harness understands" in str(error)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just notes\n" * 100)
    error = _open_error(f"sqlite:///{path}")
    assert "notes.txt" in str(error) and "not a SQLite database" in str(error)
    assert path.read_text().startswith("not a database")  # nothing was changed


def test_a_database_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    error = _open_error(f"sqlite:///{path}")
    assert "is not a harness ledger (it has other tables: customers)" in str(error)


def test_an_unwritable_location_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    error = _open_error(f"sqlite:///{blocker}/sub/ledger.db")
    assert "unable to open database file" in str(error) and str(blocker) in str(error)
