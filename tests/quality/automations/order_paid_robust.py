"""Shop webhook: an order was paid -> a Zendesk ticket for the fulfilment team.

Safe to receive twice: the ticket's external_id is the order, looked up before
creating; the payload is validated first; transient answers are retried.
"""

import time

import requests

ZENDESK = "https://acme.zendesk.com"
TRANSIENT = {429, 500, 502, 503, 504}
AUTH = ("ops@acme.example/token", "zd")


class Permanent(Exception):
    pass


def _call(method, url, *, retries=4, **kwargs):
    delay = 1.0
    for attempt in range(retries + 1):
        try:
            resp = requests.request(method, url, timeout=10, auth=AUTH, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
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


def handle(event):
    order = (event.get("data") or {}).get("item") or {}
    email, total, currency = order.get("email"), order.get("total"), order.get("currency")
    if not order.get("id") or not isinstance(email, str) or "@" not in email:
        raise Permanent(f"order event without an order id or email: {event!r}")
    try:
        amount = float(total)
    except (TypeError, ValueError):
        raise Permanent(f"order {order['id']}: total {total!r} unusable") from None
    if not amount > 0 or not isinstance(currency, str) or len(currency) != 3:
        raise Permanent(f"order {order['id']}: total {total!r} {currency!r} unusable")
    external_id = f"order-{order['id']}"
    payload = {"ticket": {"subject": f"Ship order {order['id']}", "external_id": external_id,
                          "comment": {"body": f"Paid {amount:.2f} {currency}"},
                          "requester": {"name": email, "email": email}}}
    for _ in range(5):
        found = _call("GET", f"{ZENDESK}/api/v2/tickets.json", params={"external_id": external_id})
        if found["tickets"]:
            return {"status": "ok", "ticket": found["tickets"][0]["id"]}
        try:
            ticket = _call("POST", f"{ZENDESK}/api/v2/tickets.json", retries=0, json=payload)["ticket"]
            return {"status": "ok", "ticket": ticket["id"]}
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(2)
        except Permanent as exc:
            if " 429 " not in str(exc) and " 50" not in str(exc):
                raise
            time.sleep(2)
    raise Permanent(f"could not create ticket {external_id}")
