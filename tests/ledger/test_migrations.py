"""An older ledger opens after an in-place upgrade and keeps every row."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from _ledger_records import T0, run
from make_v1_ledger import FIXTURE, create_v1

from harness.ledger import SCHEMA_VERSION, FlowChange, Ledger


def _check_upgraded(ledger: Ledger) -> None:
    info = ledger.info()
    assert info.schema_version == SCHEMA_VERSION == 2
    assert (info.runs, info.events, info.campaigns, info.inbox_open) == (2, 4, 1, 1)
    old = ledger.run("v1-run-1")
    assert old.duplicate_effects is None  # v1 did not measure it: no ground truth
    assert (old.end_state, old.first_error_at, old.recovered_at) == ("succeeded", 1.0, 31.0)
    assert [e.kind for e in old.events] == ["delivery", "error", "end"]
    assert ledger.campaign("v1-camp").versions == {"harness": "0.0.9"}
    assert ledger.inbox(campaigns=True)[0].id == "v1-item"
    assert ledger.claim_dedupe("deal_won", "deal_won:1", "new", wall_now=T0, ttl=None) == "v1-run-1"
    # what version 2 added works on the upgraded ledger
    ledger.write_runs([run("v2-run", campaign_id="v1-camp", duplicate_effects=1)])
    assert ledger.run("v2-run").duplicate_effects == 1
    ledger.record_change(FlowChange(flow="deal_won", wall_at=T0, kind="config", description="dedupe on"))
    assert len(ledger.changes()) == 1


def test_the_v1_fixture_is_really_version_1() -> None:
    with sqlite3.connect(FIXTURE) as conn:
        assert conn.execute("SELECT value FROM harness_meta").fetchone() == ("1",)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "duplicate_effects" not in columns and "flow_changes" not in tables


def test_a_v1_sqlite_ledger_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE, path)
    with Ledger.open(f"sqlite:///{path}") as ledger:
        _check_upgraded(ledger)
    with Ledger.open(f"sqlite:///{path}") as ledger:  # a second open finds it current
        assert ledger.info().runs == 3
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "ix_runs_wall" in indexes


@pytest.mark.postgres
def test_a_v1_postgresql_ledger_is_upgraded_in_place(pg_url: str) -> None:
    create_v1(pg_url)
    with Ledger.open(pg_url) as ledger:
        _check_upgraded(ledger)


def test_concurrent_opens_upgrade_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE, path)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            with Ledger.open(f"sqlite:///{path}") as ledger:
                assert ledger.info().schema_version == SCHEMA_VERSION
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
