"""Stripe invoice paid -> a note on the HubSpot contact and their deal -> a message in #sales.

Stripe calls our endpoint with every ``invoice.paid`` event. The account
manager wants to see the payment on the customer's timeline in HubSpot (a note
on the contact and on their latest deal) and the team likes a :moneybag: in
#sales.

Env:
    STRIPE_API_KEY       restricted key (customers: read)
    HUBSPOT_TOKEN        private app token (crm.objects.contacts.read/write, crm.objects.deals.read)
    SLACK_BOT_TOKEN
"""

import logging
import os

import requests

log = logging.getLogger("automations.stripe_paid_hubspot_slack")

STRIPE_BASE_URL = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")
STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY", "rk_test_00000000000000000000000000")
HUBSPOT_BASE_URL = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
HUBSPOT_TOKEN = os.environ.get("HUBSPOT_TOKEN", "pat-na1-00000000-0000-0000-0000-000000000000")
SLACK_BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN", "xoxb-1111-2222-stripepayments")

NOTE_TO_CONTACT = 202  # HubSpot-defined association types
NOTE_TO_DEAL = 214


def _stripe_customer(customer_id):
    # the invoice's customer_email is a copy from when it was finalized: ask for today's
    resp = requests.get(f"{STRIPE_BASE_URL}/v1/customers/{customer_id}", auth=(STRIPE_API_KEY, ""), timeout=10)
    resp.raise_for_status()
    return resp.json()


def _hubspot(method, path, **kwargs):
    resp = requests.request(method, HUBSPOT_BASE_URL + path,
                            headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}, **kwargs)
    resp.raise_for_status()
    return resp.json()


def _contact(email):
    found = _hubspot("POST", "/crm/v3/objects/contacts/search", json={
        "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}],
        "properties": ["email", "firstname", "lastname"],
        "limit": 1,
    })
    return found["results"][0] if found["results"] else None


def _latest_deal(contact_id):
    deals = _hubspot("GET", f"/crm/v4/objects/contacts/{contact_id}/associations/deals")["results"]
    return str(max(d["toObjectId"] for d in deals)) if deals else None


def _slack(text):
    resp = requests.post("https://slack.com/api/chat.postMessage", timeout=10,
                         headers={"Authorization": f"Bearer {SLACK_BOT_TOKEN}"},
                         json={"channel": "#sales", "text": text})
    resp.raise_for_status()
    body = resp.json()
    if not body.get("ok"):
        raise RuntimeError(f"slack: {body.get('error')}")


def handle(event):
    invoice = event["data"]["object"]
    amount = f"{invoice['amount_paid'] / 100:,.2f} {invoice['currency'].upper()}"
    customer = _stripe_customer(invoice["customer"])
    email = customer.get("email")
    who = customer.get("name") or email

    contact = _contact(email)
    if contact is None:
        log.warning("invoice %s: no HubSpot contact for %s", invoice["id"], email)
    else:
        to = [{"to": {"id": contact["id"]},
               "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT}]}]
        deal_id = _latest_deal(contact["id"])
        if deal_id:
            to.append({"to": {"id": deal_id},
                       "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_DEAL}]})
        _hubspot("POST", "/crm/v3/objects/notes", json={
            "properties": {
                "hs_timestamp": invoice["status_transitions"]["paid_at"] * 1000,
                "hs_note_body": f"Stripe invoice {invoice.get('number') or invoice['id']} paid: {amount}",
            },
            "associations": to,
        })

    _slack(f":moneybag: {who} paid {amount} (Stripe invoice {invoice.get('number') or invoice['id']})")
    return {"status": "ok", "contact": contact and contact["id"]}
