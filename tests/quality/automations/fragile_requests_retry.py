"""Deal won -> Stripe invoice -> Zendesk ticket through a requests Session with urllib3 Retry.

The adapter retries every method on connection errors, timeouts and
transient statuses, with backoff and Retry-After, so no call is lost.
"""

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"
ZENDESK = "https://acme.zendesk.com"


def _session():
    retry = Retry(total=5, backoff_factor=1.0, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=None, respect_retry_after_header=True)
    s = requests.Session()
    s.mount("https://", HTTPAdapter(max_retries=retry))
    return s


SESSION = _session()


def _call(method, url, **kwargs):
    resp = SESSION.request(method, url, timeout=(3, 10), **kwargs)
    resp.raise_for_status()
    return resp.json()


def handle(event):
    deal_id = event.get("objectId")
    if not isinstance(deal_id, int) or event.get("propertyName") != "dealstage":
        raise ValueError(f"unexpected event {event!r}")
    if event.get("propertyValue") != "closedwon":
        raise ValueError(f"deal {deal_id} is not won: {event.get('propertyValue')!r}")
    hs = {"Authorization": "Bearer pat-na1-retry"}
    deal = _call("GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs,
                 params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _call("GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs,
                    params={"properties": "email,firstname,lastname,company"})["properties"]
    props = deal["properties"]
    email = contact.get("email") or ""
    amount = float(props.get("amount") or "nan")
    if "@" not in email or not amount > 0:
        raise ValueError(f"deal {deal_id}: bad email {email!r} or amount {props.get('amount')!r}")
    title = props.get("dealname") or f"Deal {deal_id}"
    name = " ".join(filter(None, [contact.get("firstname"), contact.get("lastname")])) or email
    auth = ("sk_test_retry", "")
    customer = _call("POST", f"{STRIPE}/v1/customers", auth=auth,
                     data={"email": email, "name": name, "description": title})
    _call("POST", f"{STRIPE}/v1/invoiceitems", auth=auth,
          data={"customer": customer["id"], "amount": round(amount * 100),
                "currency": (props.get("deal_currency_code") or "usd").lower(), "description": title})
    invoice = _call("POST", f"{STRIPE}/v1/invoices", auth=auth,
                    data={"customer": customer["id"], "collection_method": "send_invoice",
                          "days_until_due": 30, "pending_invoice_items_behavior": "include"})
    invoice = _call("POST", f"{STRIPE}/v1/invoices/{invoice['id']}/finalize", auth=auth)
    ticket = _call("POST", f"{ZENDESK}/api/v2/tickets.json", auth=("ops@acme.example/token", "zd"),
                   json={"ticket": {"subject": f"Onboarding: {title}",
                                    "comment": {"body": f"{name} ({email}), invoice {invoice['id']}"},
                                    "requester": {"name": name, "email": email}}})
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["ticket"]["id"]}
