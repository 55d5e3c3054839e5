"""Deal won -> Stripe invoice -> Zendesk ticket, with httpx.

Before creating anything the automation looks for it: the Stripe customer by
email, the deal's invoice by its metadata, the ticket by external_id.  Stripe
writes also carry idempotency keys.  A bounded retry with backoff covers
network errors, 429 and 5xx.
"""

import os
import time

import httpx

HUBSPOT = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")
ZENDESK = os.environ.get("ZENDESK_BASE_URL", "https://acme.zendesk.com")

TRANSIENT = {429, 500, 502, 503, 504}

# one client per system for the life of the process: connection pools are reused
HS = httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0), headers={"Authorization": "Bearer pat-na1-search"})
STRIPE_CLIENT = httpx.Client(timeout=10.0, auth=("sk_test_search", ""))
ZD = httpx.Client(timeout=10.0, auth=("ops@acme.example/token", "zd"))


class Permanent(Exception):
    pass


def _call(client, method, url, *, retries=4, **kwargs):
    delay = 1.0
    for attempt in range(retries + 1):
        try:
            resp = client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == retries:
                raise
        else:
            if resp.status_code not in TRANSIENT or attempt == retries:
                if resp.status_code >= 400:
                    raise Permanent(f"{method} {url}: {resp.status_code} {resp.text[:200]}")
                return resp.json()
            delay = float(resp.headers.get("Retry-After") or delay)
        time.sleep(delay)
        delay = min(delay * 2, 30)
    raise RuntimeError("unreachable")


def _stripe_find_or_create(client, search_path, query, create_path, data, key):
    found = _call(client, "GET", STRIPE + search_path, params={"query": query})
    if found["data"]:
        return found["data"][0]
    return _call(client, "POST", STRIPE + create_path, data=data, headers={"Idempotency-Key": key})


def _zendesk_ticket(client, payload):
    external_id = payload["ticket"]["external_id"]
    for _ in range(5):
        found = _call(client, "GET", ZENDESK + "/api/v2/tickets.json", params={"external_id": external_id})
        if found["tickets"]:
            return found["tickets"][0]
        try:
            return _call(client, "POST", ZENDESK + "/api/v2/tickets.json", retries=0, json=payload)["ticket"]
        except httpx.TransportError:
            time.sleep(2)
        except Permanent as exc:
            if " 429 " not in str(exc) and " 50" not in str(exc):
                raise
            time.sleep(2)
    raise Permanent(f"could not create ticket {external_id}")


def handle(event):
    deal_id = event.get("objectId")
    if type(deal_id) is not int or event.get("propertyName") != "dealstage":
        raise Permanent(f"not a deal stage change: {event!r}")
    if event.get("propertyValue") != "closedwon":
        if isinstance(event.get("propertyValue"), str) and event["propertyValue"]:
            return {"status": "ignored"}
        raise Permanent(f"deal {deal_id}: stage missing from event")

    deal = _call(HS, "GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}",
                 params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _call(HS, "GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}",
                    params={"properties": "email,firstname,lastname,company"})["properties"]
    props = deal["properties"]
    email = contact.get("email") or ""
    try:
        amount = float(props.get("amount") or "nan")
    except ValueError:
        amount = float("nan")
    if "@" not in email or not amount > 0:
        raise Permanent(f"deal {deal_id}: email {email!r} / amount {props.get('amount')!r} unusable")
    cents = round(amount * 100)
    currency = (props.get("deal_currency_code") or "usd").lower()
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        raise Permanent(f"deal {deal_id}: currency {props.get('deal_currency_code')!r} unusable")
    title = props.get("dealname") or f"deal {deal_id}"
    person = " ".join(filter(None, [contact.get("firstname"), contact.get("lastname")])) or email

    customer = _stripe_find_or_create(
        STRIPE_CLIENT, "/v1/customers/search", f"email:'{email}'", "/v1/customers",
        {"email": email, "name": person, "description": contact.get("company") or title},
        f"cus-{deal_id}",
    )
    invoice = _stripe_find_or_create(
        STRIPE_CLIENT, "/v1/invoices/search", f"metadata['hubspot_deal_id']:'{deal_id}'", "/v1/invoices",
        {"customer": customer["id"], "collection_method": "send_invoice", "days_until_due": 30,
         "metadata[hubspot_deal_id]": str(deal_id)},
        f"inv-{deal_id}",
    )
    if invoice["status"] == "draft":
        if not invoice.get("lines", {}).get("data"):
            _call(STRIPE_CLIENT, "POST", STRIPE + "/v1/invoiceitems",
                  data={"customer": customer["id"], "invoice": invoice["id"], "amount": cents,
                        "currency": currency, "description": title},
                  headers={"Idempotency-Key": f"ii-{deal_id}"})
        invoice = _call(STRIPE_CLIENT, "POST", f"{STRIPE}/v1/invoices/{invoice['id']}/finalize",
                        headers={"Idempotency-Key": f"fin-{deal_id}"})

    ticket = _zendesk_ticket(ZD, {"ticket": {
        "subject": f"Onboarding: {title}",
        "external_id": f"hubspot-deal-{deal_id}",
        "comment": {"body": f"{person} ({email}) bought {title}: invoice {invoice['id']} "
                            f"({cents / 100:.2f} {currency.upper()})"},
        "requester": {"name": person, "email": email},
    }})
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["id"]}
