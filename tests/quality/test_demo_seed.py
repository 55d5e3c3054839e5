"""The demo's default seed shows what the README says a newcomer sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness._commands.demo import DEMO_SEED
from harness.chaos import DEFAULT_EXAMPLES, run_campaign
from harness.flow import load_flow
from harness.ledger import Ledger

pytestmark = pytest.mark.slow

FLOW = Path(__file__).resolve().parents[2] / "scenarios" / "deal_won" / "flow.py"


def test_the_default_demo_seed_shows_every_class_bare_and_none_orchestrated() -> None:
    # the classes the bundled automation really has: no idempotency keys (duplicate_effect),
    # a retry loop that also retries a 402 (logical_retry), a Zendesk call without a
    # timeout (unbounded_wait), a missing amount that becomes 0 (bad_value), no retry on
    # the CRM read (transient_unrecovered), and a Stripe refusal after the customer was
    # made, failing loudly (partial_effect)
    with Ledger.open("sqlite://") as ledger:
        result = run_campaign(
            load_flow(str(FLOW)), ledger=ledger, examples=DEFAULT_EXAMPLES, seed=DEMO_SEED,
            shrink=False,
        )
    assert sorted(f.oracle for f in result.findings_for("bare")) == [
        "bad_value", "duplicate_effect", "logical_retry", "partial_effect", "transient_unrecovered",
        "unbounded_wait",
    ]
    assert [f.oracle for f in result.findings_for("orchestrated")] == []
