"""Deal won -> Stripe customer, invoice item, invoice; every other webhook is ignored.

The HubSpot subscription also sends other stage changes and other property
changes: the automation acts only on a deal whose stage became closedwon and
returns ``ignored`` for anything else (that is not an error: it is not its
event).  Calls have timeouts, transient answers are retried with backoff, and
every Stripe write carries an idempotency key derived from the deal.
"""

import os
import time

import requests

HUBSPOT = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")
HS_HEADERS = {"Authorization": "Bearer pat-na1-ignores"}
STRIPE_AUTH = ("sk_test_ignores", "")


class BadDeal(Exception):
    pass


def _send(method, url, **kwargs):
    for attempt in range(6):
        try:
            resp = requests.request(method, url, timeout=(3, 10), **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 5:
                raise
            time.sleep(1.5**attempt)
            continue
        if resp.status_code in (429, 500, 502, 503, 504) and attempt < 5:
            time.sleep(float(resp.headers.get("Retry-After") or 1.5**attempt))
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("unreachable")


def handle(event):
    if (
        event.get("subscriptionType") != "deal.propertyChange"
        or event.get("propertyName") != "dealstage"
        or event.get("propertyValue") != "closedwon"
    ):
        return {"status": "ignored", "reason": "not a won deal"}
    deal_id = event.get("objectId")
    if not isinstance(deal_id, int):
        raise BadDeal(f"won-deal event without a deal id: {event!r}")
    deal = _send("GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=HS_HEADERS,
                 params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _send("GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=HS_HEADERS,
                    params={"properties": "email,firstname,lastname"})["properties"]
    props = deal["properties"]
    email = contact.get("email")
    try:
        cents = round(float(props["amount"]) * 100)
    except (KeyError, TypeError, ValueError):
        raise BadDeal(f"deal {deal_id}: amount {props.get('amount')!r} is not a number") from None
    if not email or "@" not in email or cents <= 0:
        raise BadDeal(f"deal {deal_id}: email {email!r}, amount {props.get('amount')!r}")
    currency = (props.get("deal_currency_code") or "usd").lower()
    if len(currency) != 3 or not currency.isalpha():
        raise BadDeal(f"deal {deal_id}: currency {props.get('deal_currency_code')!r}")
    title = props.get("dealname") or f"deal {deal_id}"
    name = " ".join(p for p in (contact.get("firstname"), contact.get("lastname")) if p) or email

    def stripe(path, data, step):
        return _send("POST", STRIPE + path, data=data, auth=STRIPE_AUTH,
                     headers={"Idempotency-Key": f"deal-{deal_id}-{step}"})

    customer = stripe("/v1/customers", {"email": email, "name": name}, "customer")
    stripe("/v1/invoiceitems", {"customer": customer["id"], "amount": cents, "currency": currency,
                                "description": title}, "item")
    invoice = stripe("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                      "days_until_due": 30, "pending_invoice_items_behavior": "include"},
                     "invoice")
    return {"status": "ok", "invoice": invoice["id"]}
