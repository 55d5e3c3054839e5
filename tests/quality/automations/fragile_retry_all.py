"""Deal won -> Stripe customer and invoice; every call gets four tries."""

import time

import requests

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"


def with_retries(fn, *args, **kwargs):
    delay = 1
    for attempt in range(4):
        try:
            resp = fn(*args, timeout=10, **kwargs)
            resp.raise_for_status()
            return resp.json()
        except Exception:
            if attempt == 3:
                raise
            time.sleep(delay)
            delay *= 2


def handle(event):
    if event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}
    deal_id = event["objectId"]
    hs = {"Authorization": "Bearer pat"}
    deal = with_retries(requests.get, f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs,
                        params={"properties": "amount", "associations": "contacts"})
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = with_retries(requests.get, f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs,
                           params={"properties": "email"})["properties"]
    if not contact.get("email") or not deal["properties"].get("amount"):
        raise ValueError(f"deal {deal_id} is incomplete")
    auth = ("sk_test_retry", "")
    customer = with_retries(requests.post, f"{STRIPE}/v1/customers", auth=auth,
                            data={"email": contact["email"]}, headers={"Idempotency-Key": f"c{deal_id}"})
    with_retries(requests.post, f"{STRIPE}/v1/invoiceitems", auth=auth,
                 data={"customer": customer["id"], "currency": "usd",
                       "amount": int(float(deal["properties"]["amount"]) * 100)},
                 headers={"Idempotency-Key": f"i{deal_id}"})
    invoice = with_retries(requests.post, f"{STRIPE}/v1/invoices", auth=auth,
                           data={"customer": customer["id"], "pending_invoice_items_behavior": "include"},
                           headers={"Idempotency-Key": f"v{deal_id}"})
    return {"status": "ok", "invoice": invoice["id"]}
