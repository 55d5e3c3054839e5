"""Hypothesis properties of the fakes: Stripe idempotency, and no Python exception ever escapes."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from harness._shared.wire import Request
from harness.systems import Stripe, World, standard_world

from ._helpers import HUBSPOT_AUTH, STRIPE_AUTH, ZENDESK_AUTH

API = "https://api.stripe.com"
SETTINGS = settings(deadline=None, max_examples=60, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

_safe_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)
_meta_key = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
customer_params = st.fixed_dictionaries(
    {},
    optional={
        "email": st.emails(),
        "name": _safe_text,
        "description": _safe_text,
        "metadata": st.dictionaries(_meta_key, _safe_text.filter(bool), max_size=3),
    },
)


def _form(params: dict[str, Any]) -> bytes:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, dict):
            pairs.extend((f"{key}[{k}]", v) for k, v in value.items())
        else:
            pairs.append((key, value))
    return urlencode(pairs).encode()


def _post(world: World, path: str, body: bytes, key: str | None) -> Any:
    headers: list[tuple[str, str]] = [STRIPE_AUTH, ("Content-Type", "application/x-www-form-urlencoded")]
    if key is not None:
        headers.append(("Idempotency-Key", key))
    return world.dispatch(Request("POST", API + path, tuple(headers), body))


@SETTINGS
@given(params=customer_params, key=st.text(alphabet="abcdef0123456789-", min_size=1, max_size=40),
       repeats=st.integers(min_value=2, max_value=5))
def test_replaying_a_key_never_creates_a_second_object(params: dict, key: str, repeats: int) -> None:
    world = World([Stripe()])
    responses = [_post(world, "/v1/customers", _form(params), key) for _ in range(repeats)]
    assert len(world.system("stripe").records()["customer"]) == (1 if responses[0].status == 200 else 0)
    assert {r.status for r in responses} == {responses[0].status}
    assert {r.body for r in responses} == {responses[0].body}
    assert all(r.header("Idempotent-Replayed") == "true" for r in responses[1:])


@SETTINGS
@given(first=customer_params, second=customer_params,
       key=st.text(alphabet="abcdef0123456789-", min_size=1, max_size=40))
def test_a_different_body_under_the_same_key_is_always_a_400(first: dict, second: dict, key: str) -> None:
    # bodies that differ once encoded (an empty metadata hash encodes to nothing)
    assume(sorted(parse_qsl(_form(first).decode())) != sorted(parse_qsl(_form(second).decode())))
    world = World([Stripe()])
    assert _post(world, "/v1/customers", _form(first), key).status == 200
    reused = _post(world, "/v1/customers", _form(second), key)
    assert reused.status == 400
    assert reused.json()["error"]["type"] == "idempotency_error"
    assert len(world.system("stripe").records()["customer"]) == 1


@SETTINGS
@given(amount=st.integers(min_value=-10**6, max_value=10**8), key=st.uuids(),
       repeats=st.integers(min_value=1, max_value=4))
def test_invoice_item_replays_keep_one_item(amount: int, key: Any, repeats: int) -> None:
    world = World([Stripe()])
    customer = _post(world, "/v1/customers", b"email=a%40b.co", None).json()["id"]
    body = urlencode({"customer": customer, "amount": amount, "currency": "usd"}).encode()
    for _ in range(repeats):
        assert _post(world, "/v1/invoiceitems", body, str(key)).status == 200
    assert len(world.system("stripe").records()["invoiceitem"]) == 1


_TARGETS = [
    ("POST", "https://api.stripe.com/v1/customers", STRIPE_AUTH, "stripe"),
    ("POST", "https://api.stripe.com/v1/invoiceitems", STRIPE_AUTH, "stripe"),
    ("POST", "https://api.stripe.com/v1/invoices", STRIPE_AUTH, "stripe"),
    ("POST", "https://api.stripe.com/v1/invoices/in_x/finalize", STRIPE_AUTH, "stripe"),
    ("PATCH", "https://api.hubapi.com/crm/v3/objects/deals/DEAL", HUBSPOT_AUTH, "hubspot"),
    ("POST", "https://api.hubapi.com/crm/v3/objects/contacts", HUBSPOT_AUTH, "hubspot"),
    ("POST", "https://acme.zendesk.com/api/v2/tickets.json", ZENDESK_AUTH, "zendesk"),
    ("PUT", "https://acme.zendesk.com/api/v2/tickets/101.json", ZENDESK_AUTH, "zendesk"),
    ("POST", "https://acme.zendesk.com/api/v2/users/create_or_update.json", ZENDESK_AUTH, "zendesk"),
]
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _safe_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_safe_text, inner, max_size=3),
    max_leaves=8,
)
_bodies = st.one_of(
    st.binary(max_size=60),
    st.lists(st.tuples(st.text(alphabet="abc[]_=&%x", max_size=12), _safe_text), max_size=5).map(
        lambda pairs: urlencode(pairs).encode()),
    _json_values.map(lambda v: __import__("json").dumps(v).encode()),
    st.dictionaries(st.sampled_from(["ticket", "user", "properties"]), _json_values, max_size=2).map(
        lambda v: __import__("json").dumps(v).encode()),
)


def _vendor_shaped(system: str, body: Any) -> bool:
    if system == "stripe":
        return {"type", "code", "message", "param"} <= set(body["error"])
    if system == "hubspot":
        return body["status"] == "error" and "category" in body and "message" in body
    return "error" in body


@settings(deadline=None, max_examples=150, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(_TARGETS), body=_bodies,
       ctype=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain"]))
def test_malformed_requests_get_the_vendor_error_shape(target: tuple, body: bytes, ctype: str) -> None:
    method, url, auth, system = target
    world = standard_world(0, deals=1)
    hubspot = world.system("hubspot")
    url = url.replace("DEAL", hubspot.deal_ids()[0])
    # a ticket to update, so PUT reaches validation
    world.dispatch(Request("POST", "https://acme.zendesk.com/api/v2/tickets.json",
                           (ZENDESK_AUTH, ("Content-Type", "application/json")),
                           b'{"ticket": {"comment": {"body": "x"}}}'))
    response = world.dispatch(Request(method, url, (auth, ("Content-Type", ctype)), body))
    assert response.status < 500, response.body
    if response.status >= 400:
        assert _vendor_shaped(system, response.json()), response.body
    assert all(not getattr(s, "crashes", ()) for s in world.systems)
