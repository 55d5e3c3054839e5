"""New Shopify order -> one note in #sales (Shopify retries webhooks: dedupe on the order name).

Shopify 429s say Retry-After; Slack's {"ok": false} is an error; every call
has a timeout; the order is read back from the Admin API (the webhook body
may be stale) and the message is searched for before it is posted.
"""

import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

SHOP = "https://acme-store.myshopify.com/admin/api/2024-01"
SHOPIFY = {"X-Shopify-Access-Token": "shpat_0123456789abcdef0123456789abcdef"}
SLACK = "https://slack.com/api"
BOT = {"Authorization": "Bearer xoxb-1-orders"}


def _session():
    session = requests.Session()
    # reads only: urllib3 re-sending a POST after a lost answer would post twice; 429s are
    # handled below, because urllib3 refuses Shopify's "Retry-After: 2.0" as a header
    retry = Retry(total=5, backoff_factor=1.0, status_forcelist=(500, 502, 503, 504),
                  allowed_methods=frozenset({"GET"}), respect_retry_after_header=False,
                  raise_on_status=False)
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


SESSION = _session()


def _call(method, url, *, retry_network=True, **kwargs):
    for attempt in range(4):
        try:
            resp = SESSION.request(method, url, timeout=(3, 10), **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 3 or not retry_network:
                raise
            time.sleep(2 ** attempt)
            continue
        if resp.status_code == 429 or resp.status_code >= 500:
            # a 429 or 5xx answer means the request was refused: safe to send again
            if attempt == 3:
                resp.raise_for_status()
            try:
                wait = float(resp.headers.get("Retry-After") or 2 ** attempt)
            except ValueError:
                wait = 2 ** attempt
            time.sleep(wait)
            continue
        resp.raise_for_status()
        body = resp.json()
        if url.startswith(SLACK) and not body.get("ok"):
            raise RuntimeError(f"slack {url.rsplit('/', 1)[-1]}: {body.get('error')}")
        return body
    raise RuntimeError("unreachable")


def _sales_channel():
    page = _call("GET", f"{SLACK}/conversations.list", params={"limit": 200}, headers=BOT)
    return next(c["id"] for c in page["channels"] if c["name"] == "sales")


def handle(event):
    headers = event.get("headers") or {}
    topic = headers.get("X-Shopify-Topic")
    if not isinstance(topic, str) or not topic:
        raise ValueError(f"delivery {headers.get('X-Shopify-Webhook-Id')} has no topic")
    if topic != "orders/create":
        return {"status": "ignored"}
    order_id = (event.get("body") or {}).get("id")
    if not isinstance(order_id, int):
        raise ValueError(f"delivery {headers.get('X-Shopify-Event-Id')} has no order id")
    order = _call("GET", f"{SHOP}/orders/{order_id}.json", headers=SHOPIFY)["order"]
    customer = order.get("customer") or {}
    who = " ".join(x for x in (customer.get("first_name"), customer.get("last_name")) if x)
    if not who or not order.get("total_price") or not order.get("name"):
        raise ValueError(f"order {order_id} has no customer name, total or name")
    channel = _sales_channel()
    marker = f"order {order['name']}"
    text = f"New {marker}: {order['total_price']} {order['currency']} from {who}"
    for attempt in range(4):
        history = _call("GET", f"{SLACK}/conversations.history", params={"channel": channel,
                                                                          "limit": 200}, headers=BOT)
        if any(marker + ":" in (m.get("text") or "") for m in history["messages"]):
            return {"status": "ok", "posted": False}
        try:
            posted = _call("POST", f"{SLACK}/chat.postMessage", retry_network=False,
                           json={"channel": channel, "text": text}, headers=BOT)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 3:
                raise
            time.sleep(2 ** attempt)
            continue
        return {"status": "ok", "posted": True, "ts": posted["ts"]}
    raise RuntimeError("unreachable")
