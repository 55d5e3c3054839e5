"""The objects the new triggers are about, in the fakes: Stripe payments, Zendesk tickets,
HubSpot companies; and the events about them against the vendors' documented examples."""

from __future__ import annotations

import random
from typing import Any

from harness._wire import VirtualClock
from harness.systems import World, standard_world
from harness.triggers import get_trigger

from ._helpers import HUBSPOT_AUTH, STRIPE_AUTH, ZENDESK_AUTH, assert_shape, call, load

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"
ZENDESK = "https://acme.zendesk.com"


def _event(world: World, name: str, index: int = 0) -> dict[str, Any]:
    trigger = get_trigger(name)
    assert trigger.objects is not None and trigger.make_event is not None
    return trigger.make_event(world, list(trigger.objects(world))[index], random.Random(index))


def test_stripe_events_have_the_documented_event_shape() -> None:
    world = standard_world(3)
    for name, fixture in (
        ("stripe.invoice.paid", "event_invoice_paid"),
        ("stripe.checkout.session.completed", "event_checkout_session_completed"),
        ("stripe.customer.subscription.updated", "event_customer_subscription_updated"),
    ):
        event = _event(world, name)
        assert_shape(event, load("stripe", fixture))
        assert event["id"].startswith("evt_") and event["object"] == "event"


def test_stripe_serves_the_objects_its_events_are_about() -> None:
    world = standard_world(3)
    session = _event(world, "stripe.checkout.session.completed")["data"]["object"]
    got = call(world, "GET", f"{STRIPE}/v1/checkout/sessions/{session['id']}", auth=STRIPE_AUTH)
    assert got.status == 200 and got.json() == session
    assert got.json()["status"] == "complete" and got.json()["payment_status"] == "paid"
    sub = _event(world, "stripe.customer.subscription.updated", 1)["data"]["object"]
    listed = call(world, "GET", f"{STRIPE}/v1/subscriptions?customer={sub['customer']}", auth=STRIPE_AUTH).json()
    assert [s["id"] for s in listed["data"]] == [sub["id"]] and listed["url"] == "/v1/subscriptions"
    invoice = _event(world, "stripe.invoice.paid", 2)["data"]["object"]
    paid = call(world, "GET", f"{STRIPE}/v1/invoices?status=paid", auth=STRIPE_AUTH).json()["data"]
    assert [i["id"] for i in paid] == [invoice["id"]]
    assert_shape(invoice, load("stripe", "invoice"))
    missing = call(world, "GET", f"{STRIPE}/v1/subscriptions/sub_nope", auth=STRIPE_AUTH)
    assert missing.status == 404 and missing.json()["error"]["code"] == "resource_missing"
    # no automation wrote anything: the objects were made by payments
    assert world.writes == []


def test_zendesk_ticket_created_event_and_ticket() -> None:
    world = standard_world(3)
    event = _event(world, "zendesk.ticket.created")
    assert_shape(event, load("zendesk", "event_ticket_created"))
    ticket = call(world, "GET", f"{ZENDESK}/api/v2/tickets/{event['detail']['id']}.json", auth=ZENDESK_AUTH)
    assert ticket.status == 200
    body = ticket.json()["ticket"]
    assert str(body["id"]) == event["detail"]["id"] and body["status"] == "new"
    assert str(body["requester_id"]) == event["detail"]["requester_id"]
    assert event["subject"] == f"zen:ticket:{body['id']}"
    # the requester is the CRM contact of the same index
    user = call(world, "GET", f"{ZENDESK}/api/v2/users/{body['requester_id']}.json", auth=ZENDESK_AUTH).json()
    hubspot = world.system("hubspot")
    assert user["user"]["email"] == hubspot.get("contact", hubspot.contact_ids()[0])["properties"]["email"]
    assert world.writes == []


def test_hubspot_companies_are_seeded_associated_and_served() -> None:
    world = standard_world(3, deals=4)
    hubspot = world.system("hubspot")
    companies = hubspot.company_ids()
    assert len(companies) == 4 and companies[0] == "20000000001"
    # deal and contact ids are those of worlds seeded before companies existed
    assert hubspot.deal_ids()[0] == "10000000002" and hubspot.contact_ids()[0] == "10000000001"
    got = call(world, "GET", f"{HUBSPOT}/crm/v3/objects/companies/{companies[0]}?associations=contacts",
               auth=HUBSPOT_AUTH).json()
    assert set(got["properties"]) >= {"name", "domain", "hs_object_id", "createdate", "hs_lastmodifieddate"}
    assert got["associations"]["contacts"]["results"][0]["id"] == hubspot.contact_ids()[0]
    v4 = call(world, "GET", f"{HUBSPOT}/crm/v4/objects/contacts/{hubspot.contact_ids()[0]}/associations/companies",
              auth=HUBSPOT_AUTH).json()
    assert v4["results"][0]["toObjectId"] == int(companies[0])
    # HubSpot's contact-to-company types: 1 (primary) and 279 (unlabelled)
    assert {t["typeId"] for t in v4["results"][0]["associationTypes"]} & {1, 279}


def test_hubspot_contact_and_company_events_have_the_documented_shape() -> None:
    world = standard_world(3)
    for kind in ("contact", "company"):
        created = _event(world, f"hubspot.{kind}.creation")
        assert_shape(created, load("hubspot", f"webhook_{kind}_creation")[0])
        changed = _event(world, f"hubspot.{kind}.propertyChange")
        assert_shape(changed, load("hubspot", f"webhook_{kind}_propertychange")[0])
        # the change has happened in the CRM, stamped with the world's clock
        record = world.system("hubspot").get(kind, str(changed["objectId"]))
        assert record["properties"]["lifecyclestage"] == "customer"
        assert record["properties"]["hs_lastmodifieddate" if kind == "company" else "lastmodifieddate"] == (
            "2026-01-01T00:00:00.000Z"
        )


def test_update_object_stamps_the_modified_date_and_logs_no_write() -> None:
    clock = VirtualClock()
    world = standard_world(1, clock=clock)
    hubspot = world.system("hubspot")
    deal = hubspot.deal_ids()[0]
    clock.advance(61.5)
    hubspot.update_object("deal", deal, {"dealstage": "closedwon"})
    got = call(world, "GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal}", auth=HUBSPOT_AUTH).json()
    assert got["properties"]["dealstage"] == "closedwon"
    assert got["properties"]["hs_lastmodifieddate"] == got["updatedAt"] == "2026-01-01T00:01:01.500Z"
    assert world.writes == []
