"""The quality suite over systems the harness does not bundle, at three seeds.

The automations call Books (a JSON accounting API with idempotency keys) and
Parcel (a form-encoded shipping API with nested routes and no idempotency),
both declared as a user declares them (``automations/unbundled_world.py``:
two SystemDescriptors and two RecordStores).  Each fragile automation is
caught with its class at every seed; the robust one gives no finding.
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
WORLD = f"{AUTOMATIONS / 'unbundled_world.py'}:unbundled_world"
SEEDS = (1, 2, 3)

FRAGILE = {
    # retries a create on a system without idempotency: a lost answer bills twice
    "fragile_books_retry": "duplicate_effect",
    # swallows the shipping API's errors and reports success
    "fragile_parcel_quiet": "silent_loss",
}


def _flow(name: str) -> Flow:
    return Flow(
        name=name,
        automation=f"{AUTOMATIONS / name}.py:handle",
        trigger=get_trigger("hubspot.deal.closedwon"),
        world=WORLD,
    )


@pytest.fixture(autouse=True)
def _siblings(monkeypatch: pytest.MonkeyPatch) -> None:
    # the automations import their shared helper as a sibling module, as user code does
    monkeypatch.syspath_prepend(str(AUTOMATIONS))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("name", "oracle"), sorted(FRAGILE.items()))
def test_each_fragile_automation_over_unbundled_systems_is_caught(
    name: str, oracle: str, seed: int, sqlite_ledger: Ledger
) -> None:
    result = run_campaign(
        _flow(name), ledger=sqlite_ledger, examples=DEFAULT_EXAMPLES, seed=seed, modes=("bare",), shrink=False
    )
    found = {f.oracle for f in result.findings}
    assert oracle in found, f"{name} at seed {seed}: expected {oracle}, found {sorted(found)}"
    # the faults reached the declared systems, in their own shapes
    assert any(f.oracle == oracle and ("books" in f.message or "parcel" in f.message) for f in result.findings)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_robust_automation_over_unbundled_systems_yields_no_finding(seed: int, sqlite_ledger: Ledger) -> None:
    result = run_campaign(
        _flow("robust_unbundled"), ledger=sqlite_ledger, examples=DEFAULT_EXAMPLES, seed=seed, modes=("bare",),
        shrink=False,
    )
    assert not result.findings, "\n\n".join(f"{f.oracle}: {f.message}\n{f.program}" for f in result.findings)
    assert sum(result.faults_injected["bare"].values()) > DEFAULT_EXAMPLES, "the campaign injected faults"
