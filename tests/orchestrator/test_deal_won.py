"""The deal-won example under bad days: bare is fragile, orchestrated recovers or hands over.

``scenarios/deal_won/automation.py`` is run unmodified in a standard world of
fakes with faults injected at the transport boundary.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from _orch_fakes import fail_once
from _orch_support import Recorder

from harness import VirtualClock
from harness.flow import Flow, load_flow
from harness.orchestrator import MemoryDedupe, Orchestrator, RunResult
from harness.systems import World, standard_world


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow("scenarios/deal_won/flow.py")


@pytest.fixture
def deal_world() -> World:
    return standard_world(seed=3, deals=2, clock=VirtualClock())


def event(world: World, *, n: int = 0, event_id: int | None = None) -> dict[str, Any]:
    hubspot = world.system("hubspot")
    deal_id = hubspot.deal_ids()[n]
    return dict(
        hubspot.webhook_event(
            deal_id,
            property_name="dealstage",
            property_value="closedwon",
            event_id=event_id,
        )
    )


def orchestrated(flow: Flow, world: World, *events: dict[str, Any]) -> list[RunResult]:
    orch = Orchestrator(
        flow, clock=world.clock, rng=random.Random(0), dedupe=MemoryDedupe(), sink=Recorder()
    )
    with world.activate():
        return [orch.handle(e) for e in events]


def count(world: World, system: str, kind: str) -> int:
    return len(world.system(system).records()[kind])


def test_invoice_created_then_timed_out_bare_bills_twice_orchestrated_once(flow: Flow) -> None:
    bare_world = standard_world(seed=3, deals=2, clock=VirtualClock())
    bare_world.interceptors.append(fail_once("POST", "/v1/invoices", "timeout_after"))
    with bare_world.activate():
        flow.handler()(event(bare_world))  # the automation's own retry loop re-POSTs
    assert count(bare_world, "stripe", "invoice") == 2

    world = standard_world(seed=3, deals=2, clock=VirtualClock())
    world.interceptors.append(fail_once("POST", "/v1/invoices", "timeout_after"))
    (result,) = orchestrated(flow, world, event(world))
    assert result.end_state == "succeeded"
    assert count(world, "stripe", "invoice") == 1
    assert count(world, "stripe", "customer") == 1
    assert count(world, "zendesk", "ticket") == 1
    assert result.run.segment in ("new customer", "existing customer")


def test_ticket_created_then_timed_out_is_not_created_twice(flow: Flow, deal_world: World) -> None:
    deal_world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "timeout_after"))
    (result,) = orchestrated(flow, deal_world, event(deal_world))
    assert result.end_state == "succeeded"
    assert count(deal_world, "zendesk", "ticket") == 1
    assert count(deal_world, "stripe", "invoice") == 1


def test_zendesk_stall_without_a_timeout_is_bounded(flow: Flow, deal_world: World) -> None:
    deal_world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "stall"))
    (result,) = orchestrated(flow, deal_world, event(deal_world))
    assert result.end_state == "succeeded"
    defaulted = [e for e in result.run.events if e.kind == "timeout_defaulted"]
    assert defaulted and all(e.system == "zendesk" for e in defaulted)


def test_missing_amount_is_caught_by_the_write_contract(flow: Flow, deal_world: World) -> None:
    hubspot = deal_world.system("hubspot")
    hubspot.set_property("deal", hubspot.deal_ids()[0], "amount", None)
    (result,) = orchestrated(flow, deal_world, event(deal_world))
    assert result.end_state == "manual"
    assert count(deal_world, "stripe", "invoiceitem") == 0
    assert count(deal_world, "stripe", "invoice") == 0
    item = result.inbox_item
    assert item is not None and item.error_class == "logical"
    assert item.context["violations"][0]["field"] == "amount"
    assert item.context["violations"][0]["value"] == "0"
    assert [e["url"].rsplit("/", 1)[1] for e in item.context["partial_effects"]] == ["customers"]
    assert result.run.attempts == 1


def test_missing_email_is_caught_before_the_customer_is_made(flow: Flow, deal_world: World) -> None:
    hubspot = deal_world.system("hubspot")
    contact = hubspot.contact_ids()[0]
    hubspot.set_property("contact", contact, "email", None)
    (result,) = orchestrated(flow, deal_world, event(deal_world))
    assert result.end_state == "manual"
    assert count(deal_world, "stripe", "customer") == 0
    assert result.inbox_item is not None
    assert result.inbox_item.context["violations"][0]["field"] == "email"


def test_redelivery_of_the_same_deal_is_suppressed(flow: Flow, deal_world: World) -> None:
    first, again = orchestrated(
        flow, deal_world, event(deal_world, event_id=1), event(deal_world, event_id=2)
    )
    assert (first.end_state, again.end_state) == ("succeeded", "suppressed")
    assert count(deal_world, "stripe", "invoice") == 1


def test_long_zendesk_outage_hands_over_with_the_partial_effects(flow: Flow, deal_world: World) -> None:
    deal_world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "status", times=10_000))
    (result,) = orchestrated(flow, deal_world, event(deal_world))
    assert result.end_state == "manual"
    item = result.inbox_item
    assert item is not None and item.owner == "revops@acme.example"
    done = [(e["system"], e["url"].split("/v1/", 1)[-1]) for e in item.context["partial_effects"]]
    assert [s for s, _ in done] == ["stripe"] * 4
    assert done[-1][1].endswith("/finalize")
    assert all(e["id"] for e in item.context["partial_effects"])
    assert count(deal_world, "stripe", "invoice") == 1
    assert "harness inbox show" in item.context["runbook"]


def test_the_automations_own_retry_of_a_rejected_write_is_not_sent_again(
    flow: Flow, deal_world: World
) -> None:
    """deal_won retries every Stripe error three times, 400s included; the hook refuses the repeats."""
    deal_world.interceptors.append(fail_once("POST", "/v1/invoiceitems", "status", status=400, times=99))
    (result,) = orchestrated(flow, deal_world, event(deal_world))
    assert result.end_state == "manual" and result.run.error_class == "logical"
    sent = [c for c in deal_world.calls if c.url.endswith("/v1/invoiceitems")]
    assert len(sent) == 1
    refused = [e for e in result.run.events if e.kind == "call" and e.detail.get("refused")]
    assert len(refused) == 2 and all(e.status == 400 for e in refused)


def test_a_missing_lastname_never_reaches_stripe_as_none(flow: Flow, deal_world: World) -> None:
    hubspot = deal_world.system("hubspot")
    hubspot.set_property("contact", hubspot.contact_ids()[0], "lastname", None)
    (result,) = orchestrated(flow, deal_world, event(deal_world))
    assert result.end_state == "manual"
    assert count(deal_world, "stripe", "customer") == 0
    violation = result.inbox_item.context["violations"][0]  # type: ignore[union-attr]
    assert violation["field"] == "name" and violation["value"].endswith(" None")
