"""The cross-vendor example flows in scenarios/: each automation's real defects are found, with their classes.

``shopify_order_quickbooks`` (Shopify order -> QuickBooks customer and invoice ->
#sales) and ``stripe_paid_hubspot_slack`` (Stripe invoice paid -> HubSpot note ->
#sales) are written the way small teams write them.  At a fixed seed and a
small budget the campaign finds exactly the defects each one has, every run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chaos import run_campaign
from harness.flow import load_flow
from harness.ledger import Ledger

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

#: flow -> (its trigger, the classes its defects are found with at seed 3 in 30 examples)
EXPECTED = {
    # no dedupe of Shopify's redelivery: a second invoice and message; Slack's {"ok": false}
    # unread: the message silently lost; an empty currency passed to QuickBooks; an order
    # without an email refused by QuickBooks and retried as if it were an outage; one reset
    # of Slack's connection fails the run after the invoice was made
    "shopify_order_quickbooks": ("shopify.orders.create", {
        "duplicate_effect", "silent_loss", "bad_value", "logical_retry", "transient_unrecovered"}),
    # no dedupe of Stripe's retry (same event id): a second note and message; a customer
    # without an email searched as None, found nobody, the note silently skipped; HubSpot
    # calls without a timeout; no retry of a 503
    "stripe_paid_hubspot_slack": ("stripe.invoice.paid", {
        "duplicate_effect", "silent_loss", "bad_value", "unbounded_wait", "transient_unrecovered"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_cross_vendor_example_flow_has_exactly_its_defects_found(name: str, sqlite_ledger: Ledger) -> None:
    trigger, classes = EXPECTED[name]
    flow = load_flow(str(SCENARIOS / name / "flow.py"))
    assert flow.trigger.name == trigger
    result = run_campaign(flow, ledger=sqlite_ledger, examples=30, seed=3, modes=("bare",), shrink=False)
    assert {f.oracle for f in result.findings} == classes, [f"{f.oracle}: {f.message}" for f in result.findings]


def test_harness_check_flow_reports_the_stripe_example_defects_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    code = main(["check", "--flow", str(SCENARIOS / "stripe_paid_hubspot_slack" / "flow.py"), "--mode", "bare",
                 "--examples", "30", "--seed", "3", "--ledger", f"sqlite:///{tmp_path / 'ledger.db'}"])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "duplicate_effect (bare, silent)" in out and "2 hubspot note" in out
    assert 'bad_value(invoice=0, "stripe.customers.email", absent)' in out  # the missing email, shrunk
    assert "Traceback" not in out + err
