"""Campaign runs' inbox items are tests: hidden from ``harness inbox list`` unless asked."""

from __future__ import annotations

import json

import pytest
from _ledger_records import T0, campaign, inbox_item, run

from harness.cli import main
from harness.ledger import Ledger


def test_campaign_items_are_hidden_and_marked(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Ledger.open(sqlite_url) as ledger:
        ledger.start_campaign(campaign())
        ledger.write_runs(
            [run("r-test", campaign_id="c1"), run("r-prod", campaign_id=None)],
            inbox=[inbox_item("i-test", "r-test"), inbox_item("i-prod", "r-prod", wall=T0 + 1)],
        )

    assert main(["inbox", "list", "--ledger", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "i-prod" in out and "i-test" not in out
    assert out.rstrip().endswith(
        "1 item(s); 1 past due; 1 item(s) of campaign runs hidden (tests: --campaigns lists them)"
    )

    assert main(["inbox", "list", "--campaigns", "--ledger", sqlite_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    marks = {line.split()[1]: line[0] for line in lines[1:-1]}
    assert marks == {"i-test": "c", "i-prod": "!"}  # a test's item is never "past due" work
    assert lines[-1] == "2 item(s); 1 past due"

    assert main(["inbox", "list", "--campaigns", "--json", "--ledger", sqlite_url]) == 0
    listed = {i["id"]: i["campaign_id"] for i in json.loads(capsys.readouterr().out)}
    assert listed == {"i-test": "c1", "i-prod": None}


def test_only_campaign_items_says_so(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with Ledger.open(sqlite_url) as ledger:
        ledger.start_campaign(campaign())
        ledger.write_runs([run("r-test")], inbox=[inbox_item("i-test", "r-test")])
    assert main(["inbox", "list", "--ledger", sqlite_url]) == 0
    assert capsys.readouterr().out == (
        "no open inbox items; 1 item(s) of campaign runs hidden (tests: --campaigns lists them)\n"
    )
