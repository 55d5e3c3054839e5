"""Deal won -> Stripe invoice -> Zendesk ticket with aiohttp.

One ClientSession with a total and a socket-read timeout.  Transient answers
(429, 5xx, connection errors, timeouts) are retried with exponential backoff
(asyncio.sleep), honouring Retry-After.  Stripe writes carry idempotency keys
derived from the deal; the Zendesk ticket is looked up by external_id before
each create.
"""

import asyncio
import os
import re

import aiohttp

HUBSPOT = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
STRIPE = os.environ.get("STRIPE_BASE_URL", "https://api.stripe.com")
ZENDESK = os.environ.get("ZENDESK_BASE_URL", "https://acme.zendesk.com")
RETRY_STATUSES = {429, 500, 502, 503, 504}
ATTEMPTS = 5
NETWORK = (aiohttp.ClientConnectionError, asyncio.TimeoutError)


class InvalidDeal(ValueError):
    pass


async def _once(session, method, url, **kwargs):
    async with session.request(method, url, **kwargs) as resp:
        return resp.status, resp.headers.get("Retry-After"), await resp.read()


async def _request(session, method, url, **kwargs):
    import json

    for attempt in range(1, ATTEMPTS + 1):
        try:
            status, retry_after, body = await _once(session, method, url, **kwargs)
        except NETWORK:
            if attempt == ATTEMPTS:
                raise
            await asyncio.sleep(2**attempt)
            continue
        if status in RETRY_STATUSES and attempt < ATTEMPTS:
            await asyncio.sleep(float(retry_after or 2**attempt))
            continue
        if status >= 400:
            raise RuntimeError(f"{method} {url} answered {status}: {body[:200]!r}")
        return json.loads(body)
    raise RuntimeError("unreachable")


async def _ticket(session, payload, auth):
    import json

    external_id = payload["ticket"]["external_id"]
    for attempt in range(1, ATTEMPTS + 1):
        found = await _request(session, "GET", ZENDESK + "/api/v2/tickets.json",
                               params={"external_id": external_id}, auth=auth)
        if found["tickets"]:
            return found["tickets"][0]
        # one create per lookup: after a lost answer the ticket may exist already
        try:
            status, retry_after, body = await _once(session, "POST", ZENDESK + "/api/v2/tickets.json",
                                                    json=payload, auth=auth)
        except NETWORK:
            if attempt == ATTEMPTS:
                raise
            await asyncio.sleep(2**attempt)
            continue
        if status in RETRY_STATUSES and attempt < ATTEMPTS:
            await asyncio.sleep(float(retry_after or 2**attempt))
            continue
        if status >= 400:
            raise RuntimeError(f"ticket create answered {status}: {body[:200]!r}")
        return json.loads(body)["ticket"]
    raise RuntimeError("unreachable")


async def handle(event):
    deal_id = event.get("objectId")
    name, value = event.get("propertyName"), event.get("propertyValue")
    if not isinstance(deal_id, int) or not isinstance(name, str) or not isinstance(value, str) or not value:
        raise InvalidDeal(f"malformed webhook event: {event!r}")
    if name != "dealstage" or value != "closedwon":
        return {"status": "ignored"}
    hs = {"Authorization": "Bearer pat-na1-aiorobust"}
    timeout = aiohttp.ClientTimeout(total=60, sock_connect=3, sock_read=10)
    async with aiohttp.ClientSession(timeout=timeout) as s:
        deal = await _request(s, "GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}", headers=hs,
                              params={"properties": "dealname,amount,deal_currency_code",
                                      "associations": "contacts"})
        props = deal["properties"]
        contact_id = deal["associations"]["contacts"]["results"][0]["id"]
        contact = (await _request(s, "GET", f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", headers=hs,
                                  params={"properties": "email,firstname,lastname,company"}))["properties"]
        email = contact.get("email") or ""
        if "@" not in email:
            raise InvalidDeal(f"deal {deal_id}: contact {contact_id} has no valid email ({email!r})")
        try:
            amount = float(props.get("amount"))
        except (TypeError, ValueError):
            raise InvalidDeal(f"deal {deal_id}: amount {props.get('amount')!r} is not a number") from None
        if amount <= 0:
            raise InvalidDeal(f"deal {deal_id}: amount {amount} must be positive")
        cents = int(round(amount * 100))
        currency = (props.get("deal_currency_code") or "usd").lower()
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise InvalidDeal(f"deal {deal_id}: currency {props.get('deal_currency_code')!r} is not an ISO code")
        who = " ".join(p for p in (contact.get("firstname"), contact.get("lastname")) if p) or email
        title = props.get("dealname") or f"HubSpot deal {deal_id}"
        key = f"hubspot-deal-{deal_id}"
        auth = aiohttp.BasicAuth("sk_test_aiorobust", "")

        async def stripe(path, data, suffix):
            return await _request(s, "POST", STRIPE + path, data=data, auth=auth,
                                  headers={"Idempotency-Key": f"{key}-{suffix}"})

        customer = await stripe("/v1/customers", {"email": email, "name": who,
                                                  "description": contact.get("company") or title}, "customer")
        await stripe("/v1/invoiceitems", {"customer": customer["id"], "amount": str(cents), "currency": currency,
                                          "description": title}, "item")
        invoice = await stripe("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                                "days_until_due": "30",
                                                "pending_invoice_items_behavior": "include"}, "invoice")
        invoice = await stripe(f"/v1/invoices/{invoice['id']}/finalize", {}, "finalize")
        ticket = await _ticket(s, {"ticket": {
            "subject": f"Onboarding: {title}", "external_id": key,
            "comment": {"body": f"New customer {who} ({email}). Invoice {invoice['id']} "
                                f"for {cents / 100:.2f} {currency.upper()}."},
            "requester": {"name": who, "email": email},
        }}, aiohttp.BasicAuth("ops@acme.example/token", "zd"))
    return {"status": "ok", "invoice": invoice["id"], "ticket": ticket["id"]}
