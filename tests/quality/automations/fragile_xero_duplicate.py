"""Deal won -> Xero contact and invoice.  Flaky network?  We just try again."""

import time

import requests

HUBSPOT = "https://api.hubapi.com"
XERO = "https://api.xero.com"
TOKEN = "xero-access-token"


def _xero(method, path, tenant=None, **kwargs):
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    if tenant:
        headers["xero-tenant-id"] = tenant
    for attempt in range(3):
        try:
            resp = requests.request(method, XERO + path, headers=headers, timeout=20, **kwargs)
        except requests.RequestException:
            time.sleep(2)
            continue
        if resp.status_code >= 500 or resp.status_code == 429:
            time.sleep(2)
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError(f"xero {method} {path} kept failing")


def handle(event):
    if event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}
    deal_id = event["objectId"]
    hs = {"Authorization": "Bearer pat-na1-xero"}
    deal = requests.get(f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs, timeout=10,
                        params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
    deal.raise_for_status()
    deal = deal.json()
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    contact = requests.get(f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs, timeout=10,
                           params={"properties": "email,firstname,lastname,company"})
    contact.raise_for_status()
    person = contact.json()["properties"]
    props = deal["properties"]
    if not props.get("amount") or not person.get("company") or not person.get("email"):
        raise ValueError(f"deal {deal_id} is missing data")

    tenant = _xero("GET", "/connections")[0]["tenantId"]
    contact = _xero("POST", "/api.xro/2.0/Contacts", tenant,
                    json={"Contacts": [{"Name": person["company"], "EmailAddress": person["email"],
                                        "FirstName": person.get("firstname"),
                                        "LastName": person.get("lastname")}]})["Contacts"][0]
    invoice = _xero("PUT", "/api.xro/2.0/Invoices", tenant, json={"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "Status": "AUTHORISED",
        "Reference": f"hubspot-deal-{deal_id}", "DueDate": "2026-02-28",
        "CurrencyCode": props.get("deal_currency_code") or "USD",
        "LineItems": [{"Description": props.get("dealname") or "Deal", "Quantity": 1,
                       "UnitAmount": float(props["amount"]), "AccountCode": "200", "TaxType": "NONE"}],
    }]})["Invoices"][0]
    return {"status": "ok", "invoice": invoice["InvoiceNumber"]}
