"""Deal won -> Stripe invoice with httpx.AsyncClient and explicit timeouts.

``async def handle``: every request has a timeout, the whole handling is
bounded by ``asyncio.wait_for``, transient answers and network errors are
retried with backoff (``asyncio.sleep``), and each Stripe write carries an
idempotency key derived from the deal.
"""

import asyncio
import os

import httpx

HUBSPOT = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")


class Refused(Exception):
    pass


async def _request(client, method, url, **kwargs):
    for attempt in range(6):
        try:
            resp = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == 5:
                raise
            await asyncio.sleep(2**attempt)
            continue
        if resp.status_code in (429, 500, 502, 503, 504) and attempt < 5:
            await asyncio.sleep(float(resp.headers.get("Retry-After") or 2**attempt))
            continue
        if resp.status_code >= 400:
            raise Refused(f"{method} {url} -> {resp.status_code}")
        return resp.json()
    raise RuntimeError("unreachable")


async def _handle(event):
    if event.get("propertyName") != "dealstage" or event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}
    deal_id = event.get("objectId")
    if not isinstance(deal_id, int):
        raise Refused(f"objectId {deal_id!r}")
    async with httpx.AsyncClient(timeout=httpx.Timeout(8.0, connect=2.0)) as client:
        hs = {"Authorization": "Bearer pat-na1-async"}
        deal = await _request(client, "GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs,
                              params={"properties": "dealname,amount", "associations": "contacts"})
        contact_id = deal["associations"]["contacts"]["results"][0]["id"]
        contact = (await _request(client, "GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}",
                                  headers=hs, params={"properties": "email,firstname"}))["properties"]
        email = contact.get("email") or ""
        try:
            cents = round(float(deal["properties"].get("amount")) * 100)
        except (TypeError, ValueError):
            raise Refused(f"deal {deal_id}: amount {deal['properties'].get('amount')!r}") from None
        if "@" not in email or cents <= 0:
            raise Refused(f"deal {deal_id}: email {email!r}, amount {cents}")
        title = deal["properties"].get("dealname") or f"Deal {deal_id}"
        auth = ("sk_test_async", "")

        async def write(path, data, step):
            return await _request(client, "POST", STRIPE + path, data=data, auth=auth,
                                  headers={"Idempotency-Key": f"async-{deal_id}-{step}"})

        customer = await write("/v1/customers", {"email": email, "name": contact.get("firstname") or email},
                               "customer")
        await write("/v1/invoiceitems", {"customer": customer["id"], "amount": cents, "currency": "usd",
                                         "description": title}, "item")
        invoice = await write("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                               "days_until_due": 30, "pending_invoice_items_behavior": "include"},
                              "invoice")
        return {"status": "ok", "invoice": invoice["id"]}


async def handle(event):
    return await asyncio.wait_for(_handle(event), timeout=120)
