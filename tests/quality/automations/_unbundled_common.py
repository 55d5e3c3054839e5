"""Shared by the unbundled-system automations: read and validate the won deal (timeouts, backoff)."""

import re
import time

import requests

HUBSPOT = "https://api.hubapi.com"
BOOKS = "https://books.example.internal/api/2.0/Invoices"
PARCEL = "https://api.parcel.example/v1/customers/{cid}/shipments"
RETRYABLE = {429, 500, 502, 503, 504}
TIMEOUT = (3.05, 10)


class InvalidDeal(ValueError):
    pass


def call(method, url, attempts=5, **kwargs):
    for attempt in range(1, attempts + 1):
        try:
            resp = requests.request(method, url, timeout=TIMEOUT, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == attempts:
                raise
            time.sleep(2**attempt)
            continue
        if resp.status_code in RETRYABLE and attempt < attempts:
            time.sleep(float(resp.headers.get("Retry-After") or 2**attempt))
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("unreachable")


def won_deal(event):
    """The deal, its contact's email and name, and its amount; ``None`` for another event."""
    deal_id = event.get("objectId")
    name, value = event.get("propertyName"), event.get("propertyValue")
    if not isinstance(deal_id, int) or not isinstance(name, str) or not isinstance(value, str) or not value:
        raise InvalidDeal(f"malformed webhook event: {event!r}")
    if name != "dealstage" or value != "closedwon":
        return None
    hs = {"Authorization": "Bearer pat-na1-unbundled"}
    deal = call("GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs,
                params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
    props = deal["properties"]
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = call("GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs,
                   params={"properties": "email,firstname,lastname"})["properties"]
    email = contact.get("email") or ""
    if "@" not in email:
        raise InvalidDeal(f"deal {deal_id}: contact {contact_id} has no valid email ({email!r})")
    try:
        amount = float(props.get("amount"))
    except (TypeError, ValueError):
        raise InvalidDeal(f"deal {deal_id}: amount {props.get('amount')!r} is not a number") from None
    if amount <= 0:
        raise InvalidDeal(f"deal {deal_id}: amount {amount} must be positive")
    currency = (props.get("deal_currency_code") or "usd").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidDeal(f"deal {deal_id}: currency {props.get('deal_currency_code')!r} is not an ISO code")
    full_name = " ".join(p for p in (contact.get("firstname"), contact.get("lastname")) if p) or email
    return {"id": deal_id, "contact": contact_id, "email": email, "name": full_name,
            "amount": round(amount, 2), "currency": currency}
