"""Automations at fault: the harness survives each, says so, and never lets a call leave the machine."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from _robust_catalogue import AUTOMATION_ROWS, AutomationRow

from harness.cli import main


def _params() -> list[object]:
    return [
        pytest.param(row, id=row.id, marks=[pytest.mark.xfail(strict=True, reason=row.xfail)] if row.xfail else [])
        for row in AUTOMATION_ROWS
    ]


@pytest.mark.parametrize("row", _params())
def test_an_automation_at_fault_is_survived_and_reported(
    row: AutomationRow, tmp_path: Path, capsys: pytest.CaptureFixture[str], network_violations: list[str]
) -> None:
    auto = tmp_path / f"{row.id}.py"
    auto.write_text(row.source)
    db = tmp_path / "ledger.db"
    threads = set(threading.enumerate())
    try:
        code = main(["check", f"{auto}:handle", "--examples", "2", "--seed", "1", "--ledger", f"sqlite:///{db}"])
        out, err = capsys.readouterr()
        for t in set(threading.enumerate()) - threads:
            t.join(timeout=10)
        leaked = list(network_violations)
    finally:
        network_violations.clear()  # asserted below, as part of the row
    assert "Traceback" not in out + err, err
    assert code in row.codes, err
    lines = (out + err).splitlines()
    assert any(line.startswith(row.shown) for line in lines), f"{row.shown!r} not in:\n{out}{err}"
    assert leaked == [], "a call reached the network"
    with sqlite3.connect(db) as conn:
        states = dict(conn.execute("SELECT status, COUNT(*) FROM campaigns GROUP BY status").fetchall())
        runs = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    if row.codes == (2,):
        # refused before anything is recorded: no campaign, no run, nothing in any metric
        assert states == {} and runs == 0
    else:
        assert states == {"completed": 2} and runs > 0
