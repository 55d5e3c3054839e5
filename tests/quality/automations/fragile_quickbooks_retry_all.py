"""Deal won -> QuickBooks customer and invoice.  QuickBooks can be moody: retry until it works."""

import time

import requests

HUBSPOT = "https://api.hubapi.com"
QBO = "https://quickbooks.api.intuit.com/v3/company/9341452183926457"
HEADERS = {"Authorization": "Bearer qbo-access-token", "Accept": "application/json"}


def qbo(method, path, **kwargs):
    for attempt in range(5):
        try:
            resp = requests.request(method, QBO + path, headers=HEADERS, timeout=15, **kwargs)
            if resp.ok:
                return resp.json()
        except requests.RequestException:
            pass
        time.sleep(2 ** attempt)
    raise RuntimeError(f"QuickBooks {method} {path} failed 5 times")


def handle(event):
    if event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}
    deal_id = event["objectId"]
    hs = {"Authorization": "Bearer pat-na1-qbo"}
    deal = requests.get(f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs, timeout=10,
                        params={"properties": "dealname,amount", "associations": "contacts"})
    deal.raise_for_status()
    deal = deal.json()
    contact_id = deal["associations"]["contacts"]["results"][0]["id"]
    person = requests.get(f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs, timeout=10,
                          params={"properties": "email,company"})
    person.raise_for_status()
    person = person.json()["properties"]
    if not person.get("company") or not deal["properties"].get("amount"):
        raise ValueError(f"deal {deal_id} is missing data")
    name = person["company"].replace("'", "\\'")
    found = qbo("GET", "/query", params={"query": f"select * from Customer where DisplayName = '{name}'"})
    customers = found["QueryResponse"].get("Customer") or []
    if customers:
        customer = customers[0]
    else:
        customer = qbo("POST", "/customer", params={"requestid": f"cust-{deal_id}"},
                       json={"DisplayName": person["company"],
                             "PrimaryEmailAddr": {"Address": person.get("email") or ""}})["Customer"]
    amount = float(deal["properties"]["amount"])
    invoice = qbo("POST", "/invoice", params={"requestid": f"inv-{deal_id}"}, json={
        "CustomerRef": {"value": customer["Id"]}, "DocNumber": f"HS-{deal_id}",
        "Line": [{"Amount": amount, "DetailType": "SalesItemLineDetail", "Description": deal["properties"].get("dealname"),
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": amount}}]})["Invoice"]
    return {"status": "ok", "invoice": invoice["Id"]}
