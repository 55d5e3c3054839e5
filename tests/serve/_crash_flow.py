"""The flow the crash test serves: bill an order in a Stripe-shaped API on loopback.

Two writes per run (a customer, then an invoice item for it), the way a team
writes it with ``requests``: no idempotency key of its own (the harness adds
Stripe's), ``raise_for_status`` on every answer.
"""

from __future__ import annotations

import os
from typing import Any

import requests

from harness import Contract, Field, Flow, Policy, RetryPolicy
from harness.flow import Trigger

KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"

ORDER = Trigger(
    name="test.crash.order",
    system="shop",  # the generic HMAC signature
    contract=Contract((Field("eventId", "int"), Field("id", "int"), Field("email", "email"))),
    object_key=lambda e: f"order:{e['id']}",
    example={"eventId": 1, "id": 1, "email": "a@example.com"},
)


def bill(event: dict[str, Any]) -> dict[str, Any]:
    base = os.environ["STRIPE_BASE_URL"]
    customer = requests.post(
        f"{base}/v1/customers",
        data={"email": event["email"], "metadata[order]": str(event["id"])},
        auth=(KEY, ""),
        timeout=10,
    )
    customer.raise_for_status()
    item = requests.post(
        f"{base}/v1/invoiceitems",
        data={"customer": customer.json()["id"], "amount": 4200, "currency": "usd", "metadata[order]": str(event["id"])},
        auth=(KEY, ""),
        timeout=10,
    )
    item.raise_for_status()
    return {"status": "ok", "customer": customer.json()["id"]}


flow = Flow(
    name="crash_orders",
    automation=bill,
    trigger=ORDER,
    dedupe_key="order:{id}",
    owner="ops@example.com",
    policy=Policy(retry=RetryPolicy(max_attempts=8, base_delay=0.1, max_delay=0.5, deadline=600)),
)
