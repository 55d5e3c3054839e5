"""Interception (requests and httpx, one shared state), fault hooks, inspection and reset."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import requests

from harness._shared.wire import ConnectionReset, Request, Response, Timeout
from harness.systems import (
    CallContext,
    HubSpot,
    Stripe,
    World,
    created_by,
    diff,
    drop_field,
    has_field,
    records_with_origin,
    set_field,
    snapshot,
)
from harness.systems._world import Next

from ._helpers import HUBSPOT_AUTH, STRIPE_AUTH, STRIPE_KEY, call

STRIPE = "https://api.stripe.com"


def test_requests_and_httpx_share_one_state(world: World) -> None:
    with world.activate():
        made = requests.post(f"{STRIPE}/v1/customers", data={"email": "a@b.co"},
                             auth=(STRIPE_KEY, ""), timeout=7)
        assert made.status_code == 200
        assert made.headers["Content-Type"] == "application/json"
        with httpx.Client() as client:
            got = client.get(f"{STRIPE}/v1/customers/{made.json()['id']}",
                             headers={"Authorization": f"Bearer {STRIPE_KEY}"})
        assert got.status_code == 200 and got.json()["email"] == "a@b.co"

        async def fetch() -> int:
            async with httpx.AsyncClient() as client:
                resp = await client.get(f"{STRIPE}/v1/customers",
                                        headers={"Authorization": f"Bearer {STRIPE_KEY}"})
                return len(resp.json()["data"])

        assert asyncio.run(fetch()) == 1
    assert [c.request.client for c in world.calls] == ["urllib3", "httpx", "httpx"]
    assert world.calls[0].timeout == 7.0
    assert "Basic" not in world.calls[0].url


def test_unfaked_hosts_are_refused_for_both_clients(world: World) -> None:
    with world.activate():
        with pytest.raises(requests.exceptions.ConnectionError, match="no fake system serves"):
            requests.get("https://example.org/x?api_key=SECRET123", timeout=1)
        with pytest.raises(httpx.ConnectError):
            httpx.get("http://127.0.0.1:9/")
    assert world.calls[0].fault == "unfaked_host"
    assert "SECRET123" not in world.calls[0].url
    # nothing is patched after the block
    assert requests.adapters.HTTPAdapter.send.__module__ == "requests.adapters"


def test_configured_base_url_with_prefix_is_served() -> None:
    stripe = Stripe(extra_hosts=("https://billing-gw.internal:8443/stripe",))
    world = World([stripe])
    with world.activate():
        resp = requests.post("https://billing-gw.internal:8443/stripe/v1/customers",
                             data={"name": "Gw"}, headers={"Authorization": f"Bearer {STRIPE_KEY}"})
        assert resp.status_code == 200
        assert requests.get("https://api.stripe.com/v1/customers",
                            headers={"Authorization": f"Bearer {STRIPE_KEY}"}).json()["data"][0]["name"] == "Gw"
    with pytest.raises(ValueError, match="names no host"):
        Stripe(extra_hosts=("https:///nohost",))


def _execute_then_timeout(req: Request, ctx: CallContext, call_next: Next) -> Response:
    call_next(req)
    ctx.fault = "timeout_after"
    raise Timeout("read timed out after the server acted", executed=True)


def test_fakes_work_under_an_interceptor_that_executes_then_raises(world: World) -> None:
    world.interceptors.append(_execute_then_timeout)
    with world.activate():
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(f"{STRIPE}/v1/customers", data={"email": "a@b.co"},
                          headers={"Authorization": f"Bearer {STRIPE_KEY}", "Idempotency-Key": "t-1"})
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{STRIPE}/v1/customers", data={"email": "a@b.co"},
                       headers={"Authorization": f"Bearer {STRIPE_KEY}", "Idempotency-Key": "t-1"})
        world.interceptors.clear()
        retry = requests.post(f"{STRIPE}/v1/customers", data={"email": "a@b.co"},
                              headers={"Authorization": f"Bearer {STRIPE_KEY}", "Idempotency-Key": "t-1"})
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(world.system("stripe").records()["customer"]) == 1  # the key held through the faults
    first, second, third = world.calls
    assert (first.outcome, first.executed, first.fault) == ("unknown", True, "timeout_after")
    assert second.outcome == "unknown" and third.outcome == "ok"
    assert [w.kind for w in world.writes] == ["customer"]


def test_connection_reset_maps_to_client_errors(world: World) -> None:
    def reset(req: Request, ctx: CallContext, call_next: Next) -> Response:
        raise ConnectionReset("reset by peer")

    world.interceptors.append(reset)
    with world.activate():
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"{STRIPE}/v1/customers")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{STRIPE}/v1/customers")
    assert all(c.outcome == "failed" for c in world.calls)


def test_drop_and_set_field_reshape_a_response(world: World) -> None:
    hubspot: HubSpot = world.system("hubspot")
    deal = hubspot.deal_ids()[0]

    def drop_email(req: Request, ctx: CallContext, call_next: Next) -> Response:
        ctx.fault = "missing_field"
        return drop_field(call_next(req), "associations.contacts.results.*.id")

    world.interceptors.append(drop_email)
    with world.activate():
        body = requests.get(f"https://api.hubapi.com/crm/v3/objects/deals/{deal}?associations=contacts",
                            headers=dict([HUBSPOT_AUTH])).json()
    assert body["associations"]["contacts"]["results"] == [{"type": "deal_to_contact"}]
    plain = Response.of_json(200, {"properties": {"email": "a@b.co", "n": [1, 2]}})
    assert drop_field(plain, "properties.email").json() == {"properties": {"n": [1, 2]}}
    assert drop_field(plain, "properties.n.0").json()["properties"]["n"] == [None, 2]
    assert set_field(plain, "properties.email", None).json()["properties"]["email"] is None
    assert drop_field(plain, "nope.x") is plain
    with pytest.raises(KeyError, match=r"nope\.x"):
        drop_field(plain, "nope.x", missing_ok=False)
    assert has_field(plain, "properties.email") and not has_field(plain, "properties.x")
    assert drop_field(Response(200, (), b"not json"), "a") .body == b"not json"


def test_snapshot_diff_restore_and_origins(world: World) -> None:
    before = snapshot(world)
    with world.tagged("delivery-1"):
        customer = call(world, "POST", f"{STRIPE}/v1/customers", auth=STRIPE_AUTH,
                        form={"email": "a@b.co"}).json()
        call(world, "POST", f"{STRIPE}/v1/customers/{customer['id']}", auth=STRIPE_AUTH,
             form={"name": "Renamed"})
    after = snapshot(world)
    changes = diff(before, after)
    assert [(c.system, c.kind, c.change) for c in changes.changes] == [("stripe", "customer", "added")]
    assert after.count("stripe", "customer") == 1 and before.count("stripe", "customer") == 0
    request = created_by(world, "stripe", "customer", customer["id"])
    assert request is not None and request.method == "POST" and b"email=a%40b.co" in request.body
    origins = {o.object_id: o for o in records_with_origin(world, "stripe")}
    assert origins[customer["id"]].tag == "delivery-1"
    assert origins[customer["id"]].record["name"] == "Renamed"
    seeded = records_with_origin(world, "hubspot")
    assert seeded and all(o.created_by is None for o in seeded)
    # records are never mutated in place: the first snapshot still shows the old state
    mid = snapshot(world)
    call(world, "POST", f"{STRIPE}/v1/customers/{customer['id']}", auth=STRIPE_AUTH, form={"name": "Again"})
    changed = diff(mid, snapshot(world)).changed
    assert len(changed) == 1 and changed[0].fields == ("name",)
    assert changed[0].before is not None and changed[0].before["name"] == "Renamed"
    world.restore(before)
    assert world.system("stripe").records()["customer"] == [] and world.writes == [] and world.calls == []
    again = call(world, "POST", f"{STRIPE}/v1/customers", auth=STRIPE_AUTH, form={"email": "a@b.co"}).json()
    assert again["id"] == customer["id"]  # ids replay from the restored generator state


def test_reset_forgets_records_keys_and_logs(world: World) -> None:
    call(world, "POST", f"{STRIPE}/v1/customers", auth=STRIPE_AUTH, form={"email": "a@b.co"},
         headers={"Idempotency-Key": "r"})
    world.reset()
    assert world.system("stripe").records()["customer"] == []
    assert world.system("stripe").idempotency_keys() == []
    assert world.system("hubspot").deal_ids() == [] and world.calls == [] and world.writes == []


def test_a_crash_inside_a_fake_is_a_vendor_500_and_recorded(world: World) -> None:
    stripe: Stripe = world.system("stripe")

    def boom(p: object, request: Request, args: object) -> Response:
        raise RuntimeError("bug in the fake")

    stripe._routes = [(m, pat, type(e)(e.method, e.pattern, e.spec, boom)) for m, pat, e in stripe._routes]
    resp = call(world, "GET", f"{STRIPE}/v1/customers", auth=STRIPE_AUTH)
    assert resp.status == 500 and resp.json()["error"]["type"] == "api_error"
    assert isinstance(stripe.crashes[0], RuntimeError)


def test_base_urls_with_ports_and_prefixes_route_to_the_right_fake() -> None:
    from harness.systems import Zendesk

    stripe = Stripe(extra_hosts=("https://gw.internal/stripe", "http://localhost:12111"))
    zendesk = Zendesk(extra_hosts=("https://gw.internal/zendesk", "http://localhost:12112"))
    world = World([stripe, zendesk])
    auth = {"Authorization": f"Bearer {STRIPE_KEY}"}
    with world.activate():
        assert requests.get("https://gw.internal/stripe/v1/customers", headers=auth).status_code == 200
        assert requests.get("http://localhost:12111/v1/customers", headers=auth).status_code == 200
        assert requests.get("https://gw.internal/zendesk/api/v2/tickets.json",
                            headers={"Authorization": "Bearer t"}).json()["count"] == 0
        assert httpx.get("http://localhost:12112/api/v2/tickets.json",
                         headers={"Authorization": "Bearer t"}).status_code == 200
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get("https://gw.internal/elsewhere")
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get("http://localhost:9999/v1/customers")
    assert [c.system for c in world.calls] == ["stripe", "stripe", "zendesk", "zendesk",
                                               "gw.internal", "localhost"]


def test_public_names_are_sorted_and_importable() -> None:
    import harness.systems as systems

    # ruff's isort-style order (RUF022): constants, then classes, then functions
    def group(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)

    assert systems.__all__ == sorted(systems.__all__, key=group)
    assert all(hasattr(systems, name) for name in systems.__all__)
