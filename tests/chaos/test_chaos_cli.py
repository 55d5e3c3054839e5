"""`harness check` and `harness replay` from the command line: findings, reproduce lines, exit codes."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from harness.cli import main
from harness.ledger import Ledger

from .conftest import DEAL_WON_FLOW, QUALITY

NO_RETRY = f"{QUALITY / 'fragile_no_retry.py'}:handle"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "missing/automation.py:handle"], "file 'missing/automation.py' does not exist"),
        (
            ["check", f"{QUALITY / 'fragile_no_retry.py'}:HUBSPOT"],
            "'HUBSPOT' is a str, not a callable",
        ),
        (["check", NO_RETRY, "--trigger", "hubspot.deal.won"], "unknown trigger 'hubspot.deal.won'"),
        (["check", NO_RETRY, "--faults", "stal"], "unknown fault 'stal' (did you mean 'stall'?)"),
        (["check", NO_RETRY, "--examples", "0"], "--examples must be an integer from 1 to 1,000,000, got 0"),
        (["check"], "nothing to check: give PATH.py:FUNCTION"),
        (["check", "no_such_module_xyz:handle"], "no module named 'no_such_module_xyz'"),
        (["replay"], "nothing to replay"),
    ],
)
def test_bad_input_gets_one_clear_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*argv, "--ledger", f"sqlite:///{tmp_path / 'l.db'}"] if argv[0] == "check" else argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("harness: error: ") and message in err


def test_check_prints_the_finding_and_its_reproduce_line_which_reproduces_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    report = tmp_path / "check.json"
    code = main(
        ["check", NO_RETRY, "--examples", "12", "--seed", "5", "--mode", "bare",
         "--ledger", ledger, "--json", str(report)]
    )
    out = capsys.readouterr().out
    assert code == 1
    data = json.loads(report.read_text())
    assert (data["seed"], data["examples"]) == (5, 12)
    finding = next(f for f in data["findings"] if f["class"] == "transient_unrecovered")
    assert {"class", "mode", "scenario", "reproduce"} <= set(finding)
    assert finding["mode"] == "bare"
    assert finding["scenario"].startswith("world = standard_world(seed=5)\n")
    assert set(data["metrics"]["bare"]) >= {
        "failed_runs_by_class", "time_to_recovery_p50", "time_to_recovery_p90",
        "duplicate_prevention_success", "manual_fallback_frequency",
    }
    assert f"reproduce: {finding['reproduce']}" in out
    assert finding["scenario"].splitlines()[-1].split("  #")[0] in out

    argv = shlex.split(finding["reproduce"])
    assert argv[:2] == ["harness", "replay"]
    assert main(argv[1:]) == 1
    replayed = capsys.readouterr().out
    assert "still fails: transient_unrecovered" in replayed

    # the same scenario from the JSON file, against the orchestrated flow, no longer fails
    single = tmp_path / "finding.json"
    single.write_text(json.dumps({**finding, "mode": "orchestrated"}))
    flow_file = tmp_path / "flow.py"
    flow_file.write_text(
        "import harness\n"
        f"flow = harness.Flow(name='no_retry', automation={NO_RETRY!r}, "
        "trigger=harness.get_trigger('hubspot.deal.closedwon'))\n"
    )
    assert main(["replay", "--scenario", str(single), "--flow", str(flow_file)]) == 0
    assert "no longer fails as transient_unrecovered" in capsys.readouterr().out


def test_check_accepts_a_declared_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["check", "--flow", str(DEAL_WON_FLOW), "--examples", "3", "--seed", "1", "--mode", "orchestrated",
         "--ledger", f"sqlite:///{tmp_path / 'l.db'}"]
    )
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "orchestrated: 3 scenarios" in out
    assert f"rerun the campaign: harness check --flow {DEAL_WON_FLOW} --examples 3 --seed 1" in out


def test_a_replay_of_an_unknown_finding_says_where_it_looked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    Ledger.open(url).close()
    assert main(["replay", "c-nope-duplicate-effect", "--ledger", url]) == 2
    assert "no finding 'c-nope-duplicate-effect' in the ledger" in capsys.readouterr().err


def test_a_replay_against_a_missing_ledger_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "c-x-bad-value", "--ledger", f"sqlite:///{tmp_path / 'none.db'}"]) == 2
    assert "no ledger file" in capsys.readouterr().err


def test_check_shows_fault_coverage_in_the_summary_the_json_and_the_html_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    data_path, html = tmp_path / "check.json", tmp_path / "check.html"
    main(["check", NO_RETRY, "--examples", "100", "--seed", "5", "--mode", "bare",
          "--ledger", ledger, "--json", str(data_path), "--report", str(html)])
    out = capsys.readouterr().out
    cov = json.loads(data_path.read_text())["coverage"]["bare"]
    transport = cov["totals"]["transport"]
    assert transport["tried"] == transport["possible"] > 0
    assert f"faults tried: transport {transport['tried']}/{transport['possible']}" in out
    assert f"({cov['enumerated']} enumerated first)" in out
    assert "stripe POST /v1/invoices" in cov["per_endpoint"] or any(k.startswith("stripe POST") for k in cov["per_endpoint"])
    page = html.read_text()
    assert "endpoint × fault pairs tried" in page  # the report's coverage section, from the ledger
