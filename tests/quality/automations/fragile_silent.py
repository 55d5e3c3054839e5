"""Deal won -> Stripe invoice -> Zendesk ticket.

Billing is what matters: the onboarding ticket is best effort, a Zendesk
hiccup is logged for the CS team and does not fail the webhook.
"""

import logging

import requests

log = logging.getLogger("automations.deal_won_quiet")

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"
ZENDESK = "https://acme.zendesk.com"


def _get(path, **params):
    resp = requests.get(HUBSPOT + path, params=params, headers={"Authorization": "Bearer pat"}, timeout=10)
    resp.raise_for_status()
    return resp.json()


def _stripe(path, data, key):
    resp = requests.post(STRIPE + path, data=data, auth=("sk_test_quiet", ""), timeout=15,
                         headers={"Idempotency-Key": key})
    resp.raise_for_status()
    return resp.json()


def handle(event):
    if event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}
    deal_id = event["objectId"]
    deal = _get(f"/crm/v3/objects/deals/{deal_id}", properties="dealname,amount,deal_currency_code",
                associations="contacts")
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _get(f"/crm/v3/objects/contacts/{contact_id}", properties="email,firstname,lastname")["properties"]
    props = deal["properties"]
    email = contact["email"]
    if not email or not props.get("amount"):
        raise ValueError(f"deal {deal_id} is missing an email or an amount")
    customer = _stripe("/v1/customers", {"email": email}, f"d{deal_id}-c")
    _stripe("/v1/invoiceitems", {"customer": customer["id"], "amount": int(float(props["amount"]) * 100),
                                 "currency": "usd"}, f"d{deal_id}-i")
    invoice = _stripe("/v1/invoices", {"customer": customer["id"], "pending_invoice_items_behavior": "include"},
                      f"d{deal_id}-v")
    try:
        resp = requests.post(
            ZENDESK + "/api/v2/tickets.json",
            json={"ticket": {"subject": f"Onboarding {props.get('dealname')}", "external_id": f"deal-{deal_id}",
                             "comment": {"body": f"invoice {invoice['id']}"},
                             "requester": {"email": email}}},
            auth=("ops@acme.example/token", "zd"),
            timeout=10,
        )
        resp.raise_for_status()
    except requests.RequestException:
        log.exception("could not open the onboarding ticket for deal %s", deal_id)
    return {"status": "ok", "invoice": invoice["id"]}
