"""Deal won -> Stripe invoice -> Zendesk ticket straight on urllib3.

One pool manager with timeouts; urllib3's default retries cover dropped
connections.
"""

import json
from base64 import b64encode
from urllib.parse import urlencode

import urllib3

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"
ZENDESK = "https://acme.zendesk.com"
HTTP = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=10))


def _basic(user, password):
    return "Basic " + b64encode(f"{user}:{password}".encode()).decode()


def _call(method, url, *, headers, fields=None, body=None):
    resp = HTTP.request(method, url, headers=headers, fields=fields, body=body)
    if resp.status >= 400:
        raise RuntimeError(f"{method} {url} -> {resp.status}: {resp.data[:200]!r}")
    return json.loads(resp.data)


def handle(event):
    deal_id = event.get("objectId")
    if not isinstance(deal_id, int) or event.get("propertyName") != "dealstage":
        raise ValueError(f"unexpected event {event!r}")
    if event.get("propertyValue") != "closedwon":
        raise ValueError(f"deal {deal_id} is not won: {event.get('propertyValue')!r}")
    hs = {"Authorization": "Bearer pat-na1-u3"}
    deal = _call("GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs,
                 fields={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _call("GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs,
                    fields={"properties": "email,firstname,lastname,company"})["properties"]
    props = deal["properties"]
    email = contact.get("email") or ""
    amount = float(props.get("amount") or "nan")
    if "@" not in email or not amount > 0:
        raise ValueError(f"deal {deal_id}: bad email {email!r} or amount {props.get('amount')!r}")
    title = props.get("dealname") or f"Deal {deal_id}"
    name = " ".join(filter(None, [contact.get("firstname"), contact.get("lastname")])) or email
    key = f"deal-{deal_id}"

    def stripe(path, data, suffix):
        return _call("POST", STRIPE + path, body=urlencode(data),
                     headers={"Authorization": _basic("sk_test_u3", ""), "Idempotency-Key": f"{key}-{suffix}",
                              "Content-Type": "application/x-www-form-urlencoded"})

    customer = stripe("/v1/customers", {"email": email, "name": name, "description": title}, "c")
    stripe("/v1/invoiceitems", {"customer": customer["id"], "amount": round(amount * 100),
                                "currency": (props.get("deal_currency_code") or "usd").lower(),
                                "description": title}, "i")
    invoice = stripe("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                      "days_until_due": 30, "pending_invoice_items_behavior": "include"}, "v")
    invoice = stripe(f"/v1/invoices/{invoice['id']}/finalize", {}, "f")
    ticket = _call("POST", f"{ZENDESK}/api/v2/tickets.json",
                   headers={"Authorization": _basic("ops@acme.example/token", "zd"),
                            "Content-Type": "application/json"},
                   body=json.dumps({"ticket": {"subject": f"Onboarding: {title}", "external_id": key,
                                               "comment": {"body": f"{name} ({email}), invoice {invoice['id']}"},
                                               "requester": {"name": name, "email": email}}}))
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["ticket"]["id"]}
