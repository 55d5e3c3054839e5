"""The example automation, unmodified, runs end to end against the standard world."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from harness.systems import HubSpot, standard_world

AUTOMATION = Path(__file__).resolve().parents[2] / "scenarios" / "deal_won" / "automation.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deal_won_automation_under_test", AUTOMATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [0, 1])
def test_every_won_deal_gets_a_finalized_invoice_and_a_ticket(seed: int) -> None:
    automation = _load()
    world = standard_world(seed, deals=8)
    hubspot: HubSpot = world.system("hubspot")
    results = {}
    with world.activate():
        for deal_id in hubspot.deal_ids():
            event = hubspot.webhook_event(deal_id, property_name="dealstage",
                                          property_value="closedwon")
            with world.tagged(f"deal-{deal_id}"):
                results[deal_id] = automation.handle(event)
    stripe = world.system("stripe").records()
    tickets = world.system("zendesk").records()["ticket"]
    assert len(stripe["customer"]) == len(stripe["invoice"]) == len(tickets) == 8
    invoices = {inv["id"]: inv for inv in stripe["invoice"]}
    for deal_id, result in results.items():
        assert result["status"] == "ok"
        invoice = invoices[result["invoice"]]
        assert invoice["status"] == "open" and invoice["number"]
        assert invoice["metadata"] == {"hubspot_deal_id": deal_id}
        deal = hubspot.get("deal", deal_id)
        assert deal is not None
        assert invoice["total"] == round(float(deal["properties"]["amount"]) * 100)
        assert invoice["currency"] == deal["properties"]["deal_currency_code"].lower()
        ticket = next(t for t in tickets if t["id"] == result["ticket"])
        assert ticket["external_id"] == f"hubspot-deal-{deal_id}"
        assert invoice["number"] in ticket["description"]
    # every write is attributed to the delivery that made it
    assert {w.tag for w in world.writes} == {f"deal-{d}" for d in results}
    assert all(c.status is not None and c.status < 300 for c in world.calls)


def test_other_stage_changes_are_ignored() -> None:
    automation = _load()
    world = standard_world(0, deals=2)
    hubspot: HubSpot = world.system("hubspot")
    with world.activate():
        event = hubspot.webhook_event(hubspot.deal_ids()[0], property_value="closedlost")
        assert automation.handle(event) == {"status": "ignored"}
    assert world.calls == [] and world.writes == []
