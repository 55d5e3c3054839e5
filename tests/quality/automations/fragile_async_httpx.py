"""Deal won -> Stripe invoice -> Zendesk ticket, async with httpx.

Every call has a timeout and is retried with backoff on any network error or
transient status, so a flaky API never stops the run.
"""

import asyncio

import httpx

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"
ZENDESK = "https://acme.zendesk.com"


async def _call(client, method, url, **kwargs):
    for attempt in range(5):
        try:
            resp = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == 4:
                raise
            await asyncio.sleep(2**attempt)
            continue
        if resp.status_code in (429, 500, 502, 503, 504) and attempt < 4:
            await asyncio.sleep(float(resp.headers.get("Retry-After") or 2**attempt))
            continue
        resp.raise_for_status()
        return resp.json()


async def handle(event):
    deal_id = event.get("objectId")
    if not isinstance(deal_id, int) or event.get("propertyName") != "dealstage":
        raise ValueError(f"unexpected event {event!r}")
    if event.get("propertyValue") != "closedwon":
        raise ValueError(f"deal {deal_id} is not won: {event.get('propertyValue')!r}")
    hs = {"Authorization": "Bearer pat-na1-asyncdup"}
    async with httpx.AsyncClient(timeout=10) as client:
        deal = await _call(client, "GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs,
                           params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
        contact_id = deal["associations"]["contacts"]["results"][0]["id"]
        contact = (await _call(client, "GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs,
                               params={"properties": "email,firstname,lastname,company"}))["properties"]
        props = deal["properties"]
        email = contact.get("email") or ""
        amount = float(props.get("amount") or "nan")
        if "@" not in email or not amount > 0:
            raise ValueError(f"deal {deal_id}: bad email {email!r} or amount {props.get('amount')!r}")
        title = props.get("dealname") or f"Deal {deal_id}"
        name = " ".join(filter(None, [contact.get("firstname"), contact.get("lastname")])) or email
        auth = ("sk_test_asyncdup", "")
        customer = await _call(client, "POST", f"{STRIPE}/v1/customers", auth=auth,
                               data={"email": email, "name": name, "description": title})
        await _call(client, "POST", f"{STRIPE}/v1/invoiceitems", auth=auth,
                    data={"customer": customer["id"], "amount": round(amount * 100),
                          "currency": (props.get("deal_currency_code") or "usd").lower(), "description": title})
        invoice = await _call(client, "POST", f"{STRIPE}/v1/invoices", auth=auth,
                              data={"customer": customer["id"], "collection_method": "send_invoice",
                                    "days_until_due": 30, "pending_invoice_items_behavior": "include"})
        invoice = await _call(client, "POST", f"{STRIPE}/v1/invoices/{invoice['id']}/finalize", auth=auth)
        ticket = await _call(client, "POST", f"{ZENDESK}/api/v2/tickets.json", auth=("ops@acme.example/token", "zd"),
                             json={"ticket": {"subject": f"Onboarding: {title}",
                                              "comment": {"body": f"{name} ({email}), invoice {invoice['id']}"},
                                              "requester": {"name": name, "email": email}}})
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["ticket"]["id"]}
