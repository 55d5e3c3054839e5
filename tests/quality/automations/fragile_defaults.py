"""Deal won -> Stripe invoice line.  Missing CRM fields fall back to defaults."""

import requests

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"


def handle(event):
    if event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}
    deal_id = event["objectId"]
    hs = {"Authorization": "Bearer pat"}
    deal = requests.get(f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs, timeout=10,
                        params={"properties": "dealname,amount", "associations": "contacts"})
    deal.raise_for_status()
    deal = deal.json()
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = requests.get(f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs, timeout=10,
                           params={"properties": "email,firstname,lastname"})
    contact.raise_for_status()
    contact = contact.json()["properties"]
    props = deal["properties"]
    amount = float(props.get("amount") or 0)
    customer = requests.post(f"{STRIPE}/v1/customers", auth=("sk_test_def", ""), timeout=10,
                             headers={"Idempotency-Key": f"c-{deal_id}"},
                             data={"email": contact.get("email") or "",
                                   "name": f"{contact.get('firstname')} {contact.get('lastname')}"})
    customer.raise_for_status()
    item = requests.post(f"{STRIPE}/v1/invoiceitems", auth=("sk_test_def", ""), timeout=10,
                         headers={"Idempotency-Key": f"i-{deal_id}"},
                         data={"customer": customer.json()["id"], "amount": int(amount * 100), "currency": "usd",
                               "description": str(props.get("dealname"))})
    item.raise_for_status()
    return {"status": "ok", "item": item.json()["id"]}
