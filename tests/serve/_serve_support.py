"""Flows the serve tests receive webhooks for: a generic order trigger and HubSpot's deal-won."""

from __future__ import annotations

from typing import Any

import requests

from harness import Contract, Field, Flow
from harness.flow import Trigger
from harness.triggers import get_trigger

KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"

ORDER = Trigger(
    name="test.serve.order",
    system="shop",  # no vendor scheme: the generic HMAC
    contract=Contract((Field("eventId", "int"), Field("id", "int"), Field("email", "email"))),
    object_key=lambda e: f"order:{e['id']}",
    example={"eventId": 1, "id": 1, "email": "a@example.com"},
)


def charge(event: dict[str, Any]) -> dict[str, Any]:
    """Creates one Stripe customer for the order (the harness adds the idempotency key)."""
    email = event.get("email") or f"deal{event.get('objectId')}@example.com"
    resp = requests.post(
        "https://api.stripe.com/v1/customers",
        data={"email": email, "metadata[order]": str(event.get("id", event.get("objectId")))},
        auth=(KEY, ""),
        timeout=5,
    )
    resp.raise_for_status()
    return {"status": "ok", "customer": resp.json()["id"]}


def order_flow(name: str = "orders") -> Flow:
    return Flow(name=name, automation=charge, trigger=ORDER, dedupe_key="order:{id}", owner="ops@example.com")


def deal_flow() -> Flow:
    return Flow(
        name="deal_won",
        automation=charge,
        trigger=get_trigger("hubspot.deal.closedwon"),
        dedupe_key="deal:{objectId}",
        owner="ops@example.com",
    )


def deal_event(deal: int, event_id: int) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "subscriptionId": 1,
        "portalId": 62515,
        "occurredAt": 1764000000000,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": deal,
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
        "changeSource": "CRM",
    }
