"""The quality suite for the Slack, GitHub, Shopify and Intercom fakes.

Each fragile automation (written the way small teams write them, nothing in
it naming its defect) must be caught in bare mode with its oracle class; each
robust one must yield no finding at three seeds.  Every automation runs in the
default world, with no declaration of the systems it calls.
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
SEEDS = (20260101, 7, 42)

#: automation -> (trigger, the oracle class that must catch it)
FRAGILE = {
    "fragile_slack": ("hubspot.deal.closedwon", "silent_loss"),
    "fragile_github": ("intercom.conversation.user.created", "duplicate_effect"),
    "fragile_shopify": ("shopify.orders.create", "unbounded_wait"),
    "fragile_intercom": ("intercom.conversation.user.created", "transient_unrecovered"),
}
ROBUST = {
    "robust_slack": "hubspot.deal.closedwon",
    "robust_github": "intercom.conversation.user.created",
    "robust_shopify": "shopify.orders.create",
    "robust_intercom": "intercom.conversation.user.created",
}


def _flow(name: str, trigger: str) -> Flow:
    return Flow(name=name, automation=f"{AUTOMATIONS / name}.py:handle", trigger=get_trigger(trigger))


@pytest.mark.parametrize(("name", "trigger", "oracle"), [(n, t, o) for n, (t, o) in sorted(FRAGILE.items())])
def test_each_fragile_app_automation_is_caught_with_its_class(
    name: str, trigger: str, oracle: str, sqlite_ledger: Ledger
) -> None:
    result = run_campaign(_flow(name, trigger), ledger=sqlite_ledger, examples=DEFAULT_EXAMPLES,
                          seed=SEEDS[0], modes=("bare",), shrink=False)
    found = {f.oracle for f in result.findings}
    assert oracle in found, f"{name}: expected {oracle}, found {sorted(found)}"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(ROBUST))
def test_each_robust_app_automation_yields_no_finding(name: str, seed: int, sqlite_ledger: Ledger) -> None:
    result = run_campaign(_flow(name, ROBUST[name]), ledger=sqlite_ledger, examples=DEFAULT_EXAMPLES,
                          seed=seed, modes=("bare",), shrink=False)
    assert not result.findings, "\n\n".join(f"{f.oracle}: {f.message}\n{f.program}" for f in result.findings)
    assert sum(result.faults_injected["bare"].values()) > DEFAULT_EXAMPLES, "the campaign injected faults"
