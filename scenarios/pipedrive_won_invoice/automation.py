"""Pipedrive deal won -> QuickBooks invoice -> Pipedrive follow-up activity.

Pipedrive calls our endpoint with every deal update (v1 webhook). When a deal
is marked won, we invoice the customer in QuickBooks Online (finding or creating
the customer by company name) and put a "Send invoice" task on the deal so the
account manager chases the payment.

Env:
    PIPEDRIVE_API_TOKEN, PIPEDRIVE_BASE_URL      (https://acme.pipedrive.com/api/v1)
    QBO_ACCESS_TOKEN, QBO_REALM_ID, QBO_BASE_URL
"""

import logging
import os
import time

import requests

log = logging.getLogger("automations.pipedrive_won_invoice")

PIPEDRIVE_BASE_URL = os.environ.get("PIPEDRIVE_BASE_URL", "https://acme.pipedrive.com/api/v1")
PIPEDRIVE_API_TOKEN = os.environ.get("PIPEDRIVE_API_TOKEN", "pd-0000000000000000000000000000")
QBO_BASE_URL = os.environ.get("QBO_BASE_URL", "https://quickbooks.api.intuit.com")
QBO_REALM_ID = os.environ.get("QBO_REALM_ID", "9341452183926457")
QBO_ACCESS_TOKEN = os.environ.get("QBO_ACCESS_TOKEN", "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0")


def _pipedrive(method, path, **kwargs):
    resp = requests.request(method, f"{PIPEDRIVE_BASE_URL}{path}",
                            params={"api_token": PIPEDRIVE_API_TOKEN}, **kwargs)
    resp.raise_for_status()
    return resp.json()["data"]


def _qbo(method, path, **kwargs):
    url = f"{QBO_BASE_URL}/v3/company/{QBO_REALM_ID}{path}"
    headers = {"Authorization": f"Bearer {QBO_ACCESS_TOKEN}", "Accept": "application/json"}
    # QuickBooks times out now and then during their evening batch; try again
    for attempt in range(3):
        try:
            resp = requests.request(method, url, headers=headers, timeout=20, **kwargs)
            resp.raise_for_status()
            return resp.json()
        except requests.exceptions.RequestException as exc:
            log.warning("qbo %s %s failed (attempt %d): %s", method, path, attempt + 1, exc)
            if attempt == 2:
                raise
            time.sleep(3)


def _customer(org_name, email):
    found = _qbo("GET", "/query", params={"query": f"select * from Customer where DisplayName = '{org_name}'"})
    customers = found["QueryResponse"].get("Customer", [])
    if customers:
        return customers[0]
    body = {"DisplayName": org_name, "CompanyName": org_name}
    if email:
        body["PrimaryEmailAddr"] = {"Address": email}
    return _qbo("POST", "/customer", json=body)["Customer"]


def handle(event):
    deal = event["current"]
    if deal["status"] != "won" or event["previous"]["status"] == "won":
        return {"status": "ignored"}
    deal_id = deal["id"]
    full = _pipedrive("GET", f"/deals/{deal_id}")
    org_name = full.get("org_name") or full["title"]
    person = full.get("person_id") or {}
    email = (person.get("email") or [{}])[0].get("value")

    customer = _customer(org_name, email)
    amount = float(full.get("value") or 0)
    invoice = _qbo("POST", "/invoice", json={
        "CustomerRef": {"value": customer["Id"]},
        "CurrencyRef": {"value": full.get("currency") or "USD"},
        "PrivateNote": f"Pipedrive deal {deal_id}",
        "Line": [{
            "Amount": amount,
            "Description": full["title"],
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": amount},
        }],
    })["Invoice"]

    try:
        _pipedrive("POST", "/activities", json={
            "subject": f"Send invoice {invoice['DocNumber']} to {org_name}",
            "type": "task",
            "deal_id": deal_id,
            "person_id": person.get("value"),
            "note": f"QuickBooks invoice {invoice['DocNumber']}: {invoice['TotalAmt']:.2f}",
        })
    except Exception:
        log.exception("could not add the follow-up activity for deal %s", deal_id)
    log.info("deal %s: QuickBooks invoice %s", deal_id, invoice["DocNumber"])
    return {"status": "ok", "invoice": invoice["Id"]}
