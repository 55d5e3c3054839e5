"""Deal won -> Stripe invoice.  Idempotent writes, strict validation."""

import requests

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"


def handle(event):
    deal_id = event.get("objectId")
    if not isinstance(deal_id, int) or event.get("propertyName") != "dealstage":
        raise ValueError(f"unexpected event {event!r}")
    if event.get("propertyValue") != "closedwon":
        raise ValueError(f"deal {deal_id} not won")
    hs = {"Authorization": "Bearer pat"}
    deal = requests.get(f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs, timeout=10,
                        params={"properties": "amount,dealname", "associations": "contacts"})
    deal.raise_for_status()
    deal = deal.json()
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = requests.get(f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs, timeout=10,
                           params={"properties": "email"})
    contact.raise_for_status()
    email = contact.json()["properties"].get("email") or ""
    amount = float(deal["properties"].get("amount") or "nan")
    if "@" not in email or not amount > 0:
        raise ValueError(f"deal {deal_id}: unusable email or amount")
    auth = ("sk_test_noretry", "")
    customer = requests.post(f"{STRIPE}/v1/customers", auth=auth, timeout=10, data={"email": email},
                             headers={"Idempotency-Key": f"deal-{deal_id}-customer"})
    customer.raise_for_status()
    item = requests.post(f"{STRIPE}/v1/invoiceitems", auth=auth, timeout=10,
                         data={"customer": customer.json()["id"], "amount": round(amount * 100),
                               "currency": "usd"},
                         headers={"Idempotency-Key": f"deal-{deal_id}-item"})
    item.raise_for_status()
    invoice = requests.post(f"{STRIPE}/v1/invoices", auth=auth, timeout=10,
                            data={"customer": customer.json()["id"], "pending_invoice_items_behavior": "include"},
                            headers={"Idempotency-Key": f"deal-{deal_id}-invoice"})
    invoice.raise_for_status()
    return {"status": "ok", "invoice": invoice.json()["id"]}
