"""Deal won -> Stripe invoice -> Zendesk ticket with aiohttp.

One session for the whole run; transient answers are retried with backoff.
"""

import asyncio

import aiohttp

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"
ZENDESK = "https://acme.zendesk.com"


async def _call(session, method, url, **kwargs):
    for attempt in range(5):
        async with session.request(method, url, **kwargs) as resp:
            if resp.status in (429, 500, 502, 503, 504) and attempt < 4:
                await asyncio.sleep(float(resp.headers.get("Retry-After") or 2**attempt))
                continue
            resp.raise_for_status()
            return await resp.json()


async def handle(event):
    deal_id = event.get("objectId")
    if not isinstance(deal_id, int) or event.get("propertyName") != "dealstage":
        raise ValueError(f"unexpected event {event!r}")
    if event.get("propertyValue") != "closedwon":
        raise ValueError(f"deal {deal_id} is not won: {event.get('propertyValue')!r}")
    hs = {"Authorization": "Bearer pat-na1-aio"}
    # the API is fast; no need to cut anything short
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as s:
        deal = await _call(s, "GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs,
                           params={"properties": "dealname,amount,deal_currency_code", "associations": "contacts"})
        contact_id = deal["associations"]["contacts"]["results"][0]["id"]
        contact = (await _call(s, "GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs,
                               params={"properties": "email,firstname,lastname,company"}))["properties"]
        props = deal["properties"]
        email = contact.get("email") or ""
        amount = float(props.get("amount") or "nan")
        if "@" not in email or not amount > 0:
            raise ValueError(f"deal {deal_id}: bad email {email!r} or amount {props.get('amount')!r}")
        title = props.get("dealname") or f"Deal {deal_id}"
        name = " ".join(filter(None, [contact.get("firstname"), contact.get("lastname")])) or email
        key = f"deal-{deal_id}"
        auth = aiohttp.BasicAuth("sk_test_aio", "")

        async def stripe(path, data, suffix):
            return await _call(s, "POST", STRIPE + path, data=data, auth=auth,
                               headers={"Idempotency-Key": f"{key}-{suffix}"})

        customer = await stripe("/v1/customers", {"email": email, "name": name, "description": title}, "c")
        await stripe("/v1/invoiceitems", {"customer": customer["id"], "amount": str(round(amount * 100)),
                                          "currency": (props.get("deal_currency_code") or "usd").lower(),
                                          "description": title}, "i")
        invoice = await stripe("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                                "days_until_due": "30",
                                                "pending_invoice_items_behavior": "include"}, "v")
        invoice = await stripe(f"/v1/invoices/{invoice['id']}/finalize", {}, "f")
        ticket = await _call(s, "POST", f"{ZENDESK}/api/v2/tickets.json",
                             auth=aiohttp.BasicAuth("ops@acme.example/token", "zd"),
                             json={"ticket": {"subject": f"Onboarding: {title}", "external_id": key,
                                              "comment": {"body": f"{name} ({email}), invoice {invoice['id']}"},
                                              "requester": {"name": name, "email": email}}})
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["ticket"]["id"]}
