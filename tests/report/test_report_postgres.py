"""The aggregates are portable: PostgreSQL gives the same metrics and trend as SQLite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _report_records import T0, populate

from harness.ledger import Ledger
from harness.ledger.simulate import simulate_history
from harness.report import compute_metrics, write_report

pytestmark = pytest.mark.postgres


def test_postgres_and_sqlite_agree(pg_ledger: Ledger, ledger: Any, tmp_path: Path) -> None:
    populate(pg_ledger)
    for mode in ("orchestrated", "bare"):
        pg = compute_metrics(pg_ledger, flow="deal_won", mode=mode).to_json()
        lite = compute_metrics(ledger, flow="deal_won", mode=mode).to_json()
        assert pg == lite
    # the contract violation's field and value are read out of the JSON detail on both
    doc = json.loads(write_report(pg_ledger, tmp_path / "pg.json", flow="deal_won").read_text())
    assert doc["contract"][0]["field"] == "properties.email"
    assert doc["contract"][0]["samples"] == ["(missing or null)"]


def test_weekly_buckets_floor_the_same_way(pg_ledger: Ledger, tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {"flow": "deal_won", "days": 21, "runs_per_day": 8, "seed": 4, "end_wall": T0}
    simulate_history(pg_ledger, **kwargs)
    with Ledger.open(f"sqlite:///{tmp_path / 'l.db'}") as lite:
        simulate_history(lite, **kwargs)
        window = {"flow": "deal_won", "since": T0 - 21 * 86400 - 3600, "until": T0 + 1, "wall_now": T0}
        a = json.loads(write_report(pg_ledger, tmp_path / "a.json", **window).read_text())["trend"]
        b = json.loads(write_report(lite, tmp_path / "b.json", **window).read_text())["trend"]
    assert a["series"]["accepted_runs"] == b["series"]["accepted_runs"]
    assert sum(a["series"]["accepted_runs"]["production"]) == 21 * 8
    assert a["failures_by_class"] == b["failures_by_class"]
