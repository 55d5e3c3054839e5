"""Deal won -> Stripe invoice -> Zendesk ticket through one requests Session.

The session's adapter retries 429 and 5xx answers (urllib3 Retry, honouring
Retry-After, for every method: Stripe writes carry idempotency keys).  The
ticket create goes through a second session whose Retry never re-sends after
a read error or a 5xx: the ticket carries an external_id that is searched for
before each create instead.  Network errors are retried by `_send` with the
same request.
"""

import os
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

HUBSPOT = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")
ZENDESK = os.environ.get("ZENDESK_BASE_URL", "https://acme.zendesk.com")


def _session():
    session = requests.Session()
    retry = Retry(
        total=5,
        backoff_factor=1.0,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


SESSION = _session()


def _create_session():
    # connect failures only (nothing was sent); a lost answer is found by the next search
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=Retry(total=3, connect=3, read=False, status=0, other=0,
                                            backoff_factor=1.0))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


CREATE_SESSION = _create_session()


def _send(method, url, *, retry_network=True, **kwargs):
    kwargs.setdefault("timeout", 8)
    session = SESSION if retry_network else CREATE_SESSION
    for attempt in range(4):
        try:
            resp = session.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if not retry_network or attempt == 3:
                raise
            time.sleep(1.5 * 2**attempt)
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("unreachable")


def _hubspot(path, **params):
    return _send("GET", HUBSPOT + path, params=params, headers={"Authorization": "Bearer pat-na1-x"})


def _stripe(path, data, key):
    return _send(
        "POST", STRIPE + path, data=data, auth=("sk_test_session", ""), headers={"Idempotency-Key": key}
    )


def _ticket(payload):
    auth = ("ops@acme.example/token", "zd")
    external_id = payload["ticket"]["external_id"]
    for attempt in range(4):
        existing = _send("GET", ZENDESK + "/api/v2/tickets.json", params={"external_id": external_id}, auth=auth)
        if existing["tickets"]:
            return existing["tickets"][0]
        try:
            return _send("POST", ZENDESK + "/api/v2/tickets.json", retry_network=False, json=payload, auth=auth)[
                "ticket"
            ]
        except (requests.ConnectionError, requests.Timeout, requests.HTTPError) as exc:
            status = exc.response.status_code if exc.response is not None else None
            if attempt == 3 or (status is not None and status not in (429, 500, 502, 503, 504)):
                raise
            retry_after = exc.response.headers.get("Retry-After") if exc.response is not None else None
            time.sleep(float(retry_after or 2 ** (attempt + 1)))
    raise RuntimeError("unreachable")


def handle(event):
    if not isinstance(event.get("objectId"), int):
        raise ValueError(f"event without a deal id: {event!r}")
    stage = event.get("propertyValue")
    if event.get("propertyName") is None or not isinstance(stage, str) or not stage:
        raise ValueError(f"event without a stage: {event!r}")
    if event["propertyName"] != "dealstage" or stage != "closedwon":
        return {"status": "ignored"}
    deal_id = event["objectId"]
    deal = _hubspot(
        f"/crm/v3/objects/deals/{deal_id}",
        properties="dealname,amount,deal_currency_code",
        associations="contacts",
    )
    props = deal["properties"]
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _hubspot(f"/crm/v3/objects/contacts/{contact_id}", properties="email,firstname,lastname,company")[
        "properties"
    ]
    email = contact.get("email")
    if not email or "@" not in email:
        raise ValueError(f"deal {deal_id}: contact {contact_id} has no usable email: {email!r}")
    try:
        cents = int(round(float(props["amount"]) * 100))
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"deal {deal_id}: unusable amount {props.get('amount')!r}") from None
    if cents <= 0:
        raise ValueError(f"deal {deal_id}: amount must be positive, got {props.get('amount')!r}")
    currency = (props.get("deal_currency_code") or "usd").lower()
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"deal {deal_id}: unusable currency {props.get('deal_currency_code')!r}")
    label = props.get("dealname") or f"Deal {deal_id}"
    who = " ".join(x for x in (contact.get("firstname"), contact.get("lastname")) if x) or email

    idem = f"deal-{deal_id}"
    customer = _stripe(
        "/v1/customers",
        {"email": email, "name": who, "description": contact.get("company") or label},
        f"{idem}/customer",
    )
    _stripe(
        "/v1/invoiceitems",
        {"customer": customer["id"], "amount": cents, "currency": currency, "description": label},
        f"{idem}/item",
    )
    draft = _stripe(
        "/v1/invoices",
        {"customer": customer["id"], "collection_method": "send_invoice", "days_until_due": 14,
         "pending_invoice_items_behavior": "include", "metadata[hubspot_deal_id]": deal_id},
        f"{idem}/invoice",
    )
    invoice = _stripe(f"/v1/invoices/{draft['id']}/finalize", {}, f"{idem}/finalize")
    ticket = _ticket(
        {"ticket": {"subject": f"Onboarding {label}", "external_id": f"deal-{deal_id}",
                    "comment": {"body": f"{who} <{email}>: invoice {invoice['id']}, {cents / 100:.2f} {currency}"},
                    "requester": {"name": who, "email": email}}}
    )
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["id"]}
