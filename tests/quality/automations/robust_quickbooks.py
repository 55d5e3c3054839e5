"""Deal won -> QuickBooks customer and invoice, safe to run twice.

Customers are found by DisplayName before being created; the invoice's
DocNumber is derived from the deal and looked up first; writes carry a
requestid so a retried POST is answered, not repeated.  Only throttling,
server errors and network errors are retried.
"""

import time

import httpx

HUBSPOT = "https://api.hubapi.com"
QBO = "https://quickbooks.api.intuit.com/v3/company/9341452183926457"
TRANSIENT = {429, 500, 502, 503, 504}

hs = httpx.Client(timeout=10.0, headers={"Authorization": "Bearer pat-na1-qbo-robust"})
qbo = httpx.Client(base_url=QBO, timeout=httpx.Timeout(15.0, connect=3.0),
                   headers={"Authorization": "Bearer qbo-access-token", "Accept": "application/json"})


class Rejected(Exception):
    pass


def call(client, method, url, **kwargs):
    delay = 1.0
    for attempt in range(6):
        try:
            resp = client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == 5:
                raise
        else:
            if resp.status_code not in TRANSIENT:
                if resp.status_code >= 400:
                    raise Rejected(f"{method} {url} -> {resp.status_code}: {resp.text[:300]}")
                return resp.json()
            if attempt == 5:
                raise Rejected(f"{method} {url} still {resp.status_code}")
            delay = max(delay, float(resp.headers.get("Retry-After") or 0))
        time.sleep(delay)
        delay = min(delay * 2, 60)
    raise AssertionError("unreachable")


def quoted(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def query(entity, where):
    found = call(qbo, "GET", "/query", params={"query": f"select * from {entity} where {where}"})
    return found["QueryResponse"].get(entity) or []


def handle(event):
    deal_id = event.get("objectId")
    if type(deal_id) is not int or event.get("propertyValue") != "closedwon":
        raise Rejected(f"not a won deal: {event!r}")
    deal = call(hs, "GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}",
                params={"properties": "dealname,amount", "associations": "contacts"})
    links = (deal.get("associations") or {}).get("contacts", {}).get("results") or []
    if not links:
        raise Rejected(f"deal {deal_id} has no contact")
    person = call(hs, "GET", f"{HUBSPOT}/crm/v3/objects/contacts/{links[0]['id']}",
                  params={"properties": "email,firstname,lastname,company"})["properties"]
    try:
        amount = round(float(deal["properties"].get("amount") or "nan"), 2)
    except ValueError:
        amount = float("nan")
    company = (person.get("company") or "").strip()
    email = (person.get("email") or "").strip()
    title = (deal["properties"].get("dealname") or "").strip()
    first = (person.get("firstname") or "").strip()
    last = (person.get("lastname") or "").strip()
    if not amount > 0 or not company or "@" not in email or not title or not first or not last:
        raise Rejected(f"deal {deal_id}: incomplete data")

    doc = f"HS-{deal_id}"
    existing = query("Invoice", f"DocNumber = {quoted(doc)}")
    if existing:
        return {"status": "ok", "invoice": existing[0]["Id"], "existing": True}
    customers = query("Customer", f"DisplayName = {quoted(company)}")
    if customers:
        customer = customers[0]
    else:
        body = {"DisplayName": company, "CompanyName": company, "GivenName": first, "FamilyName": last,
                "PrimaryEmailAddr": {"Address": email}}
        customer = call(qbo, "POST", "/customer", params={"requestid": f"{doc}-customer"}, json=body)["Customer"]
    invoice = call(qbo, "POST", "/invoice", params={"requestid": f"{doc}-invoice"}, json={
        "CustomerRef": {"value": customer["Id"]}, "DocNumber": doc, "BillEmail": {"Address": email},
        "Line": [{"Amount": amount, "DetailType": "SalesItemLineDetail", "Description": title,
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": amount}}]})["Invoice"]
    return {"status": "ok", "invoice": invoice["Id"]}
