"""write_report and `harness report`: every format, the empty window, and user mistakes."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import T0

from harness.cli import main
from harness.errors import UsageError
from harness.ledger import Ledger
from harness.ledger.simulate import simulate_history
from harness.report import write_report

CONTRACT = [("properties.email", "the contact's email address", "required; an email address")]


def test_html_is_one_self_contained_page(ledger: Any, tmp_path: Path) -> None:
    out = write_report(ledger, tmp_path / "r.html", flow="deal_won", contract=CONTRACT)
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>")
    lowered = html.lower()
    for forbidden in ("<script", "<link", "<iframe", "<img", " src=", "@import", "url(", "@font-face"):
        assert forbidden not in lowered, forbidden
    # the verdict opens the report, before the metrics
    assert html.index('id="verdict"') < html.index('id="metrics"')
    assert "STOP" in html.upper() and "Duplicate effects that escaped to a system" in html
    for kpi in ("kpi-failed", "kpi-recovery", "kpi-dedupe", "kpi-fallback"):
        assert f'id="{kpi}"' in html
    # the contract as sentences beside the violations seen
    assert "the contact&#39;s email address. <span class=\"muted\">Rule: required; an email address.</span>" in html
    assert "(missing or null)" in html
    # the finding with its minimal scenario, reproduce line and timeline
    assert "harness replay deal_won --seed 7 --example 3" in html
    assert "Timeline of finding duplicate_effect" in html
    # owners and runbooks from the inbox, run metadata from the campaigns table
    assert "ops@example.com" in html and "wiki.example.com/runbooks/deal_won" in html
    assert "harness check deal_won --seed 7" in html
    assert "email became required" in html


def test_json_csv_and_junit_carry_the_metrics(ledger: Any, tmp_path: Path) -> None:
    doc = json.loads(write_report(ledger, tmp_path / "r.json", flow="deal_won").read_text())
    assert doc["verdict"]["decision"] == "stop" and doc["subject_mode"] == "orchestrated"
    orch = doc["metrics"]["orchestrated"]
    assert orch["manual_fallback_frequency"] == 0.25
    assert orch["failed_runs_by_class"] == {"logical": 2, "transient": 2}
    assert orch["by_segment"]["existing"]["duplicate_effects_escaped"] == 1
    assert doc["generation"]["faults"] == {"orchestrated": {"timeout_after": 1}}
    assert doc["findings"]["counts"] == {"bare": {"duplicate_effect": 1}}

    rows = list(csv.DictReader(io.StringIO(write_report(ledger, tmp_path / "r.csv", flow="deal_won").read_text())))
    def value(mode: str, segment: str, metric: str) -> str:
        (row,) = [r for r in rows if (r["mode"], r["segment"], r["metric"]) == (mode, segment, metric)]
        return row["value"]
    assert value("orchestrated", "all", "manual_fallback_frequency") == "0.25"
    assert value("orchestrated", "existing", "inbox_past_due") == "1"
    assert value("bare", "all", "runs_failed") == "1"

    root = ET.parse(write_report(ledger, tmp_path / "r.xml", flow="deal_won")).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    failed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert {"duplicate_effects_escaped", "silent_losses", "failed_run_rate", "duplicate_effect"} <= failed
    assert int(suite.get("failures", "0")) == len(failed)


def test_an_empty_window_gives_a_report_that_says_so(ledger: Any, tmp_path: Path) -> None:
    html = write_report(ledger, tmp_path / "e.html", flow="deal_won", since=T0 + 86400).read_text()
    assert "No runs in this window" in html and "has 9 runs between" in html
    doc = json.loads(write_report(ledger, tmp_path / "e.json", flow="deal_won", since=T0 + 86400).read_text())
    assert doc["empty"] is True and doc["verdict"] is None
    xml = write_report(ledger, tmp_path / "e.xml", flow="deal_won", since=T0 + 86400).read_text()
    assert "<skipped" in xml


def test_unknown_flow_and_campaign_are_usage_errors(ledger: Any, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown flow 'deal_wn' \(did you mean 'deal_won'\?\)"):
        write_report(ledger, tmp_path / "x.html", flow="deal_wn")
    with pytest.raises(UsageError, match="unknown campaign 'c-nope'"):
        write_report(ledger, tmp_path / "x.html", campaign_ids=["c-nope"])
    with pytest.raises(UsageError, match=r"unknown report format '\.pdf'"):
        write_report(ledger, tmp_path / "x.pdf")
    assert not (tmp_path / "x.html").exists()


def test_the_run_list_is_limited(ledger: Any, tmp_path: Path) -> None:
    html = write_report(ledger, tmp_path / "r.html", flow="deal_won", limit_runs=2).read_text()
    assert "5 in all, the latest 2 shown" in html


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_writes_every_format(ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for suffix in ("html", "json", "csv", "xml"):
        out = tmp_path / f"report.{suffix}"
        code, stdout, _ = run_cli(["report", "--ledger", ledger_url, "--flow-name", "deal_won", "--out", str(out)], capsys)
        assert code == 0 and out.exists()
        assert "verdict (orchestrated): STOP" in stdout and "report written" in stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--flow-name", "deal_wn"], "unknown flow 'deal_wn' (did you mean 'deal_won'?)"),
        (["--since", "yesterday"], "--since 'yesterday': expected a duration such as 90d"),
        (["--since", "90d", "--pilot", "PILOT"], "--pilot and --since/--until both set the window"),
        (["--pilot", "BADPILOT"], "not valid TOML"),
        (["--pilot", "TYPOPILOT"], "thresholds.max_silent_loses: unknown key (did you mean 'max_silent_losses'?)"),
        (["--campaign", "c-nope"], "unknown campaign 'c-nope'"),
    ],
)
def test_cli_mistakes_give_one_line_and_exit_2(
    ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    (tmp_path / "PILOT").write_text('flow = "deal_won"\n[window]\nstart = 2026-05-01\ndays = 60\n')
    (tmp_path / "BADPILOT").write_text("flow = \n")
    (tmp_path / "TYPOPILOT").write_text(
        'flow = "deal_won"\n[window]\nstart = 2026-05-01\ndays = 60\n[thresholds]\nmax_silent_loses = 1\n'
    )
    args = [str(tmp_path / a) if a.isupper() else a for a in args]
    out = tmp_path / "r.html"
    code, _, err = run_cli(["report", "--ledger", ledger_url, *args, "--out", str(out)], capsys)
    assert code == 2, err
    assert expected in err
    assert err.startswith("harness: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_cli_empty_window_writes_a_report_and_says_so(
    ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    code, _, err = run_cli(["report", "--ledger", ledger_url, "--since", "1d", "--out", str(out)], capsys)
    assert code == 0 and "No runs in this window" in err
    assert "No runs in this window" in out.read_text()


def test_review_over_weeks_has_a_trend_and_compares_first_and_last_weeks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    with Ledger.open(url) as led:
        simulate_history(led, flow="deal_won", days=28, runs_per_day=12, seed=3, end_wall=T0)
        doc = json.loads(write_report(led, tmp_path / "r.json", flow="deal_won", since=T0 - 28 * 86400,
                                      until=T0, wall_now=T0).read_text())
    trend = doc["trend"]
    assert len(trend["labels"]) == 4 and trend["bucket_seconds"] == 7 * 86400
    assert sum(trend["series"]["accepted_runs"]["production"]) == 28 * 12
    segments = {row["segment"] for row in trend["comparison"]}
    assert "all segments" in segments and len(segments) >= 3
    assert trend["answer"] in ("better", "worse", "mixed", "only older")
    assert sum(trend["maintenance"]["flow changes"]) == 4


def test_pilot_report_opens_with_its_verdict(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    pilot = tmp_path / "pilot.toml"
    pilot.write_text(
        'flow = "deal_won"\ntitle = "Billing pilot"\n[window]\nstart = "2026-05-14"\nend = "2026-05-28"\n'
        '[scope]\nsample = 0.25\n[thresholds]\nmax_duplicate_effects_escaped = 1000\nmax_silent_losses = 1000\n'
    )
    with Ledger.open(url) as led:
        simulate_history(led, flow="deal_won", days=14, runs_per_day=10, seed=5, end_wall=T0)
        html = write_report(led, tmp_path / "p.html", pilot=pilot, wall_now=T0).read_text()
    assert "Pilot report: Billing pilot" in html
    assert "25 % of traffic routed through the flow" in html
    assert "thresholds from" in html and str(pilot) in html
    head = html[: html.index('id="metrics"')]
    assert any(f'class="word">{w}<' in head for w in ("stop", "simplify", "keep", "expand"))
