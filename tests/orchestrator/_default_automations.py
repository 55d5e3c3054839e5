"""Automations for the orchestrator's defaults without a flow file (issue 16), as teams write them."""

from __future__ import annotations

import requests

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"
ZENDESK = "https://acme.zendesk.com"
HS = {"Authorization": "Bearer pat-na1-defaults"}


def one_customer_per_delivery(event: dict) -> dict:
    """No idempotency, no lookup: each delivery creates a customer."""
    resp = requests.post(f"{STRIPE}/v1/customers", auth=("sk_test_d", ""), timeout=10,
                         data={"email": f"deal-{event['objectId']}@example.com"})
    resp.raise_for_status()
    return {"status": "ok"}


def swallows_a_refused_ticket(event: dict) -> dict:
    """The ticket is 'best effort': a refusal is logged and the webhook still succeeds."""
    resp = requests.post(f"{ZENDESK}/api/v2/tickets.json", auth=("ops@acme.example/token", "zd"), timeout=10,
                         json={"ticket": {"subject": f"deal {event['objectId']}", "comment": {"body": "won"}}})
    if resp.status_code >= 400:
        return {"status": "ok", "ticket": None}
    return {"status": "ok", "ticket": resp.json()["ticket"]["id"]}


def retries_the_whole_billing(event: dict) -> dict:
    """Its own retry loop redoes every step, the customer create included, after any error."""
    last: Exception | None = None
    for _ in range(3):
        try:
            customer = requests.post(f"{STRIPE}/v1/customers", auth=("sk_test_d", ""), timeout=10,
                                     data={"email": f"deal-{event['objectId']}@example.com"})
            customer.raise_for_status()
            item = requests.post(f"{STRIPE}/v1/invoiceitems", auth=("sk_test_d", ""), timeout=10,
                                 data={"customer": customer.json()["id"], "amount": 1000, "currency": "usd"})
            item.raise_for_status()
            return {"status": "ok"}
        except requests.RequestException as exc:
            last = exc
    raise RuntimeError(f"billing failed: {last}")


def creates_a_crm_task(event: dict) -> dict:
    """A HubSpot task per won deal; a timeout is retried by sending the create again."""
    body = {"properties": {"hs_task_subject": f"Kick-off for deal {event['objectId']}",
                           "hs_timestamp": "2026-01-01T00:00:00Z"}}
    for attempt in range(3):
        try:
            resp = requests.post(f"{HUBSPOT}/crm/v3/objects/tasks", headers=HS, json=body, timeout=10)
        except requests.Timeout:
            if attempt == 2:
                raise
            continue
        resp.raise_for_status()
        return {"status": "ok", "task": resp.json()["id"]}
    raise RuntimeError("unreachable")


def bills_with_defaults(event: dict) -> dict:
    """Missing CRM fields fall back to defaults ('or 0', 'or ""', a formatted None)."""
    deal = requests.get(f"{HUBSPOT}/crm/v3/objects/deals/{event['objectId']}", headers=HS, timeout=10,
                        params={"properties": "dealname,amount", "associations": "contacts"})
    deal.raise_for_status()
    props = deal.json()["properties"]
    customer = requests.post(f"{STRIPE}/v1/customers", auth=("sk_test_d", ""), timeout=10,
                             data={"email": f"deal-{event['objectId']}@example.com"})
    customer.raise_for_status()
    resp = requests.post(f"{STRIPE}/v1/invoiceitems", auth=("sk_test_d", ""), timeout=10,
                         data={"customer": customer.json()["id"], "currency": "usd",
                               "amount": int(float(props.get("amount") or 0) * 100),
                               "description": str(props.get("dealname"))})
    resp.raise_for_status()
    return {"status": "ok"}


def bills_only_complete_deals(event: dict) -> dict:
    """Validates before writing: a deal without an amount is skipped, loudly."""
    deal = requests.get(f"{HUBSPOT}/crm/v3/objects/deals/{event['objectId']}", headers=HS, timeout=10,
                        params={"properties": "dealname,amount"})
    deal.raise_for_status()
    props = deal.json()["properties"]
    if not props.get("amount") or not props.get("dealname"):
        raise ValueError(f"deal {event['objectId']} has no amount or name: not billed")
    customer = requests.post(f"{STRIPE}/v1/customers", auth=("sk_test_d", ""), timeout=10,
                             data={"email": f"deal-{event['objectId']}@example.com"})
    customer.raise_for_status()
    resp = requests.post(f"{STRIPE}/v1/invoiceitems", auth=("sk_test_d", ""), timeout=10,
                         data={"customer": customer.json()["id"], "currency": "usd", "quantity": 1,
                               "amount": int(float(props["amount"]) * 100), "description": props["dealname"]})
    resp.raise_for_status()
    return {"status": "ok"}
