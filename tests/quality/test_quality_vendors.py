"""The quality suite for Xero, QuickBooks Online and Pipedrive automations.

Each fragile automation (written the way small teams write them; nothing in it
names its defect) must be caught in bare mode with its oracle class; each
robust one must yield no finding on three seeds.  The campaigns run in the
default world, so none of these automations declares a system.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chaos import DEFAULT_EXAMPLES, run_campaign
from harness.flow import Flow
from harness.ledger import Ledger
from harness.triggers import get_trigger

pytestmark = pytest.mark.slow

AUTOMATIONS = Path(__file__).resolve().parent / "automations"
SEEDS = (20260101, 7, 424242)

#: automation -> (trigger, oracle class it must be caught with)
FRAGILE = {
    "fragile_xero_duplicate": ("hubspot.deal.closedwon", "duplicate_effect"),
    "fragile_quickbooks_retry_all": ("hubspot.deal.closedwon", "logical_retry"),
    "fragile_pipedrive_no_timeout": ("pipedrive.deal.updated", "unbounded_wait"),
}
ROBUST = {
    "robust_xero": "hubspot.deal.closedwon",
    "robust_quickbooks": "hubspot.deal.closedwon",
    "robust_pipedrive": "pipedrive.deal.updated",
}


def _flow(name: str, trigger: str) -> Flow:
    return Flow(name=name, automation=f"{AUTOMATIONS / name}.py:handle", trigger=get_trigger(trigger))


@pytest.mark.parametrize("name", sorted(FRAGILE))
def test_each_fragile_vendor_automation_is_caught_with_its_class(name: str, sqlite_ledger: Ledger) -> None:
    trigger, oracle = FRAGILE[name]
    result = run_campaign(_flow(name, trigger), ledger=sqlite_ledger, examples=DEFAULT_EXAMPLES,
                          seed=SEEDS[0], modes=("bare",), shrink=False)
    found = {f.oracle for f in result.findings}
    assert oracle in found, f"{name}: expected {oracle}, found {sorted(found)}"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(ROBUST))
def test_each_robust_vendor_automation_yields_no_finding(name: str, seed: int, sqlite_ledger: Ledger) -> None:
    result = run_campaign(_flow(name, ROBUST[name]), ledger=sqlite_ledger, examples=DEFAULT_EXAMPLES,
                          seed=seed, modes=("bare",), shrink=False)
    assert not result.findings, "\n\n".join(f"{f.oracle}: {f.message}\n{f.program}" for f in result.findings)
    assert sum(result.faults_injected["bare"].values()) > DEFAULT_EXAMPLES, "the campaign injected faults"
