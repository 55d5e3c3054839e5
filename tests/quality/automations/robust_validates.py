"""Deal won -> Stripe invoice, validating everything before the first write.

Everything the writes need is read and checked first: a deal without a
positive amount or a name, a contact without an email or a currency that is
not an ISO code stops the run with an error naming the field, before
anything is written.  One ``requests.Session``; each call has a timeout;
network errors, 429 and 5xx are retried with backoff; each Stripe write
carries an idempotency key.
"""

import os
import re
import time

import requests

HUBSPOT = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")
TRANSIENT = {429, 500, 502, 503, 504}

SESSION = requests.Session()
SESSION.headers["User-Agent"] = "deal-won-validates/1.0"


class ValidationError(ValueError):
    pass


def _call(method, url, **kwargs):
    for attempt in range(6):
        try:
            resp = SESSION.request(method, url, timeout=8, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 5:
                raise
            time.sleep(2**attempt)
            continue
        if resp.status_code in TRANSIENT and attempt < 5:
            time.sleep(float(resp.headers.get("Retry-After") or 2**attempt))
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("unreachable")


def _hubspot(path, params):
    return _call("GET", HUBSPOT + path, params=params, headers={"Authorization": "Bearer pat-na1-validates"})


def _stripe(path, data, key):
    return _call("POST", STRIPE + path, data=data, auth=("sk_test_validates", ""),
                 headers={"Idempotency-Key": key})


def _validated(deal_id, deal, contact):
    props = deal.get("properties") or {}
    email = (contact.get("email") or "").strip()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ValidationError(f"deal {deal_id}: contact email {email!r} is not an address")
    raw = props.get("amount")
    try:
        amount = float(raw)
    except (TypeError, ValueError):
        raise ValidationError(f"deal {deal_id}: amount {raw!r} is not a number") from None
    if not amount > 0:
        raise ValidationError(f"deal {deal_id}: amount {raw!r} must be positive")
    currency = (props.get("deal_currency_code") or "usd").strip().lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise ValidationError(f"deal {deal_id}: currency {props.get('deal_currency_code')!r}")
    title = (props.get("dealname") or "").strip()
    if not title:
        raise ValidationError(f"deal {deal_id}: the deal has no name")
    first, last = contact.get("firstname") or "", contact.get("lastname") or ""
    return {"email": email, "cents": round(amount * 100), "currency": currency, "title": title,
            "name": f"{first} {last}".strip() or email}


def handle(event):
    deal_id = event.get("objectId")
    if event.get("propertyValue") != "closedwon" or event.get("propertyName") != "dealstage":
        raise ValidationError(f"not a won-deal event: {event!r}")
    if not isinstance(deal_id, int):
        raise ValidationError(f"event objectId {deal_id!r} is not a deal id")
    deal = _hubspot(f"/crm/v3/objects/deals/{deal_id}",
                    {"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _hubspot(f"/crm/v3/objects/contacts/{contact_id}",
                       {"properties": "email,firstname,lastname"})["properties"]
    v = _validated(deal_id, deal, contact)
    customer = _stripe("/v1/customers", {"email": v["email"], "name": v["name"]}, f"v-cus-{deal_id}")
    _stripe("/v1/invoiceitems", {"customer": customer["id"], "amount": v["cents"], "currency": v["currency"],
                                 "description": v["title"]}, f"v-ii-{deal_id}")
    invoice = _stripe("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                       "days_until_due": 14, "pending_invoice_items_behavior": "include"},
                      f"v-inv-{deal_id}")
    invoice = _stripe(f"/v1/invoices/{invoice['id']}/finalize", {}, f"v-fin-{deal_id}")
    return {"status": "ok", "invoice": invoice["id"]}
