"""Ledger test fixtures: ``ledger`` runs a test on SQLite and on PostgreSQL.

``sqlite_ledger``, ``pg_ledger``, ``pg_url`` and ``sqlite_url`` live in
``tests/conftest.py`` so that other rooms can reuse them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.ledger import Ledger


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest) -> str:
    """A URL of a fresh ledger database, once per backend."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """A fresh, empty ledger, once on SQLite and once on PostgreSQL."""
    with Ledger.open(ledger_url) as opened:
        yield opened
