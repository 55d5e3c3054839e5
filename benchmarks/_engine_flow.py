"""The flow of ``benchmarks.engine_throughput``: bill an order in a Stripe-shaped API on loopback.

Two writes per run, a customer then an invoice item for it, written the way a
team writes them with ``requests``; the base URL comes from ``$STRIPE_BASE_URL``
(the benchmark's loopback fake).  The two calls are also the DBOS variant's steps.
"""

from __future__ import annotations

import os
from typing import Any

import requests

from harness import Contract, Field, Flow
from harness.flow import Trigger

KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"

ORDER = Trigger(
    name="bench.engine.order",
    system="shop",
    contract=Contract((Field("eventId", "int"), Field("id", "int"), Field("email", "email"))),
    object_key=lambda e: f"order:{e['id']}",
    example={"eventId": 1, "id": 1, "email": "a@example.com"},
)


def create_customer(event: dict[str, Any]) -> str:
    resp = requests.post(
        f"{os.environ['STRIPE_BASE_URL']}/v1/customers",
        data={"email": event["email"], "metadata[order]": str(event["id"])},
        auth=(KEY, ""),
        timeout=10,
    )
    resp.raise_for_status()
    return str(resp.json()["id"])


def create_item(event: dict[str, Any], customer: str) -> str:
    resp = requests.post(
        f"{os.environ['STRIPE_BASE_URL']}/v1/invoiceitems",
        data={"customer": customer, "amount": 4200, "currency": "usd", "metadata[order]": str(event["id"])},
        auth=(KEY, ""),
        timeout=10,
    )
    resp.raise_for_status()
    return str(resp.json()["id"])


def bill(event: dict[str, Any]) -> dict[str, Any]:
    customer = create_customer(event)
    return {"status": "ok", "customer": customer, "item": create_item(event, customer)}


flow = Flow(name="engine_bench", automation=bill, trigger=ORDER, dedupe_key="order:{id}", owner="ops@example.com")
