"""Deal won -> Stripe invoice with httpx; idempotency keys make every retry safe.

One ``httpx.Client`` with explicit timeouts.  Each Stripe write carries a key
derived from the deal and the step, so a retried request (after a timeout
whose request did reach Stripe, or a redelivered webhook) is answered from
Stripe's record instead of charging twice.  The retry loop covers network
errors, 429 and 5xx, honouring Retry-After.
"""

import os
import time

import httpx

HUBSPOT = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")

CLIENT = httpx.Client(timeout=httpx.Timeout(8.0, connect=2.0))


class Rejected(Exception):
    pass


def _request(method, url, **kwargs):
    delay = 0.5
    for attempt in range(7):
        try:
            resp = CLIENT.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == 6:
                raise
        else:
            if resp.status_code < 400:
                return resp.json()
            if resp.status_code not in (429, 500, 502, 503, 504) or attempt == 6:
                raise Rejected(f"{method} {url} -> {resp.status_code}: {resp.text[:200]}")
            delay = float(resp.headers.get("Retry-After") or delay)
        time.sleep(delay)
        delay = min(delay * 2, 20)
    raise RuntimeError("unreachable")


def handle(event):
    if event.get("propertyName") != "dealstage" or event.get("propertyValue") != "closedwon":
        raise Rejected(f"unexpected event: {event!r}")
    deal_id = event["objectId"]
    if not isinstance(deal_id, int):
        raise Rejected(f"objectId {deal_id!r}")
    hs = {"Authorization": "Bearer pat-na1-idem"}
    deal = _request("GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs,
                    params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _request("GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs,
                       params={"properties": "email,firstname,lastname"})["properties"]
    props = deal["properties"]
    email = contact.get("email") or ""
    try:
        cents = int(round(float(props.get("amount")) * 100))
    except (TypeError, ValueError):
        raise Rejected(f"deal {deal_id}: amount {props.get('amount')!r}") from None
    currency = (props.get("deal_currency_code") or "usd").lower()
    if "@" not in email or cents <= 0 or len(currency) != 3 or not currency.isalpha():
        raise Rejected(f"deal {deal_id}: email {email!r} amount {cents} currency {currency!r}")
    title = props.get("dealname") or f"Deal {deal_id}"
    auth = ("sk_test_idem", "")

    def write(path, data, step):
        return _request("POST", STRIPE + path, data=data, auth=auth,
                        headers={"Idempotency-Key": f"hubspot:{deal_id}:{step}"})

    customer = write("/v1/customers", {"email": email, "name": contact.get("firstname") or email}, "customer")
    write("/v1/invoiceitems", {"customer": customer["id"], "amount": cents, "currency": currency,
                               "description": title}, "item")
    invoice = write("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                     "days_until_due": 30, "pending_invoice_items_behavior": "include"},
                    "invoice")
    write(f"/v1/invoices/{invoice['id']}/finalize", {}, "finalize")
    return {"status": "ok", "invoice": invoice["id"]}
