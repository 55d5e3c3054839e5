"""One meaning per option: --flow is always a flow file, --flow-name always a flow's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main

DEAL_WON_FLOW = str(Path(__file__).resolve().parents[2] / "scenarios" / "deal_won" / "flow.py")


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--flow", "deal_won", "--out", "r.html"],
        ["inbox", "list", "--flow", "deal_won"],
        ["simulate", "--flow", "deal_won", "--runs-per-day", "1", "--days", "1"],
    ],
)
def test_a_name_given_to_flow_points_to_flow_name(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "l.db"
    code = main([*argv, "--ledger", f"sqlite:///{ledger}"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "harness: error: --flow 'deal_won': --flow takes a flow file (path/to/flow.py); "
        "to pick a flow by its name use --flow-name deal_won"
    )
    assert not ledger.exists()


def test_flow_file_and_flow_name_select_the_same_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    assert main(["simulate", "--flow", DEAL_WON_FLOW, "--days", "2", "--runs-per-day", "10",
                 "--ledger", url]) == 0
    assert "20 runs of flow 'deal_won'" in capsys.readouterr().out
    assert main(["inbox", "list", "--flow", DEAL_WON_FLOW, "--status", "all", "--json",
                 "--ledger", url]) == 0
    by_file = capsys.readouterr().out
    assert main(["inbox", "list", "--flow-name", "deal_won", "--status", "all", "--json",
                 "--ledger", url]) == 0
    assert capsys.readouterr().out == by_file
    code = main(["inbox", "list", "--flow", DEAL_WON_FLOW, "--flow-name", "refund", "--ledger", url])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"harness: error: --flow {DEAL_WON_FLOW!r} declares flow 'deal_won' but --flow-name "
        "says 'refund'; give one of them"
    )
