"""Deal won -> Stripe invoice -> Zendesk onboarding ticket.

Every call has a connect/read timeout.  Transient answers (429, 5xx, network
errors) are retried with exponential backoff, honouring Retry-After; other
4xx answers stop the run.  Stripe writes carry idempotency keys derived from
the deal, and the Zendesk ticket is looked up by external_id before it is
created, so a repeated webhook or a retried request never bills twice.
"""

import os
import re
import time

import requests

HUBSPOT = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")
ZENDESK = os.environ.get("ZENDESK_BASE_URL", "https://acme.zendesk.com")
HUBSPOT_AUTH = {"Authorization": "Bearer " + os.environ.get("HUBSPOT_TOKEN", "pat-na1-test")}
STRIPE_AUTH = (os.environ.get("STRIPE_API_KEY", "sk_test_robust"), "")
ZENDESK_AUTH = ("ops@acme.example/token", os.environ.get("ZENDESK_TOKEN", "zd-token"))

TIMEOUT = (3.05, 10)
ATTEMPTS = 5
RETRY_STATUSES = {429, 500, 502, 503, 504}


class InvalidDeal(ValueError):
    pass


def _request(method, url, attempts=ATTEMPTS, **kwargs):
    for attempt in range(1, attempts + 1):
        try:
            resp = requests.request(method, url, timeout=TIMEOUT, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == attempts:
                raise
            time.sleep(2**attempt)
            continue
        if resp.status_code in RETRY_STATUSES and attempt < attempts:
            time.sleep(float(resp.headers.get("Retry-After") or 2**attempt))
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("unreachable")


def _stripe(path, data, key):
    return _request("POST", STRIPE + path, data=data, auth=STRIPE_AUTH, headers={"Idempotency-Key": key})


def _ticket(payload):
    external_id = payload["ticket"]["external_id"]
    for attempt in range(1, ATTEMPTS + 1):
        found = _request(
            "GET", ZENDESK + "/api/v2/tickets.json", params={"external_id": external_id}, auth=ZENDESK_AUTH
        )
        if found["tickets"]:
            return found["tickets"][0]
        # one create per lookup: after a lost answer the ticket may exist already
        try:
            resp = requests.post(
                ZENDESK + "/api/v2/tickets.json", json=payload, auth=ZENDESK_AUTH, timeout=TIMEOUT
            )
        except (requests.ConnectionError, requests.Timeout):
            if attempt == ATTEMPTS:
                raise
            time.sleep(2**attempt)
            continue
        if resp.status_code in RETRY_STATUSES and attempt < ATTEMPTS:
            time.sleep(float(resp.headers.get("Retry-After") or 2**attempt))
            continue
        resp.raise_for_status()
        return resp.json()["ticket"]
    raise RuntimeError("unreachable")


def handle(event):
    deal_id = event.get("objectId")
    name, value = event.get("propertyName"), event.get("propertyValue")
    if not isinstance(deal_id, int) or not isinstance(name, str) or not isinstance(value, str) or not value:
        raise InvalidDeal(f"malformed webhook event: {event!r}")
    if name != "dealstage" or value != "closedwon":
        return {"status": "ignored"}

    deal = _request(
        "GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}",
        params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"},
        headers=HUBSPOT_AUTH,
    )
    props = deal["properties"]
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _request(
        "GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}",
        params={"properties": "email,firstname,lastname,company"}, headers=HUBSPOT_AUTH,
    )["properties"]

    email = contact.get("email") or ""
    if "@" not in email:
        raise InvalidDeal(f"deal {deal_id}: contact {contact_id} has no valid email ({email!r})")
    try:
        amount = float(props.get("amount"))
    except (TypeError, ValueError):
        raise InvalidDeal(f"deal {deal_id}: amount {props.get('amount')!r} is not a number") from None
    if amount <= 0:
        raise InvalidDeal(f"deal {deal_id}: amount {amount} must be positive")
    amount_cents = int(round(amount * 100))
    currency = (props.get("deal_currency_code") or "usd").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise InvalidDeal(f"deal {deal_id}: currency {props.get('deal_currency_code')!r} is not an ISO code")
    full_name = " ".join(p for p in (contact.get("firstname"), contact.get("lastname")) if p) or email
    title = props.get("dealname") or f"HubSpot deal {deal_id}"

    key = f"hubspot-deal-{deal_id}"
    customer = _stripe(
        "/v1/customers",
        {"email": email, "name": full_name, "description": contact.get("company") or title,
         "metadata[hubspot_contact_id]": contact_id},
        f"{key}-customer",
    )
    _stripe(
        "/v1/invoiceitems",
        {"customer": customer["id"], "amount": amount_cents, "currency": currency,
         "description": title, "metadata[hubspot_deal_id]": deal_id},
        f"{key}-item",
    )
    invoice = _stripe(
        "/v1/invoices",
        {"customer": customer["id"], "collection_method": "send_invoice", "days_until_due": 30,
         "pending_invoice_items_behavior": "include", "metadata[hubspot_deal_id]": deal_id},
        f"{key}-invoice",
    )
    invoice = _stripe(f"/v1/invoices/{invoice['id']}/finalize", {}, f"{key}-finalize")
    ticket = _ticket(
        {
            "ticket": {
                "subject": f"Onboarding: {title}",
                "comment": {"body": f"New customer {full_name} ({email}). Invoice {invoice.get('number') or invoice['id']} "
                                    f"for {amount_cents / 100:.2f} {currency.upper()}."},
                "requester": {"name": full_name, "email": email},
                "external_id": key,
                "tags": ["onboarding", "deal_won"],
            }
        }
    )
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["id"]}
