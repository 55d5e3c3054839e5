"""``harness check --passthrough HOST:PORT``: validated before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main

DEAL_WON_FLOW = str(Path(__file__).resolve().parents[2] / "scenarios" / "deal_won" / "flow.py")


def test_a_malformed_passthrough_is_a_usage_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.db"
    code = main(["check", "--flow", DEAL_WON_FLOW, "--examples", "1", "--seed", "1",
                 "--passthrough", "localhost", "--ledger", f"sqlite:///{ledger}"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("harness: error: passthrough 'localhost' is not HOST:PORT"), err
    assert not ledger.exists()
