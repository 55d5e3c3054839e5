"""One automation per HTTP client, the same two writes each: a Stripe customer, a Zendesk ticket.

Written the way a first version is: no idempotency key, no search before the
ticket create, no retry of its own; any error is raised.  The orchestrator
tests run them unmodified to show that every client gets its protections.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from base64 import b64encode
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
import requests
import urllib3

STRIPE = "https://api.stripe.com"
ZENDESK = "https://acme.zendesk.com"
STRIPE_AUTH = "Basic " + b64encode(b"sk_test_clients:").decode()
ZENDESK_AUTH = "Basic " + b64encode(b"ops@acme.example/token:zd").decode()
FORM = "application/x-www-form-urlencoded"


def _customer(event: dict[str, Any]) -> bytes:
    return urlencode({"email": f"deal-{event['objectId']}@example.com"}).encode()


def _ticket(event: dict[str, Any]) -> bytes:
    deal = event["objectId"]
    return json.dumps(
        {"ticket": {"subject": f"Onboarding deal {deal}", "external_id": f"deal-{deal}",
                    "comment": {"body": "won"}}}
    ).encode()


def with_requests(event: dict[str, Any]) -> dict[str, Any]:
    for url, body, auth, ctype in _writes(event):
        requests.post(url, data=body, headers={"Authorization": auth, "Content-Type": ctype},
                      timeout=10).raise_for_status()
    return {"status": "ok"}


HTTP = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=10), retries=False)


def with_urllib3(event: dict[str, Any]) -> dict[str, Any]:
    for url, body, auth, ctype in _writes(event):
        resp = HTTP.request("POST", url, body=body, headers={"Authorization": auth, "Content-Type": ctype})
        if resp.status >= 400:
            raise RuntimeError(f"{url} -> {resp.status}")
    return {"status": "ok"}


def with_urllib(event: dict[str, Any]) -> dict[str, Any]:
    for url, body, auth, ctype in _writes(event):
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Authorization": auth, "Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=10) as resp:
            json.loads(resp.read())
    return {"status": "ok"}


def with_httpx(event: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(timeout=10) as client:
        for url, body, auth, ctype in _writes(event):
            client.post(url, content=body, headers={"Authorization": auth, "Content-Type": ctype}).raise_for_status()
    return {"status": "ok"}


async def with_async_httpx(event: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        for url, body, auth, ctype in _writes(event):
            (await client.post(url, content=body, headers={"Authorization": auth, "Content-Type": ctype})
             ).raise_for_status()
    return {"status": "ok"}


async def with_aiohttp(event: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for url, body, auth, ctype in _writes(event):
            async with session.post(url, data=body, headers={"Authorization": auth, "Content-Type": ctype}) as r:
                r.raise_for_status()
                await r.json()
    return {"status": "ok"}


def _writes(event: dict[str, Any]) -> list[tuple[str, bytes, str, str]]:
    return [
        (STRIPE + "/v1/customers", _customer(event), STRIPE_AUTH, FORM),
        (ZENDESK + "/api/v2/tickets.json", _ticket(event), ZENDESK_AUTH, "application/json"),
    ]


async def _read(client: httpx.AsyncClient, path: str) -> int:
    resp = await client.get(STRIPE + path, headers={"Authorization": STRIPE_AUTH})
    return resp.status_code


async def reads_concurrently(event: dict[str, Any]) -> dict[str, Any]:
    """Three reads at once (asyncio.gather), then one write."""
    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(_read(client, p) for p in ("/v1/customers", "/v1/invoices", "/v1/products")))
        (await client.post(STRIPE + "/v1/customers", content=_customer(event),
                           headers={"Authorization": STRIPE_AUTH, "Content-Type": FORM})).raise_for_status()
    return {"status": "ok"}


async def _aio_read(session: aiohttp.ClientSession, path: str) -> int:
    async with session.get(STRIPE + path, headers={"Authorization": STRIPE_AUTH}) as resp:
        await resp.read()
        return resp.status


async def reads_concurrently_aiohttp(event: dict[str, Any]) -> dict[str, Any]:
    """Three reads at once (asyncio.gather) through aiohttp, then one write."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await asyncio.gather(*(_aio_read(session, p) for p in ("/v1/customers", "/v1/invoices", "/v1/products")))
        async with session.post(STRIPE + "/v1/customers", data=_customer(event),
                                headers={"Authorization": STRIPE_AUTH, "Content-Type": FORM}) as resp:
            resp.raise_for_status()
    return {"status": "ok"}


async def bills_while_a_ticker_runs(event: dict[str, Any]) -> dict[str, Any]:
    """A Stripe create and, concurrently, a task that ticks every second (five times)."""
    loop = asyncio.get_running_loop()
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(5):
            await asyncio.sleep(1.0)
            ticks.append(loop.time())

    async def bill() -> float:
        async with httpx.AsyncClient(timeout=10) as client:
            (await client.post(STRIPE + "/v1/customers", content=_customer({"objectId": event["id"]}),
                               headers={"Authorization": STRIPE_AUTH, "Content-Type": FORM})).raise_for_status()
        return loop.time()

    started = loop.time()
    _, billed = await asyncio.gather(ticker(), bill())
    return {"status": "ok", "ticks": [t - started for t in ticks], "billed": billed - started}


def _unkeyed_ticket(event: dict[str, Any]) -> bytes:
    # no external_id: the desk cannot be searched for it, so a lost answer leaves it unknown
    return json.dumps({"ticket": {"subject": f"Deal {event['objectId']}", "comment": {"body": "won"}}}).encode()


#: urllib3's Retry told to re-send anything, POST included, after a read error
RESEND_ALL = urllib3.util.Retry(total=3, read=3, allowed_methods=None, backoff_factor=0)


def resends_with_requests(event: dict[str, Any]) -> dict[str, Any]:
    """A requests Session whose adapter's Retry re-sends a POST after a timeout."""
    session = requests.Session()
    session.mount("https://", requests.adapters.HTTPAdapter(max_retries=RESEND_ALL))
    session.post(ZENDESK + "/api/v2/tickets.json", data=_unkeyed_ticket(event), timeout=10,
                 headers={"Authorization": ZENDESK_AUTH, "Content-Type": "application/json"}).raise_for_status()
    return {"status": "ok"}


def resends_with_urllib3(event: dict[str, Any]) -> dict[str, Any]:
    """urllib3 directly, with the same Retry."""
    resp = urllib3.PoolManager(retries=RESEND_ALL, timeout=10).request(
        "POST", ZENDESK + "/api/v2/tickets.json", body=_unkeyed_ticket(event),
        headers={"Authorization": ZENDESK_AUTH, "Content-Type": "application/json"})
    if resp.status >= 400:
        raise RuntimeError(f"ticket -> {resp.status}")
    return {"status": "ok"}


def guarded_resends_with_requests(event: dict[str, Any]) -> dict[str, Any]:
    """The same Retry, on a ticket that carries its external_id."""
    session = requests.Session()
    session.mount("https://", requests.adapters.HTTPAdapter(max_retries=RESEND_ALL))
    session.post(ZENDESK + "/api/v2/tickets.json", data=_ticket(event), timeout=10,
                 headers={"Authorization": ZENDESK_AUTH, "Content-Type": "application/json"}).raise_for_status()
    return {"status": "ok"}
