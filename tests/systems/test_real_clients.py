"""The vendors' own SDKs, unmodified, against the fakes: stripe-python, zenpy and hubspot-api-client."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from zenpy import Zenpy
from zenpy.lib.api_objects import Ticket, User

from harness.systems import HubSpot, Stripe, World, Zendesk, standard_world

KEY = "sk_test_51HarnessFakeKey000000000000"


@pytest.fixture
def world() -> World:
    return standard_world(7, deals=2)


def test_stripe_sdk_customer_item_invoice_with_idempotency(world: World) -> None:
    with world.activate():
        # the SDK's normal configuration; api.stripe.com is served directly anyway
        client = stripe.StripeClient(KEY, base_addresses={"api": "https://api.stripe.com"},
                                     max_network_retries=0)
        params: Any = {"email": "jenny@example.com", "name": "Jenny Rosen",
                  "metadata": {"hubspot_deal_id": "512"}}
        customer = client.v1.customers.create(params=params, options={"idempotency_key": "deal-512-c"})
        replay = client.v1.customers.create(params=params, options={"idempotency_key": "deal-512-c"})
        assert replay.id == customer.id
        assert replay.last_response is not None
        assert replay.last_response.headers["Idempotent-Replayed"] == "true"
        item = client.v1.invoice_items.create(
            params={"customer": customer.id, "amount": 150000, "currency": "usd",
                    "description": "Custom data integrations"},
            options={"idempotency_key": "deal-512-ii"})
        invoice = client.v1.invoices.create(
            params={"customer": customer.id, "collection_method": "send_invoice",
                    "days_until_due": 30, "pending_invoice_items_behavior": "include",
                    "metadata": {"hubspot_deal_id": "512"}},
            options={"idempotency_key": "deal-512-in"})
        assert invoice.total == 150000 and invoice.lines.data[0].amount == 150000
        final = client.v1.invoices.finalize_invoice(invoice.id)
        assert final.status == "open" and str(final.number).endswith("-0001")
        assert client.v1.invoice_items.retrieve(item.id).invoice == invoice.id
        listed = client.v1.invoices.list(params={"customer": customer.id})
        assert [i.id for i in listed.data] == [invoice.id]
        with pytest.raises(stripe.IdempotencyError):
            client.v1.customers.create(params={"email": "other@example.com"},
                                       options={"idempotency_key": "deal-512-c"})
        with pytest.raises(stripe.InvalidRequestError) as missing:
            client.v1.invoices.retrieve("in_doesnotexist")
        assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    stripe_fake: Stripe = world.system("stripe")
    assert len(stripe_fake.records()["customer"]) == 1
    assert stripe_fake.replays == 1
    assert [w.kind for w in world.writes if w.action == "create"] == ["customer", "invoiceitem", "invoice"]


def test_stripe_sdk_global_configuration(world: World) -> None:
    with world.activate():
        stripe.api_key = KEY
        try:
            created = stripe.Customer.create(email="a@example.com", idempotency_key="g-1")
            assert stripe.Customer.retrieve(created.id).email == "a@example.com"
        finally:
            stripe.api_key = None


def test_zenpy_creates_and_finds_a_ticket_by_external_id(world: World) -> None:
    with world.activate():
        zenpy = Zenpy(subdomain="acme", email="ops@acme.example", token="zendesk-api-token")
        audit = zenpy.tickets.create(Ticket(
            subject="Onboarding: Acme", description="Invoice ABC-0001 for 1500.00 USD",
            external_id="hubspot-deal-512", tags=["onboarding", "deal_won"],
            requester=User(name="Jenny Rosen", email="jenny@example.com")))
        ticket_id = audit.ticket.id
        by_external = list(zenpy.tickets(external_id="hubspot-deal-512"))
        assert [t.id for t in by_external] == [ticket_id]
        searched = list(zenpy.search(type="ticket", external_id="hubspot-deal-512"))
        assert [t.id for t in searched] == [ticket_id]
        assert by_external[0].requester.email == "jenny@example.com"
    zendesk: Zendesk = world.system("zendesk")
    assert [t["id"] for t in zendesk.tickets_by_external_id("hubspot-deal-512")] == [ticket_id]


def test_hubspot_api_client_deals_search_line_items_properties_and_notes(world: World) -> None:
    """hubspot-api-client (urllib3) unmodified: reads, search, batch read, line items, properties, notes."""
    import hubspot
    from hubspot.crm.contacts import Filter, FilterGroup, PublicObjectSearchRequest
    from hubspot.crm.deals import ApiException as DealsApiException
    from hubspot.crm.deals import SimplePublicObjectInput
    from hubspot.crm.line_items import AssociationSpec as LineItemSpec
    from hubspot.crm.line_items import PublicAssociationsForObject as LineItemLinks
    from hubspot.crm.line_items import PublicObjectId as LineItemTo
    from hubspot.crm.line_items import SimplePublicObjectInputForCreate as LineItemInput
    from hubspot.crm.objects.notes import ApiException as NotesApiException
    from hubspot.crm.objects.notes import AssociationSpec as NoteSpec
    from hubspot.crm.objects.notes import PublicAssociationsForObject as NoteLinks
    from hubspot.crm.objects.notes import PublicObjectId as NoteTo
    from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteInput
    from hubspot.crm.products import BatchReadInputSimplePublicObjectId, SimplePublicObjectId
    from hubspot.crm.properties import PropertyCreate

    fake: HubSpot = world.system("hubspot")
    deal_id = fake.deal_ids()[0]
    with world.activate():
        client = hubspot.Client.create(access_token="pat-na1-11111111-2222-3333-4444-555555555555")
        deal = client.crm.deals.basic_api.get_by_id(deal_id, properties=["dealname", "amount"],
                                                    associations=["contacts"])
        assert deal.id == deal_id and deal.properties["dealname"]
        contact_id = deal.associations["contacts"].results[0].id
        email = fake.get("contact", contact_id)["properties"]["email"]  # type: ignore[index]
        found = client.crm.contacts.search_api.do_search(PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name="email", operator="EQ", value=email)])],
            properties=["email"], limit=1))
        assert [c.id for c in found.results] == [contact_id]

        product_ids = fake.ids("products")[:2]
        batch = client.crm.products.batch_api.read(BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in product_ids], properties=["name", "price"]))
        assert sorted(p.id for p in batch.results) == sorted(product_ids)
        item = client.crm.line_items.basic_api.create(LineItemInput(
            properties={"hs_product_id": product_ids[0], "quantity": "2"},
            associations=[LineItemLinks(to=LineItemTo(id=deal_id), types=[
                LineItemSpec(association_category="HUBSPOT_DEFINED", association_type_id=20)])]))
        assert fake.associated("deal", deal_id, "line_item") == (item.id,)

        client.crm.properties.core_api.create("deals", PropertyCreate(
            name="invoice_number", label="Invoice number", type="string", field_type="text",
            group_name="dealinformation"))
        client.crm.deals.basic_api.update(deal_id, SimplePublicObjectInput(
            properties={"invoice_number": "INV-0042"}))
        with pytest.raises(DealsApiException) as undefined:
            client.crm.deals.basic_api.update(deal_id, SimplePublicObjectInput(properties={"invoice_no": "x"}))
        assert undefined.value.status == 400 and "PROPERTY_DOESNT_EXIST" in undefined.value.body

        note = client.crm.objects.notes.basic_api.create(NoteInput(
            properties={"hs_timestamp": "2026-01-15T10:30:00.000Z", "hs_note_body": "Invoice INV-0042 paid"},
            associations=[NoteLinks(to=NoteTo(id=contact_id), types=[
                NoteSpec(association_category="HUBSPOT_DEFINED", association_type_id=202)])]))
        with pytest.raises(NotesApiException) as untimed:
            client.crm.objects.notes.basic_api.create(NoteInput(properties={"hs_note_body": "no time"}))
        assert untimed.value.status == 400
    assert fake.get("deal", deal_id)["properties"]["invoice_number"] == "INV-0042"  # type: ignore[index]
    assert fake.associated("contact", contact_id, "note") == (note.id,)
