"""Deal won -> Xero contact (upserted by name) and one authorised invoice per deal.

The invoice carries the deal in its Reference and an Idempotency-Key; before
creating it the automation looks for an invoice with that Reference.
Transient answers and network errors are retried with backoff; anything else
stops the run loudly.
"""

import time

import requests

HUBSPOT = "https://api.hubapi.com"
XERO = "https://api.xero.com"
TRANSIENT = {429, 500, 502, 503, 504}

session = requests.Session()
session.headers["Authorization"] = "Bearer xero-access-token"
session.headers["Accept"] = "application/json"


class Rejected(Exception):
    pass


def call(method, url, **kwargs):
    delay = 1.0
    for attempt in range(6):
        try:
            resp = session.request(method, url, timeout=(3, 15), **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 5:
                raise
        else:
            if resp.status_code not in TRANSIENT:
                if resp.status_code >= 400:
                    raise Rejected(f"{method} {url} -> {resp.status_code}: {resp.text[:300]}")
                return resp.json()
            if attempt == 5:
                raise Rejected(f"{method} {url} still {resp.status_code} after retries")
            delay = max(delay, float(resp.headers.get("Retry-After") or 0))
        time.sleep(delay)
        delay = min(delay * 2, 60)
    raise AssertionError("unreachable")


def handle(event):
    deal_id = event.get("objectId")
    if type(deal_id) is not int or event.get("propertyName") != "dealstage":
        raise Rejected(f"not a deal stage change: {event!r}")
    if event.get("propertyValue") != "closedwon":
        raise Rejected(f"deal {deal_id}: unexpected stage {event.get('propertyValue')!r}")
    hs = {"Authorization": "Bearer pat-na1-xero-robust"}
    deal = call("GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs,
                params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
    links = (deal.get("associations") or {}).get("contacts", {}).get("results") or []
    if not links:
        raise Rejected(f"deal {deal_id} has no contact")
    person = call("GET", f"{HUBSPOT}/crm/v3/objects/contacts/{links[0]['id']}", headers=hs,
                  params={"properties": "email,firstname,lastname,company"})["properties"]
    props = deal["properties"]
    try:
        amount = round(float(props.get("amount") or "nan"), 2)
    except ValueError:
        amount = float("nan")
    company = (person.get("company") or "").strip()
    email = (person.get("email") or "").strip()
    title = (props.get("dealname") or "").strip()
    currency = (props.get("deal_currency_code") or "").strip().upper()
    first = (person.get("firstname") or "").strip()
    last = (person.get("lastname") or "").strip()
    if not amount > 0 or not company or "@" not in email or not title or not first or not last or len(currency) != 3:
        raise Rejected(f"deal {deal_id}: incomplete data {props!r} {person!r}")

    tenant = call("GET", f"{XERO}/connections")[0]["tenantId"]
    xh = {"xero-tenant-id": tenant}
    reference = f"hubspot-deal-{deal_id}"
    found = call("GET", f"{XERO}/api.xro/2.0/Invoices", headers=xh,
                 params={"where": f'Reference=="{reference}" AND Status!="DELETED" AND Status!="VOIDED"'})
    if found["Invoices"]:
        return {"status": "ok", "invoice": found["Invoices"][0]["InvoiceNumber"], "existing": True}
    contact = call("POST", f"{XERO}/api.xro/2.0/Contacts", headers={**xh, "Idempotency-Key": f"{reference}-contact"},
                   json={"Contacts": [{"Name": company, "EmailAddress": email,
                                       "FirstName": first, "LastName": last}]})["Contacts"][0]
    invoice = call("PUT", f"{XERO}/api.xro/2.0/Invoices", headers={**xh, "Idempotency-Key": f"{reference}-invoice"},
                   json={"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
                                       "Status": "AUTHORISED", "Reference": reference, "DueDate": "2026-02-28",
                                       "CurrencyCode": currency,
                                       "LineItems": [{"Description": title, "Quantity": 1, "UnitAmount": amount,
                                                      "AccountCode": "200", "TaxType": "NONE"}]}]})["Invoices"][0]
    return {"status": "ok", "invoice": invoice["InvoiceNumber"]}
