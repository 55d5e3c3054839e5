"""Client x fault: each client's own retry logic meets the injected fault as on a network.

Faults are injected at the World boundary; the client sees them at the
connection layer, under its pool and its retries.  Each row states what the
library documents:

* urllib3 ``Retry`` (also under ``requests``' ``HTTPAdapter``): connect and
  read errors count against ``connect``/``read``, a read error on a method
  outside ``allowed_methods`` is not retried, statuses in ``status_forcelist``
  are retried and ``Retry-After`` is honoured for 429/503;
* ``requests`` without ``Retry``, ``urllib.request``, httpx and aiohttp do not
  retry (httpx's ``HTTPTransport(retries=N)`` retries connect failures only);
* the stripe SDK retries connection errors, timeouts and 5xx/429 itself
  (``max_network_retries``) and sends the same automatic ``Idempotency-Key``
  each time, so an execute-then-timeout on a create makes one customer.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from harness._aio import run
from harness._shared.wire import VirtualClock
from harness.chaos import TransportInjector, get_fault, virtual_time
from harness.systems import World, standard_world

STRIPE = "https://api.stripe.com"
KEY = "sk_test_matrix"
HEADERS = {"Authorization": f"Bearer {KEY}"}
LIST = "GET /v1/customers"
CREATE = "POST /v1/customers"


def _world(name: str, endpoint: str, params: dict[str, Any], times: int) -> tuple[World, VirtualClock]:
    clock = VirtualClock()
    world = standard_world(1, clock=clock)
    injector = TransportInjector(clock, world)
    injector.arm(get_fault(name), "stripe", endpoint, params, times)
    world.interceptors.append(injector)
    return world, clock


def _retry(**kw: Any) -> Retry:
    base: dict[str, Any] = {
        "total": 3, "backoff_factor": 0, "status_forcelist": (429, 503), "raise_on_status": False
    }
    base.update(kw)
    return Retry(**base)


def _customers(world: World) -> int:
    return sum(1 for w in world.writes if w.kind == "customer" and w.action == "create")


# -- urllib3 Retry, directly and under requests ------------------------------------------


def _urllib3_get(retry: Retry) -> int:
    return int(
        urllib3.PoolManager(retries=retry).request(
            "GET", f"{STRIPE}/v1/customers", headers=HEADERS, timeout=5
        ).status
    )


def _requests_get(retry: Retry) -> int:
    s = requests.Session()
    s.mount("https://", HTTPAdapter(max_retries=retry))
    return s.get(f"{STRIPE}/v1/customers", headers=HEADERS, timeout=5).status_code


def _urllib3_post(retry: Retry) -> int:
    return int(
        urllib3.PoolManager(retries=retry).request(
            "POST", f"{STRIPE}/v1/customers", headers=HEADERS, fields={"email": "a@b.co"},
            encode_multipart=False, timeout=5,
        ).status
    )


def _requests_post(retry: Retry) -> int:
    s = requests.Session()
    s.mount("https://", HTTPAdapter(max_retries=retry))
    return s.post(f"{STRIPE}/v1/customers", headers=HEADERS, data={"email": "a@b.co"}, timeout=5).status_code


GETS: dict[str, Callable[[Retry], int]] = {"urllib3": _urllib3_get, "requests": _requests_get}
POSTS: dict[str, Callable[[Retry], int]] = {"urllib3": _urllib3_post, "requests": _requests_post}


@pytest.mark.parametrize("client", sorted(GETS))
@pytest.mark.parametrize(
    ("fault", "params"),
    [
        ("connection_reset", {}),
        ("server_error", {"status": 503}),
        ("rate_limited", {"retry_after": 5}),
        ("stall", {}),
    ],
)
def test_retry_recovers_one_transient_fault_on_a_read(client: str, fault: str, params: dict[str, Any]) -> None:
    world, clock = _world(fault, LIST, params, 1)
    with world.activate(), virtual_time(clock):
        status = GETS[client](_retry())
    assert status == 200
    assert [c.fault for c in world.calls] == [fault, None]
    if fault == "rate_limited":
        assert clock.elapsed() >= 5  # urllib3 slept Retry-After (virtually)
    if fault == "stall":
        assert clock.elapsed() >= 5  # the read timeout expired once


@pytest.mark.parametrize("client", sorted(GETS))
def test_retry_total_3_retries_a_persistent_reset_three_times(client: str) -> None:
    world, clock = _world("connection_reset", LIST, {}, 100)
    # each client raises its own connection error type (checked below), hence Exception
    with world.activate(), virtual_time(clock), pytest.raises(Exception) as raised:  # noqa: PT011
        GETS[client](_retry())
    assert len(world.calls) == 4  # the first try and three retries
    assert "Max retries exceeded" in str(raised.value)


@pytest.mark.parametrize("client", sorted(POSTS))
def test_a_read_error_on_post_is_not_retried_by_default(client: str) -> None:
    world, clock = _world("execute_then_timeout", CREATE, {}, 1)
    with world.activate(), virtual_time(clock), pytest.raises(
        (urllib3.exceptions.ReadTimeoutError, requests.exceptions.ReadTimeout)
    ):
        POSTS[client](_retry())
    assert len(world.calls) == 1
    assert _customers(world) == 1


@pytest.mark.parametrize("client", sorted(POSTS))
def test_a_retry_allowing_post_resends_after_execute_then_timeout_making_a_duplicate(client: str) -> None:
    world, clock = _world("execute_then_timeout", CREATE, {}, 1)
    retry = _retry(allowed_methods=frozenset({"GET", "POST"}))
    with world.activate(), virtual_time(clock):
        assert POSTS[client](retry) == 200
    assert [c.outcome for c in world.calls] == ["unknown", "ok"]
    assert _customers(world) == 2  # the duplicate the oracles exist to report


# -- clients without retries ----------------------------------------------------------------


def _plain_requests() -> int:
    return requests.get(f"{STRIPE}/v1/customers", headers=HEADERS, timeout=5).status_code


def _urllib_request() -> int:
    req = urllib.request.Request(f"{STRIPE}/v1/customers", headers=HEADERS)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _httpx() -> int:
    with httpx.Client(transport=httpx.HTTPTransport(retries=2), timeout=5) as c:
        return c.get(f"{STRIPE}/v1/customers", headers=HEADERS).status_code


def _httpx_async() -> int:
    async def go() -> int:
        async with httpx.AsyncClient(timeout=5) as c:
            return (await c.get(f"{STRIPE}/v1/customers", headers=HEADERS)).status_code

    return int(run(go(), VirtualClock()))


def _aiohttp() -> int:
    aiohttp = pytest.importorskip("aiohttp")

    async def go() -> int:
        timeout = aiohttp.ClientTimeout(total=30, sock_read=5)
        async with (
            aiohttp.ClientSession(timeout=timeout) as s,
            s.get(f"{STRIPE}/v1/customers", headers=HEADERS) as r,
        ):
            await r.read()
            return int(r.status)

    return int(asyncio.run(go()))


PLAIN: dict[str, Callable[[], int]] = {
    "requests": _plain_requests,
    "urllib.request": _urllib_request,
    "httpx": _httpx,
    "httpx async": _httpx_async,
    "aiohttp": _aiohttp,
}


@pytest.mark.parametrize("client", sorted(PLAIN))
@pytest.mark.parametrize(("fault", "status"), [("server_error", 503), ("rate_limited", 429)])
def test_a_client_without_retries_sees_the_status_once(client: str, fault: str, status: int) -> None:
    world, clock = _world(fault, LIST, {"status": 503} if status == 503 else {"retry_after": 5}, 1)
    with world.activate(), virtual_time(clock):
        assert PLAIN[client]() == status
    assert len(world.calls) == 1


@pytest.mark.parametrize(
    ("client", "fault"),
    [
        (client, fault)
        for client in sorted(PLAIN)
        for fault in ("connection_reset", "stall", "execute_then_timeout")
        # aiohttp retries an idempotent request once after a reset: tested below
        if (client, fault) != ("aiohttp", "connection_reset")
    ],
)
def test_a_client_without_retries_raises_its_own_error_once(client: str, fault: str) -> None:
    world, clock = _world(fault, LIST, {}, 1)
    errors: tuple[type[BaseException], ...] = (OSError, httpx.TransportError, requests.RequestException)
    try:
        import aiohttp

        errors = (*errors, aiohttp.ClientError)
    except ImportError:  # pragma: no cover - aiohttp is a test dependency
        pass
    with world.activate(), virtual_time(clock), pytest.raises(errors):
        PLAIN[client]()
    assert len(world.calls) == 1
    if fault != "connection_reset":
        assert clock.elapsed() == 5  # the client's own read timeout, in virtual time


def test_aiohttp_retries_an_idempotent_request_once_after_a_reset() -> None:
    """aiohttp 3.x re-sends a GET once on ``ClientOSError`` (RFC 9112 section 9.3.1.1)."""
    world, clock = _world("connection_reset", LIST, {}, 1)
    with world.activate(), virtual_time(clock):
        assert _aiohttp() == 200
    assert [c.fault for c in world.calls] == ["connection_reset", None]
    world, clock = _world("connection_reset", LIST, {}, 2)
    aiohttp = pytest.importorskip("aiohttp")
    with world.activate(), virtual_time(clock), pytest.raises(aiohttp.ClientOSError):
        _aiohttp()
    assert len(world.calls) == 2


def test_httpx_transport_retries_retry_a_refused_connect() -> None:
    """``HTTPTransport(retries=2)``: httpcore retries a failed connect twice, with its backoff."""
    world = World()
    clock = world.clock
    assert isinstance(clock, VirtualClock)
    with (
        world.activate(),
        virtual_time(clock),
        pytest.raises(httpx.ConnectError),
        httpx.Client(transport=httpx.HTTPTransport(retries=2)) as c,
    ):
        c.get("https://unfaked.example/x")
    assert [c.fault for c in world.calls] == ["unfaked_host"] * 3
    assert clock.elapsed() == 0.5  # httpcore's backoff: 0, then 0.5 s


# -- vendor SDKs, unmodified -------------------------------------------------------------


def test_stripe_sdk_retries_a_lost_create_with_its_automatic_idempotency_key() -> None:
    stripe = pytest.importorskip("stripe")
    world, clock = _world("execute_then_timeout", CREATE, {}, 1)
    client = stripe.StripeClient(
        KEY, max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=5),
    )
    with world.activate(), virtual_time(clock):
        customer = client.v1.customers.create(params={"email": "a@b.co"})
    assert customer.id.startswith("cus_")
    assert len(world.calls) == 2
    keys = {c.request.header("Idempotency-Key") for c in world.calls}
    assert len(keys) == 1 and None not in keys  # one automatic key, sent twice
    assert _customers(world) == 1  # the fake replayed the first answer: no duplicate


def test_stripe_sdk_retries_a_503_itself() -> None:
    stripe = pytest.importorskip("stripe")
    world, clock = _world("server_error", LIST, {"status": 503}, 1)
    client = stripe.StripeClient(KEY, max_network_retries=2, http_client=stripe.RequestsClient(timeout=5))
    with world.activate(), virtual_time(clock):
        listed = client.v1.customers.list()
    assert listed.object == "list"
    assert [c.status for c in world.calls] == [503, 200]


def test_hubspot_sdk_on_urllib3_retries_with_its_configured_retry() -> None:
    hubspot = pytest.importorskip("hubspot")
    clock = VirtualClock()
    world = standard_world(1, clock=clock)
    contact_id = str(world.system("hubspot").records()["contact"][0]["id"])
    injector = TransportInjector(clock, world)
    injector.arm(get_fault("server_error"), "hubspot", "*", {"status": 503}, 1)
    world.interceptors.append(injector)
    api = hubspot.HubSpot(
        access_token="pat-na1-matrix",
        retry=Retry(total=3, backoff_factor=0, status_forcelist=(503,)),
    )
    with world.activate(), virtual_time(clock):
        contact = api.crm.contacts.basic_api.get_by_id(contact_id)
    assert str(contact.id) == str(contact_id)
    assert [c.status for c in world.calls] == [503, 200]
    assert {c.request.client for c in world.calls} == {"urllib3"}
