"""Deal won -> an invoice in Books, our accounting system.

Called by our webhook endpoint for every HubSpot ``deal.propertyChange``
event.  Reads the deal and its contact, then opens the invoice in Books,
unless one with the deal's reference exists already.

Env: HUBSPOT_BASE_URL, HUBSPOT_TOKEN, BOOKS_BASE_URL, BOOKS_TOKEN
"""

import os
import time

import requests

HUBSPOT = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
BOOKS = os.environ.get("BOOKS_BASE_URL", "https://books.example.internal")
HUBSPOT_AUTH = {"Authorization": "Bearer " + os.environ.get("HUBSPOT_TOKEN", "pat-na1-books")}
BOOKS_AUTH = {"Authorization": "Bearer " + os.environ.get("BOOKS_TOKEN", "books-token")}


def _hubspot(path, **params):
    resp = requests.get(HUBSPOT + path, params=params, headers=HUBSPOT_AUTH, timeout=10)
    resp.raise_for_status()
    return resp.json()


def handle(event):
    if event.get("propertyName") != "dealstage" or event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}
    deal_id = event["objectId"]
    deal = _hubspot(f"/crm/v3/objects/deals/{deal_id}", properties="dealname,amount,deal_currency_code",
                    associations="contacts")
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = _hubspot(f"/crm/v3/objects/contacts/{contact_id}", properties="email,firstname,lastname")
    props, person = deal["properties"], contact["properties"]
    reference = f"deal-{deal_id}"

    found = requests.get(BOOKS + "/api/2.0/Invoices", params={"where": f'Reference=="{reference}"'},
                         headers=BOOKS_AUTH, timeout=10)
    found.raise_for_status()
    if found.json()["Invoices"]:
        return {"status": "ok", "invoice": found.json()["Invoices"][0]["id"]}

    invoice = {
        "Reference": reference,
        "ContactEmail": person["email"],
        "ContactName": f"{person.get('firstname') or ''} {person.get('lastname') or ''}".strip(),
        "Total": float(props["amount"]),
        "CurrencyCode": (props.get("deal_currency_code") or "USD").upper(),
        "LineItems": [{"Description": props.get("dealname"), "UnitAmount": float(props["amount"])}],
    }
    # Books is slow at month end: try again a few times
    for attempt in range(3):
        try:
            resp = requests.post(BOOKS + "/api/2.0/Invoices", json=invoice, headers=BOOKS_AUTH, timeout=10)
            resp.raise_for_status()
            return {"status": "ok", "invoice": resp.json()["id"]}
        except requests.RequestException:
            if attempt == 2:
                raise
            time.sleep(2**attempt)
    return {"status": "failed"}
