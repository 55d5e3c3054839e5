"""The example flow scenarios/pipedrive_won_invoice: its automation's real defects are found."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chaos import run_campaign
from harness.flow import load_flow
from harness.ledger import Ledger

pytestmark = pytest.mark.slow

FLOW = Path(__file__).resolve().parents[2] / "scenarios" / "pipedrive_won_invoice" / "flow.py"


def test_the_example_flow_declares_and_its_defects_are_found(sqlite_ledger: Ledger) -> None:
    flow = load_flow(str(FLOW))
    assert flow.trigger.name == "pipedrive.deal.updated"
    result = run_campaign(flow, ledger=sqlite_ledger, examples=100, seed=3, modes=("bare",), shrink=False)
    found = {f.oracle for f in result.findings}
    # retried POST /invoice without a requestid; no timeout on Pipedrive; a 400 retried
    assert {"duplicate_effect", "unbounded_wait", "logical_retry"} <= found, sorted(found)
