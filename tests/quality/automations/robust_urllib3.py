"""Deal won -> Stripe invoice -> Zendesk ticket straight on urllib3, with its Retry.

One PoolManager with connect/read timeouts and a urllib3 Retry: connection
and read errors and transient statuses (429, 5xx, honouring Retry-After) are
retried with exponential backoff, for every method, because every Stripe
write carries an idempotency key derived from the deal.  The Zendesk ticket
create is the exception: it is sent without read retries, after a search by
external_id, so a lost answer is found by the next search instead of being
created twice.
"""

import json
import os
import re
import time
from base64 import b64encode
from urllib.parse import urlencode

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.util.retry import Retry

HUBSPOT = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")
ZENDESK = os.environ.get("ZENDESK_BASE_URL", "https://acme.zendesk.com")
TRANSIENT = (429, 500, 502, 503, 504)
RETRY = Retry(total=5, backoff_factor=2.0, status_forcelist=TRANSIENT, allowed_methods=None,
              raise_on_status=False)
# the ticket create: connect failures only (nothing was sent); a read error or a 5xx is
# resolved by searching for the ticket again
CREATE_RETRY = Retry(total=3, connect=3, read=False, status=0, other=0, backoff_factor=1.0)
HTTP = urllib3.PoolManager(retries=RETRY, timeout=urllib3.Timeout(connect=3.05, read=10))
ZENDESK_AUTH = "Basic " + b64encode(b"ops@acme.example/token:zd").decode()


class InvalidDeal(ValueError):
    pass


def _json(resp, method, url):
    if resp.status >= 400:
        raise RuntimeError(f"{method} {url} answered {resp.status}: {resp.data[:200]!r}")
    return json.loads(resp.data)


def _get(url, headers, fields):
    return _json(HTTP.request("GET", url, headers=headers, fields=fields), "GET", url)


def _stripe(path, data, key):
    headers = {"Authorization": "Basic " + b64encode(b"sk_test_u3robust:").decode(),
               "Idempotency-Key": key, "Content-Type": "application/x-www-form-urlencoded"}
    return _json(HTTP.request("POST", STRIPE + path, body=urlencode(data), headers=headers), "POST", path)


def _ticket(payload):
    external_id = payload["ticket"]["external_id"]
    headers = {"Authorization": ZENDESK_AUTH}
    for attempt in range(1, 6):
        found = _get(ZENDESK + "/api/v2/tickets.json", headers, {"external_id": external_id})
        if found["tickets"]:
            return found["tickets"][0]
        try:
            resp = HTTP.request("POST", ZENDESK + "/api/v2/tickets.json", body=json.dumps(payload),
                                headers={**headers, "Content-Type": "application/json"},
                                retries=CREATE_RETRY)
        except HTTPError:
            if attempt == 5:
                raise
            time.sleep(2**attempt)
            continue
        if resp.status in TRANSIENT and attempt < 5:
            time.sleep(float(resp.headers.get("Retry-After") or 2**attempt))
            continue
        return _json(resp, "POST", "/api/v2/tickets.json")["ticket"]
    raise RuntimeError("unreachable")


def handle(event):
    deal_id = event.get("objectId")
    name, value = event.get("propertyName"), event.get("propertyValue")
    if not isinstance(deal_id, int) or not isinstance(name, str) or not isinstance(value, str) or not value:
        raise InvalidDeal(f"malformed webhook event: {event!r}")
    if name != "dealstage" or value != "closedwon":
        return {"status": "ignored"}
    hs = {"Authorization": "Bearer pat-na1-u3robust"}
    deal = _get(f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", hs,
                {"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
    props = deal["properties"]
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _get(f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", hs,
                   {"properties": "email,firstname,lastname,company"})["properties"]
    email = contact.get("email") or ""
    if "@" not in email:
        raise InvalidDeal(f"deal {deal_id}: contact {contact_id} has no valid email ({email!r})")
    try:
        amount = float(props.get("amount"))
    except (TypeError, ValueError):
        raise InvalidDeal(f"deal {deal_id}: amount {props.get('amount')!r} is not a number") from None
    if amount <= 0:
        raise InvalidDeal(f"deal {deal_id}: amount {amount} must be positive")
    cents = int(round(amount * 100))
    currency = (props.get("deal_currency_code") or "usd").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise InvalidDeal(f"deal {deal_id}: currency {props.get('deal_currency_code')!r} is not an ISO code")
    who = " ".join(p for p in (contact.get("firstname"), contact.get("lastname")) if p) or email
    title = props.get("dealname") or f"HubSpot deal {deal_id}"
    key = f"hubspot-deal-{deal_id}"
    customer = _stripe("/v1/customers", {"email": email, "name": who,
                                         "description": contact.get("company") or title}, f"{key}-customer")
    _stripe("/v1/invoiceitems", {"customer": customer["id"], "amount": cents, "currency": currency,
                                 "description": title}, f"{key}-item")
    invoice = _stripe("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                       "days_until_due": 30, "pending_invoice_items_behavior": "include"},
                      f"{key}-invoice")
    invoice = _stripe(f"/v1/invoices/{invoice['id']}/finalize", {}, f"{key}-finalize")
    ticket = _ticket({"ticket": {
        "subject": f"Onboarding: {title}", "external_id": key,
        "comment": {"body": f"New customer {who} ({email}). Invoice {invoice['id']} "
                            f"for {cents / 100:.2f} {currency.upper()}."},
        "requester": {"name": who, "email": email},
    }})
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["id"]}
