"""The deal-won automation written to survive a bad day, for the gate's end-to-end tests.

Same systems, same effects as ``scenarios/deal_won/automation.py``; the
differences are the point:

* every call has a timeout, and only transient failures (timeouts, connection
  errors, 429, 5xx) are retried, a bounded number of times, honouring
  ``Retry-After``; a 4xx is never retried;
* every Stripe POST carries an ``Idempotency-Key`` derived from the deal, so a
  retry after a timeout the server already acted on, or a second delivery of
  the same deal, replays the first result instead of billing twice;
* the Zendesk ticket is searched by ``external_id`` before it is created, on
  every attempt, so a retried or repeated create finds the first ticket;
* a deal without an email, amount or currency stops before the first write
  with an error, instead of billing 0 or guessing a currency.

``flow`` is the scenario's flow declaration with this automation in place of
the fragile one (same name, so the same gate file applies).
"""

import dataclasses
import os
import time
from pathlib import Path

import requests

from harness.flow import load_flow

HUBSPOT_BASE_URL = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE_BASE_URL = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")
ZENDESK_BASE_URL = os.environ.get("ZENDESK_BASE_URL", "https://acme.zendesk.com")
HUBSPOT_TOKEN = os.environ.get("HUBSPOT_TOKEN", "pat-na1-00000000-0000-0000-0000-000000000000")
STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY", "sk_test_00000000000000000000000000")
ZENDESK_EMAIL = os.environ.get("ZENDESK_EMAIL", "ops@acme.example")
ZENDESK_TOKEN = os.environ.get("ZENDESK_TOKEN", "0000000000000000000000000000000000000000")

ATTEMPTS = 4
TIMEOUT = (3.05, 10)
PAYMENT_TERMS_DAYS = 30


class MissingValue(ValueError):
    """The CRM record lacks a value the invoice needs: a person must fix the deal."""


def _transient(resp):
    return resp.status_code == 429 or resp.status_code >= 500


def _pause(attempt, resp=None):
    delay = 2.0**attempt
    if resp is not None and resp.headers.get("Retry-After", "").isdigit():
        delay = float(resp.headers["Retry-After"])
    time.sleep(min(delay, 60.0))


def _request(method, url, **kwargs):
    """One HTTP call with a timeout; transient failures retried up to ATTEMPTS times."""
    kwargs.setdefault("timeout", TIMEOUT)
    for attempt in range(ATTEMPTS):
        try:
            resp = requests.request(method, url, **kwargs)
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError):
            if attempt == ATTEMPTS - 1:
                raise
            _pause(attempt)
            continue
        if _transient(resp) and attempt < ATTEMPTS - 1:
            _pause(attempt, resp)
            continue
        resp.raise_for_status()
        return resp.json()
    raise AssertionError("unreachable")


def _hubspot(path, properties, associations=None):
    params = {"properties": properties}
    if associations:
        params["associations"] = associations
    return _request(
        "GET",
        HUBSPOT_BASE_URL + path,
        params=params,
        headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"},
    )


def _stripe(path, data, key):
    return _request(
        "POST",
        STRIPE_BASE_URL + path,
        data=data,
        auth=(STRIPE_API_KEY, ""),
        headers={"Idempotency-Key": key},
    )


def _ticket(deal_id, payload):
    """Find the deal's onboarding ticket by external id, else create it; safe to repeat."""
    auth = (f"{ZENDESK_EMAIL}/token", ZENDESK_TOKEN)
    external_id = payload["ticket"]["external_id"]
    for attempt in range(ATTEMPTS):
        try:
            found = _request(
                "GET",
                ZENDESK_BASE_URL + "/api/v2/tickets.json",
                params={"external_id": external_id},
                auth=auth,
            )
            if found.get("tickets"):
                return found["tickets"][0]
            resp = requests.post(
                ZENDESK_BASE_URL + "/api/v2/tickets.json", json=payload, auth=auth, timeout=TIMEOUT
            )
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError):
            if attempt == ATTEMPTS - 1:
                raise
            _pause(attempt)
            continue
        if _transient(resp) and attempt < ATTEMPTS - 1:
            _pause(attempt, resp)
            continue
        resp.raise_for_status()
        return resp.json()["ticket"]
    raise AssertionError("unreachable")


def handle(event):
    if event.get("propertyName") != "dealstage" or event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}
    deal_id = str(event["objectId"])
    deal = _hubspot(
        f"/crm/v3/objects/deals/{deal_id}", "dealname,amount,deal_currency_code", "contacts"
    )
    props = deal["properties"]
    results = (deal.get("associations") or {}).get("contacts", {}).get("results") or []
    if not results:
        raise MissingValue(f"deal {deal_id} has no associated contact")
    contact_id = results[0]["id"]
    contact = _hubspot(
        f"/crm/v3/objects/contacts/{contact_id}", "email,firstname,lastname,company"
    )["properties"]

    email = (contact.get("email") or "").strip()
    amount = (props.get("amount") or "").strip()
    currency = (props.get("deal_currency_code") or "").strip().lower()
    try:
        amount_cents = round(float(amount) * 100)
    except ValueError:
        amount_cents = 0
    if not email or "@" not in email:
        raise MissingValue(f"deal {deal_id}: contact {contact_id} has no valid email ({email!r})")
    if amount_cents <= 0:
        raise MissingValue(f"deal {deal_id}: amount {amount!r} is not a positive number")
    if len(currency) != 3 or not currency.isalpha():
        raise MissingValue(f"deal {deal_id}: currency {currency!r} is not an ISO code")
    name = " ".join(p for p in (contact.get("firstname"), contact.get("lastname")) if p) or email
    dealname = props.get("dealname") or f"deal {deal_id}"

    key = f"deal-won-{deal_id}"
    customer = _stripe(
        "/v1/customers",
        {
            "email": email,
            "name": name,
            "description": contact.get("company") or "",
            "metadata[hubspot_contact_id]": contact_id,
            "metadata[hubspot_deal_id]": deal_id,
        },
        f"{key}-customer",
    )
    _stripe(
        "/v1/invoiceitems",
        {
            "customer": customer["id"],
            "amount": amount_cents,
            "currency": currency,
            "description": dealname,
            "metadata[hubspot_deal_id]": deal_id,
        },
        f"{key}-invoiceitem",
    )
    invoice = _stripe(
        "/v1/invoices",
        {
            "customer": customer["id"],
            "collection_method": "send_invoice",
            "days_until_due": PAYMENT_TERMS_DAYS,
            "pending_invoice_items_behavior": "include",
            "metadata[hubspot_deal_id]": deal_id,
        },
        f"{key}-invoice",
    )
    invoice = _stripe(f"/v1/invoices/{invoice['id']}/finalize", {}, f"{key}-finalize")
    ticket = _ticket(
        deal_id,
        {
            "ticket": {
                "subject": f"Onboarding: {dealname}",
                "comment": {
                    "body": (
                        f"New customer {name} ({email}) from deal {deal_id}.\n"
                        f"Invoice {invoice.get('number') or invoice['id']} for "
                        f"{amount_cents / 100:.2f} {currency.upper()}."
                    )
                },
                "requester": {"name": name, "email": email},
                "external_id": f"hubspot-deal-{deal_id}",
                "tags": ["onboarding", "deal_won"],
            }
        },
    )
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["id"]}


_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "deal_won" / "flow.py"
flow = dataclasses.replace(load_flow(str(_SCENARIO)), automation=handle)
