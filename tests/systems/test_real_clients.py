"""The vendors' own SDKs, unmodified, against the fakes: stripe-python and zenpy."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from zenpy import Zenpy
from zenpy.lib.api_objects import Ticket, User

from harness.systems import Stripe, World, Zendesk, standard_world

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
