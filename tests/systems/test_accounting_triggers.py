"""The Xero and QuickBooks webhook triggers: documented shapes, contracts, keys, a campaign runs."""

from __future__ import annotations

import random
from typing import Any

import pytest

from harness.chaos import run_campaign
from harness.flow import Flow
from harness.ledger import Ledger
from harness.systems import standard_world
from harness.triggers import get_trigger

from ._helpers import assert_shape, load


@pytest.mark.parametrize(("name", "fixture"), [("xero.invoice.updated", ("xero", "webhook_invoice")),
                                               ("quickbooks.customer.updated", ("quickbooks", "webhook"))])
def test_trigger_events_follow_the_documented_payload(name: str, fixture: tuple[str, str]) -> None:
    world = standard_world(4)
    trigger = get_trigger(name)
    objects = trigger.objects(world)  # type: ignore[misc]
    assert objects
    first = trigger.make_event(world, objects[0], random.Random(1))  # type: ignore[misc]
    again = trigger.make_event(world, objects[0], random.Random(2))  # type: ignore[misc]
    assert_shape(first, load(*fixture))
    assert trigger.contract.check(first) == () and trigger.contract.check(trigger.example) == ()
    assert trigger.object_key(first) == trigger.object_key(again)
    assert objects[0] in trigger.object_key(first)


def test_xero_sequence_numbers_tell_deliveries_apart() -> None:
    world = standard_world(4)
    xero = world.system("xero")
    invoice = xero.invoice_ids(status="AUTHORISED")[0]
    a, b = xero.webhook_event(invoice), xero.webhook_event(invoice)
    assert b["firstEventSequence"] == a["firstEventSequence"] + 1
    assert a["events"][0]["tenantId"] == xero.tenant_id
    with pytest.raises(KeyError):
        xero.webhook_event("00000000-0000-0000-0000-000000000000")


def _sync(event: dict[str, Any]) -> dict[str, Any]:
    """A small invoice-sync automation: fetch the changed invoice from Xero."""
    import requests

    tenant = event["events"][0]["tenantId"]
    resp = requests.get(f"https://api.xero.com/api.xro/2.0/Invoices/{event['events'][0]['resourceId']}",
                        headers={"Authorization": "Bearer t", "xero-tenant-id": tenant}, timeout=10)
    resp.raise_for_status()
    return {"status": "ok", "total": resp.json()["Invoices"][0]["Total"]}


@pytest.mark.slow
def test_a_campaign_runs_on_the_xero_trigger(sqlite_ledger: Ledger) -> None:
    flow = Flow(name="xero_sync", automation=_sync, trigger=get_trigger("xero.invoice.updated"))
    result = run_campaign(flow, ledger=sqlite_ledger, examples=20, seed=1, modes=("bare",), shrink=False)
    assert result.examples["bare"] == 20
    assert sum(result.faults_injected["bare"].values()) > 0
