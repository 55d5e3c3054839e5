"""Small automations for the oracles' precision tests (written as a team would write them)."""

from __future__ import annotations

import requests

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"
ZENDESK = "https://acme.zendesk.com"
HS = {"Authorization": "Bearer pat-na1-precision"}


def _deal(deal_id: int) -> tuple[dict, dict]:
    deal = requests.get(f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=HS, timeout=10,
                        params={"properties": "dealname,amount", "associations": "contacts"})
    deal.raise_for_status()
    data = deal.json()
    contact_id = data["associations"]["contacts"]["results"][0]["id"]
    contact = requests.get(f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=HS, timeout=10,
                           params={"properties": "email,firstname"})
    contact.raise_for_status()
    return data["properties"], contact.json()["properties"]


def ticket_with_line_items(event: dict) -> dict:
    """A ticket whose custom fields (a JSON array) carry the price; a missing one becomes 0.0."""
    props, contact = _deal(event["objectId"])
    price = float(props.get("amount") or 0)
    resp = requests.post(f"{ZENDESK}/api/v2/tickets.json", auth=("ops@acme.example/token", "zd"), timeout=10,
                         json={"ticket": {"subject": f"Won: {props.get('dealname')}",
                                          "external_id": f"deal-{event['objectId']}",
                                          "comment": {"body": "onboarding"},
                                          "requester": {"name": contact.get("firstname") or "x",
                                                        "email": contact.get("email") or "x@example.com"},
                                          "custom_fields": [{"id": 360001, "value": "plan"},
                                                            {"id": 360002, "value": price}]}})
    resp.raise_for_status()
    return {"status": "ok"}


def reports_errors_on_the_deal(event: dict) -> dict:
    """Bill, then mark the deal invoiced; on any failure, write the error on the deal and fail."""
    deal_id = event["objectId"]
    url = f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}"
    try:
        props, contact = _deal(deal_id)
        customer = requests.post(f"{STRIPE}/v1/customers", auth=("sk_test_p", ""), timeout=10,
                                 headers={"Idempotency-Key": f"p-{deal_id}"},
                                 data={"email": contact.get("email"), "name": props.get("dealname")})
        customer.raise_for_status()
        cus = customer.json()["id"]
    except requests.RequestException as exc:
        requests.patch(url, headers=HS, timeout=10,
                       json={"properties": {"billing_error": str(exc)[:200]}})
        raise
    requests.patch(url, headers=HS, timeout=10,
                   json={"properties": {"stripe_customer": cus, "billing_status": "invoiced"}}).raise_for_status()
    return {"status": "ok"}


def lets_stripe_validate(event: dict) -> dict:
    """Create the customer, then the invoice item with whatever amount the CRM had: Stripe validates."""
    deal_id = event["objectId"]
    props, contact = _deal(deal_id)
    auth = ("sk_test_v", "")
    customer = requests.post(f"{STRIPE}/v1/customers", auth=auth, timeout=10,
                             headers={"Idempotency-Key": f"lv-c-{deal_id}"},
                             data={"email": contact.get("email") or "", "name": props.get("dealname")})
    customer.raise_for_status()
    item = requests.post(f"{STRIPE}/v1/invoiceitems", auth=auth, timeout=10,
                         headers={"Idempotency-Key": f"lv-i-{deal_id}"},
                         data={"customer": customer.json()["id"], "amount": props.get("amount") or "",
                               "currency": "usd"})
    item.raise_for_status()
    return {"status": "ok"}
