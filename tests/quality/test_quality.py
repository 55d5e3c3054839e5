"""The quality suite: fragile automations are caught with the right class, robust ones are not.

Like Hypothesis's own ``tests/quality``: each automation in ``automations/``
is written the way teams write them (nothing in it names its defect).  Each
fragile one must be caught, in bare mode, with its oracle class within the
default example budget; each robust one (explicit timeouts and backoff; a
requests Session with urllib3 Retry; idempotency keys and search-before-create)
must yield no finding at all.  One fixed seed makes the suite deterministic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chaos import DEFAULT_EXAMPLES, Scenario, run_campaign
from harness.flow import Flow
from harness.ledger import Ledger
from harness.triggers import get_trigger

pytestmark = pytest.mark.slow

AUTOMATIONS = Path(__file__).resolve().parent / "automations"
SEED = 2

FRAGILE = {
    "fragile_duplicate": "duplicate_effect",
    "fragile_silent": "silent_loss",
    "fragile_defaults": "bad_value",
    "fragile_no_timeout": "unbounded_wait",
    "fragile_retry_all": "logical_retry",
    "fragile_no_retry": "transient_unrecovered",
}
ROBUST = ("robust_backoff", "robust_session", "robust_search")


def _flow(name: str) -> Flow:
    return Flow(
        name=name,
        automation=f"{AUTOMATIONS / name}.py:handle",
        trigger=get_trigger("hubspot.deal.closedwon"),
    )


@pytest.mark.parametrize(("name", "oracle"), sorted(FRAGILE.items()))
def test_each_fragile_automation_is_caught_with_its_class(
    name: str, oracle: str, sqlite_ledger: Ledger
) -> None:
    result = run_campaign(
        _flow(name), ledger=sqlite_ledger, examples=DEFAULT_EXAMPLES, seed=SEED, modes=("bare",), shrink=False
    )
    found = {f.oracle for f in result.findings}
    assert oracle in found, f"{name}: expected {oracle}, found {sorted(found)}"


@pytest.mark.parametrize("name", ROBUST)
def test_each_robust_automation_yields_no_finding(name: str, sqlite_ledger: Ledger) -> None:
    result = run_campaign(
        _flow(name), ledger=sqlite_ledger, examples=DEFAULT_EXAMPLES, seed=SEED, modes=("bare",), shrink=False
    )
    assert not result.findings, "\n\n".join(f"{f.oracle}: {f.message}\n{f.program}" for f in result.findings)
    assert sum(result.faults_injected["bare"].values()) > DEFAULT_EXAMPLES, "the campaign injected faults"


def test_a_finding_shrinks_to_the_fewest_deliveries_and_faults(sqlite_ledger: Ledger) -> None:
    result = run_campaign(
        _flow("fragile_no_timeout"), ledger=sqlite_ledger, examples=DEFAULT_EXAMPLES, seed=SEED, modes=("bare",)
    )
    finding = next(f for f in result.findings if f.oracle == "unbounded_wait")
    scenario = Scenario.from_json(finding.scenario_json)
    # one delivery and the one stall on a call without timeout explain it
    assert scenario.size() == (1, 1), finding.program
    assert "stall" in finding.program or "execute_then_timeout" in finding.program
