"""Small fragile automations the orchestrator tests wrap (never modified by the harness).

Each bills one order in Stripe and opens one ticket in a Zendesk-shaped desk,
with a typical weakness: no timeout, a swallowed error, httpx, async.
"""

from __future__ import annotations

import httpx
import requests

KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
STRIPE = "https://api.stripe.com"
DESK = "https://acme.zendesk.com"


def _post(path: str, data: dict[str, object]) -> dict[str, object]:
    resp = requests.post(STRIPE + path, data=data, auth=(KEY, ""), timeout=15)
    resp.raise_for_status()
    return resp.json()


def _ticket(event: dict[str, object], invoice: str, *, timeout: float | None = None) -> int:
    resp = requests.post(
        DESK + "/api/v2/tickets.json",
        json={
            "ticket": {
                "subject": f"Onboarding order {event['id']}",
                "comment": {"body": f"invoice {invoice}"},
                "external_id": f"order-{event['id']}",
            }
        },
        auth=("ops@acme.example/token", "zd-secret-token-123456"),
        timeout=timeout,
    )
    resp.raise_for_status()
    return int(resp.json()["ticket"]["id"])


def bill(event: dict[str, object]) -> dict[str, object]:
    """Customer, invoice item, invoice, then a ticket; the ticket call has no timeout."""
    customer = _post("/v1/customers", {"email": event["email"], "name": f"order {event['id']}"})
    amount = round(float(str(event.get("amount") or 0)) * 100)
    _post(
        "/v1/invoiceitems",
        {"customer": customer["id"], "amount": amount, "currency": "usd"},
    )
    invoice = _post("/v1/invoices", {"customer": customer["id"]})
    ticket = _ticket(event, str(invoice["id"]))
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket}


def bill_swallowing(event: dict[str, object]) -> dict[str, object]:
    """Like :func:`bill` but a failed ticket is only logged: a partial effect reported as success."""
    customer = _post("/v1/customers", {"email": event["email"], "name": "x"})
    invoice = _post("/v1/invoices", {"customer": customer["id"]})
    try:
        _ticket(event, str(invoice["id"]), timeout=5)
    except requests.RequestException as exc:
        print("ticket failed, never mind:", exc)  # "the ticket is nice to have"
    return {"status": "ok", "invoice": invoice["id"]}


def bill_httpx(event: dict[str, object]) -> dict[str, object]:
    """The same with an httpx client."""
    with httpx.Client(base_url=STRIPE, auth=(KEY, ""), timeout=None) as client:
        customer = client.post("/v1/customers", data={"email": str(event["email"])})
        customer.raise_for_status()
        invoice = client.post("/v1/invoices", data={"customer": customer.json()["id"]})
        invoice.raise_for_status()
    return {"status": "ok", "invoice": invoice.json()["id"]}


async def bill_async(event: dict[str, object]) -> dict[str, object]:
    """The same with an httpx.AsyncClient."""
    async with httpx.AsyncClient(base_url=STRIPE, auth=(KEY, ""), timeout=10) as client:
        customer = await client.post("/v1/customers", data={"email": str(event["email"])})
        customer.raise_for_status()
        invoice = await client.post("/v1/invoices", data={"customer": customer.json()["id"]})
        invoice.raise_for_status()
    return {"status": "ok", "invoice": invoice.json()["id"]}


class BusinessRuleError(Exception):
    """A business rule the automation enforces itself."""


def reject_big(event: dict[str, object]) -> dict[str, object]:
    if float(str(event.get("amount") or 0)) > 1000:
        raise BusinessRuleError("orders above 1000 need approval")
    return bill(event)
