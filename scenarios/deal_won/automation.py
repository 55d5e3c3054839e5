"""Deal won -> Stripe invoice -> Zendesk onboarding ticket.

Called by our webhook endpoint for every HubSpot `deal.propertyChange` event.
When a deal moves to "closedwon" we bill the customer in Stripe and open an
onboarding ticket in Zendesk that carries the invoice number, so the CS team
can see what the customer bought.

Env:
    HUBSPOT_TOKEN            private app token (crm.objects.deals.read, contacts.read)
    STRIPE_API_KEY           secret key
    ZENDESK_EMAIL, ZENDESK_TOKEN
    HUBSPOT_BASE_URL, STRIPE_BASE_URL, ZENDESK_BASE_URL   (override for staging)
"""

import logging
import os
import time

import requests

log = logging.getLogger("automations.deal_won")

HUBSPOT_BASE_URL = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE_BASE_URL = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")
ZENDESK_BASE_URL = os.environ.get("ZENDESK_BASE_URL", "https://acme.zendesk.com")

HUBSPOT_TOKEN = os.environ.get("HUBSPOT_TOKEN", "pat-na1-00000000-0000-0000-0000-000000000000")
STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY", "sk_test_00000000000000000000000000")
ZENDESK_EMAIL = os.environ.get("ZENDESK_EMAIL", "ops@acme.example")
ZENDESK_TOKEN = os.environ.get("ZENDESK_TOKEN", "0000000000000000000000000000000000000000")

PAYMENT_TERMS_DAYS = 30


def _hubspot_get(path, params=None):
    resp = requests.get(
        HUBSPOT_BASE_URL + path,
        params=params,
        headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"},
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()


def _stripe_post(path, data):
    # Stripe is flaky from our region sometimes; give it a couple of tries.
    for attempt in range(3):
        try:
            resp = requests.post(
                STRIPE_BASE_URL + path,
                data=data,
                auth=(STRIPE_API_KEY, ""),
                timeout=15,
            )
            resp.raise_for_status()
            return resp.json()
        except requests.exceptions.RequestException as exc:
            log.warning("stripe %s failed (attempt %d): %s", path, attempt + 1, exc)
            if attempt == 2:
                raise
            time.sleep(2 ** attempt)


def _zendesk_post(path, payload):
    resp = requests.post(
        ZENDESK_BASE_URL + path,
        json=payload,
        auth=(f"{ZENDESK_EMAIL}/token", ZENDESK_TOKEN),
    )
    resp.raise_for_status()
    return resp.json()


def handle(event):
    if event.get("propertyName") != "dealstage" or event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}

    deal_id = event["objectId"]
    deal = _hubspot_get(
        f"/crm/v3/objects/deals/{deal_id}",
        params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"},
    )
    props = deal["properties"]
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _hubspot_get(
        f"/crm/v3/objects/contacts/{contact_id}",
        params={"properties": "email,firstname,lastname,company"},
    )["properties"]

    name = f"{contact.get('firstname')} {contact.get('lastname')}"
    customer = _stripe_post(
        "/v1/customers",
        {
            "email": contact.get("email"),
            "name": name,
            "description": contact.get("company"),
            "metadata[hubspot_contact_id]": contact_id,
        },
    )

    currency = (props.get("deal_currency_code") or "usd").lower()
    amount_cents = int(round(float(props.get("amount") or 0) * 100))
    _stripe_post(
        "/v1/invoiceitems",
        {
            "customer": customer["id"],
            "amount": amount_cents,
            "currency": currency,
            "description": props.get("dealname"),
            "metadata[hubspot_deal_id]": deal_id,
        },
    )
    invoice = _stripe_post(
        "/v1/invoices",
        {
            "customer": customer["id"],
            "collection_method": "send_invoice",
            "days_until_due": PAYMENT_TERMS_DAYS,
            "pending_invoice_items_behavior": "include",
            "metadata[hubspot_deal_id]": deal_id,
        },
    )
    invoice = _stripe_post(f"/v1/invoices/{invoice['id']}/finalize", {})

    ticket = _zendesk_post(
        "/api/v2/tickets.json",
        {
            "ticket": {
                "subject": f"Onboarding: {props.get('dealname')}",
                "comment": {
                    "body": (
                        f"New customer {name} ({contact.get('email')}) from deal {deal_id}.\n"
                        f"Invoice {invoice.get('number') or invoice['id']} for "
                        f"{amount_cents / 100:.2f} {currency.upper()}."
                    )
                },
                "requester": {"name": name, "email": contact.get("email")},
                "external_id": f"hubspot-deal-{deal_id}",
                "tags": ["onboarding", "deal_won"],
            }
        },
    )
    log.info("deal %s: invoice %s, ticket %s", deal_id, invoice["id"], ticket["ticket"]["id"])
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["ticket"]["id"]}
