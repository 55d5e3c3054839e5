"""New Shopify order -> a note in #sales with the customer's name and order count."""

import requests

SHOP = "https://acme-store.myshopify.com/admin/api/2024-01"
SHOPIFY_TOKEN = "shpat_0123456789abcdef0123456789abcdef"
SLACK = "https://slack.com/api"


def handle(event):
    order = event["body"]
    customer = requests.get(f"{SHOP}/customers/{order['customer']['id']}.json",
                            headers={"X-Shopify-Access-Token": SHOPIFY_TOKEN}).json()["customer"]
    text = (f"New order {order['name']}: {order['total_price']} {order['currency']} from "
            f"{customer['first_name']} {customer['last_name']} ({customer['orders_count']} orders)")
    resp = requests.post(f"{SLACK}/chat.postMessage", json={"channel": "#sales", "text": text},
                         headers={"Authorization": "Bearer xoxb-1-orders"}, timeout=10)
    resp.raise_for_status()
    if not resp.json().get("ok"):
        raise RuntimeError(resp.json().get("error"))
    return {"status": "ok"}
