"""Fake Stripe: documented shapes, errors, nested forms and Idempotency-Key semantics."""

from __future__ import annotations

import base64

import pytest

from harness._shared.wire import VirtualClock
from harness.systems import Stripe, World

from ._helpers import STRIPE_AUTH, STRIPE_KEY, assert_shape, call, load

API = "https://api.stripe.com"


@pytest.fixture
def stripe_world() -> World:
    return World([Stripe()], clock=VirtualClock())


def _customer(world: World, **extra: str) -> dict:
    resp = call(world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH,
                form={"email": "jenny@example.com", "name": "Jenny Rosen", **extra})
    assert resp.status == 200, resp.body
    return resp.json()


def _bill(world: World) -> tuple[dict, dict, dict]:
    customer = _customer(world, **{"metadata[deal_id]": "512"})
    item = call(world, "POST", f"{API}/v1/invoiceitems", auth=STRIPE_AUTH,
                form={"customer": customer["id"], "amount": "150000", "currency": "usd",
                      "description": "Custom data integrations"}).json()
    invoice = call(world, "POST", f"{API}/v1/invoices", auth=STRIPE_AUTH,
                   form={"customer": customer["id"], "collection_method": "send_invoice",
                         "days_until_due": "30", "pending_invoice_items_behavior": "include"}).json()
    return customer, item, invoice


def test_customer_matches_documented_shape(stripe_world: World) -> None:
    customer = _customer(stripe_world, **{"metadata[deal_id]": "512"})
    assert_shape(customer, load("stripe", "customer"))
    assert customer["metadata"] == {"deal_id": "512"}
    assert customer["id"].startswith("cus_")


def test_invoice_flow_matches_documented_shapes(stripe_world: World) -> None:
    customer, item, invoice = _bill(stripe_world)
    assert_shape(item, load("stripe", "invoiceitem"))
    assert_shape(invoice, load("stripe", "invoice"))
    assert_shape(invoice["lines"]["data"][0], load("stripe", "invoice_line_item"))
    assert invoice["status"] == "draft" and invoice["number"] is None
    assert invoice["total"] == invoice["amount_due"] == 150000
    assert invoice["due_date"] == invoice["created"] + 30 * 86400
    final = call(stripe_world, "POST", f"{API}/v1/invoices/{invoice['id']}/finalize",
                 auth=STRIPE_AUTH).json()
    assert final["status"] == "open"
    assert final["number"] == f"{customer['invoice_prefix']}-0001"
    assert final["status_transitions"]["finalized_at"] is not None
    # the item now belongs to the invoice
    got = call(stripe_world, "GET", f"{API}/v1/invoiceitems/{item['id']}", auth=STRIPE_AUTH).json()
    assert got["invoice"] == invoice["id"]


def test_invoice_item_attached_with_invoice_param(stripe_world: World) -> None:
    customer = _customer(stripe_world)
    invoice = call(stripe_world, "POST", f"{API}/v1/invoices", auth=STRIPE_AUTH,
                   form={"customer": customer["id"]}).json()
    assert invoice["lines"]["data"] == [] and invoice["collection_method"] == "charge_automatically"
    call(stripe_world, "POST", f"{API}/v1/invoiceitems", auth=STRIPE_AUTH,
         form={"customer": customer["id"], "amount": "700", "currency": "eur",
               "invoice": invoice["id"]})
    again = call(stripe_world, "GET", f"{API}/v1/invoices/{invoice['id']}", auth=STRIPE_AUTH).json()
    assert again["total"] == 700 and again["currency"] == "eur"
    call(stripe_world, "POST", f"{API}/v1/invoices/{invoice['id']}/finalize", auth=STRIPE_AUTH)
    late = call(stripe_world, "POST", f"{API}/v1/invoiceitems", auth=STRIPE_AUTH,
                form={"customer": customer["id"], "amount": "5", "currency": "eur",
                      "invoice": invoice["id"]})
    assert late.status == 400 and late.json()["error"]["code"] == "invoice_not_editable"


def test_pending_items_excluded_by_default(stripe_world: World) -> None:
    customer = _customer(stripe_world)
    call(stripe_world, "POST", f"{API}/v1/invoiceitems", auth=STRIPE_AUTH,
         form={"customer": customer["id"], "amount": "100", "currency": "usd"})
    invoice = call(stripe_world, "POST", f"{API}/v1/invoices", auth=STRIPE_AUTH,
                   form={"customer": customer["id"]}).json()
    assert invoice["total"] == 0
    pending = call(stripe_world, "GET", f"{API}/v1/invoiceitems?pending=true",
                   auth=STRIPE_AUTH).json()
    assert len(pending["data"]) == 1


def test_list_and_search_match_documented_shapes(stripe_world: World) -> None:
    _bill(stripe_world)
    second = _customer(stripe_world)
    listed = call(stripe_world, "GET", f"{API}/v1/customers?limit=1", auth=STRIPE_AUTH).json()
    assert_shape(listed, load("stripe", "list_customers"))
    assert listed["data"][0]["id"] == second["id"] and listed["has_more"] is True  # newest first
    found = call(stripe_world, "GET", f"{API}/v1/invoices/search",
                 auth=STRIPE_AUTH).status
    assert found == 400  # query is required
    query = "metadata['deal_id']:'512'"
    hits = call(stripe_world, "GET", f"{API}/v1/customers/search?query={query}",
                auth=STRIPE_AUTH).json()
    assert [c["metadata"]["deal_id"] for c in hits["data"]] == ["512"]


@pytest.mark.parametrize(
    ("form", "status", "code", "param"),
    [
        ({"amount": "100", "currency": "usd"}, 400, "parameter_missing", "customer"),
        ({"customer": "cus_nope", "amount": "100", "currency": "usd"}, 400, "resource_missing", "customer"),
        ({"customer": "CUS", "amount": "ten", "currency": "usd"}, 400, "parameter_invalid_integer", "amount"),
        ({"customer": "CUS", "amount": "1", "currency": "usd", "colour": "red"}, 400, "parameter_unknown", "colour"),
        ({"customer": "", "amount": "1", "currency": "usd"}, 400, "parameter_invalid_empty", "customer"),
        ({"customer": "CUS", "amount": "1", "currency": "xyz"}, 400, None, "currency"),
        ({"customer": "CUS", "amount": "1", "currency": "usd", "metadata": "x"}, 400, None, "metadata"),
    ],
)
def test_invoiceitem_errors_in_stripe_shape(
    stripe_world: World, form: dict, status: int, code: str | None, param: str
) -> None:
    customer = _customer(stripe_world)
    form = {k: (customer["id"] if v == "CUS" else v) for k, v in form.items()}
    resp = call(stripe_world, "POST", f"{API}/v1/invoiceitems", auth=STRIPE_AUTH, form=form)
    assert resp.status == status
    error = resp.json()["error"]
    assert {"type", "code", "message", "param"} <= set(error)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code and error["param"] == param
    assert error["message"]


def test_error_fixtures_shape(stripe_world: World) -> None:
    missing = call(stripe_world, "GET", f"{API}/v1/customers/cus_nope", auth=STRIPE_AUTH)
    assert missing.status == 404
    assert_shape(missing.json(), load("stripe", "error_resource_missing"))
    no_customer = call(stripe_world, "POST", f"{API}/v1/invoices", auth=STRIPE_AUTH, form={})
    assert_shape(no_customer.json(), load("stripe", "error_parameter_missing"))


def test_auth_bearer_basic_and_missing(stripe_world: World) -> None:
    basic = ("Authorization", "Basic " + base64.b64encode(f"{STRIPE_KEY}:".encode()).decode())
    assert call(stripe_world, "GET", f"{API}/v1/customers", auth=basic).status == 200
    none = call(stripe_world, "GET", f"{API}/v1/customers")
    assert none.status == 401 and "API key" in none.json()["error"]["message"]
    bad = call(stripe_world, "GET", f"{API}/v1/customers", auth=("Authorization", "Bearer pk_test_abcdefghijklmnop"))
    assert bad.status == 401 and "pk_test_" in bad.json()["error"]["message"]
    assert "abcdefghijklmnop" not in bad.json()["error"]["message"]  # the key is masked


def test_unrecognized_url_and_json_body(stripe_world: World) -> None:
    resp = call(stripe_world, "POST", f"{API}/v1/charges_v9", auth=STRIPE_AUTH, form={})
    assert resp.status == 404 and "Unrecognized request URL" in resp.json()["error"]["message"]
    as_json = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH,
                   json_body={"email": "a@b.co"})
    assert as_json.status == 400 and as_json.json()["error"]["type"] == "invalid_request_error"


# -- idempotency ---------------------------------------------------------------


def test_same_key_replays_the_first_result(stripe_world: World) -> None:
    form = {"email": "a@b.co", "metadata[deal_id]": "1"}
    first = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH, form=form,
                 headers={"Idempotency-Key": "k-1"})
    again = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH,
                 form=list(reversed(list(form.items()))), headers={"Idempotency-Key": "k-1"})
    assert again.status == first.status == 200
    assert again.body == first.body
    assert again.header("Idempotent-Replayed") == "true"
    assert first.header("Idempotent-Replayed") is None
    assert len(stripe_world.system("stripe").records()["customer"]) == 1


def test_same_key_other_params_or_endpoint_is_400(stripe_world: World) -> None:
    call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH, form={"email": "a@b.co"},
         headers={"Idempotency-Key": "k-2"})
    other = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH,
                 form={"email": "z@b.co"}, headers={"Idempotency-Key": "k-2"})
    assert other.status == 400
    assert_shape(other.json(), load("stripe", "error_idempotency"))
    assert other.json()["error"]["type"] == "idempotency_error"
    elsewhere = call(stripe_world, "POST", f"{API}/v1/invoices", auth=STRIPE_AUTH,
                     form={"email": "a@b.co"}, headers={"Idempotency-Key": "k-2"})
    assert elsewhere.status == 400 and "same endpoint" in elsewhere.json()["error"]["message"]


def test_validation_failures_are_not_stored(stripe_world: World) -> None:
    bad = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH,
               form={"email": "not-an-email"}, headers={"Idempotency-Key": "k-3"})
    assert bad.status == 400 and bad.json()["error"]["code"] == "email_invalid"
    good = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH,
                form={"email": "ok@b.co"}, headers={"Idempotency-Key": "k-3"})
    assert good.status == 200 and good.header("Idempotent-Replayed") is None


def test_a_500_inside_the_endpoint_is_stored_and_replayed(stripe_world: World) -> None:
    stripe = stripe_world.system("stripe")
    stripe.fail_next(500, path=r"^/v1/customers$")
    first = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH,
                 form={"email": "a@b.co"}, headers={"Idempotency-Key": "k-4"})
    assert first.status == 500 and first.json()["error"]["type"] == "api_error"
    again = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH,
                 form={"email": "a@b.co"}, headers={"Idempotency-Key": "k-4"})
    assert again.status == 500 and again.header("Idempotent-Replayed") == "true"
    assert again.header("Stripe-Should-Retry") == "false"  # the SDKs stop retrying a stored 500
    assert stripe.records()["customer"] == []
    fresh = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH,
                 form={"email": "a@b.co"}, headers={"Idempotency-Key": "k-5"})
    assert fresh.status == 200


def test_business_errors_are_stored(stripe_world: World) -> None:
    form = {"customer": "cus_missing", "amount": "1", "currency": "usd"}
    first = call(stripe_world, "POST", f"{API}/v1/invoiceitems", auth=STRIPE_AUTH, form=form,
                 headers={"Idempotency-Key": "k-6"})
    again = call(stripe_world, "POST", f"{API}/v1/invoiceitems", auth=STRIPE_AUTH, form=form,
                 headers={"Idempotency-Key": "k-6"})
    assert first.status == again.status == 400
    assert again.header("Idempotent-Replayed") == "true"


def test_keys_expire_after_24_hours_of_the_world_clock(stripe_world: World) -> None:
    clock = stripe_world.clock
    assert isinstance(clock, VirtualClock)
    form = {"email": "a@b.co"}
    call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH, form=form,
         headers={"Idempotency-Key": "k-7"})
    clock.advance(24 * 3600 - 1)
    assert call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH, form=form,
                headers={"Idempotency-Key": "k-7"}).header("Idempotent-Replayed") == "true"
    clock.advance(1)
    late = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH, form=form,
                headers={"Idempotency-Key": "k-7"})
    assert late.status == 200 and late.header("Idempotent-Replayed") is None
    assert len(stripe_world.system("stripe").records()["customer"]) == 2


def test_keys_are_scoped_to_the_api_key(stripe_world: World) -> None:
    other = ("Authorization", "Bearer sk_test_otheraccount000000000000")
    form = {"email": "a@b.co"}
    call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH, form=form,
         headers={"Idempotency-Key": "shared"})
    resp = call(stripe_world, "POST", f"{API}/v1/customers", auth=other, form=form,
                headers={"Idempotency-Key": "shared"})
    assert resp.header("Idempotent-Replayed") is None
    assert len(stripe_world.system("stripe").records()["customer"]) == 2


def test_get_ignores_idempotency_keys(stripe_world: World) -> None:
    _customer(stripe_world)
    a = call(stripe_world, "GET", f"{API}/v1/customers", auth=STRIPE_AUTH, headers={"Idempotency-Key": "g"})
    b = call(stripe_world, "GET", f"{API}/v1/customers?limit=5", auth=STRIPE_AUTH, headers={"Idempotency-Key": "g"})
    assert a.status == b.status == 200 and b.header("Idempotent-Replayed") is None


def test_nested_form_keys_and_expand(stripe_world: World) -> None:
    customer = _customer(stripe_world, **{"address[city]": "Berlin", "preferred_locales[]": "de"})
    assert customer["address"] == {"city": "Berlin"}
    assert customer["preferred_locales"] == ["de"]
    call(stripe_world, "POST", f"{API}/v1/invoiceitems", auth=STRIPE_AUTH,
         form={"customer": customer["id"], "amount": "100", "currency": "usd"})
    invoice = call(stripe_world, "POST", f"{API}/v1/invoices", auth=STRIPE_AUTH,
                   form=[("customer", customer["id"]), ("expand[]", "customer")]).json()
    assert invoice["customer"]["id"] == customer["id"]
    conflict = call(stripe_world, "POST", f"{API}/v1/customers", auth=STRIPE_AUTH,
                    body=b"metadata=1&metadata[a]=2",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert conflict.status == 400 and conflict.json()["error"]["param"] == "metadata"


def test_update_merges_metadata(stripe_world: World) -> None:
    customer = _customer(stripe_world, **{"metadata[a]": "1", "metadata[b]": "2"})
    updated = call(stripe_world, "POST", f"{API}/v1/customers/{customer['id']}", auth=STRIPE_AUTH,
                   form={"metadata[a]": "", "metadata[c]": "3", "name": "New"}).json()
    assert updated["metadata"] == {"b": "2", "c": "3"} and updated["name"] == "New"


def test_refinalize_is_an_error(stripe_world: World) -> None:
    _, _, invoice = _bill(stripe_world)
    url = f"{API}/v1/invoices/{invoice['id']}/finalize"
    assert call(stripe_world, "POST", url, auth=STRIPE_AUTH).status == 200
    again = call(stripe_world, "POST", url, auth=STRIPE_AUTH)
    assert again.status == 400 and "re-finalize" in again.json()["error"]["message"]


def test_rate_limit_is_a_429_in_stripe_shape() -> None:
    world = World([Stripe(rate_limit=(2, 1.0))])
    statuses = [call(world, "GET", f"{API}/v1/customers", auth=STRIPE_AUTH).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = call(world, "GET", f"{API}/v1/customers", auth=STRIPE_AUTH)
    assert limited.json()["error"]["code"] == "rate_limit"
    world.clock.sleep(1.0)
    assert call(world, "GET", f"{API}/v1/customers", auth=STRIPE_AUTH).status == 200


@pytest.mark.parametrize("status", [400, 402, 404, 409, 429, 500])
def test_error_response_uses_stripe_status_and_shape(status: int) -> None:
    resp = Stripe().error_response(status, retry_after=3 if status == 429 else None)
    error = resp.json()["error"]
    assert resp.status == status and {"type", "code", "message", "param"} <= set(error)
    if status == 402:
        assert error["type"] == "card_error" and error["code"] == "card_declined"
    if status == 429:
        assert resp.header("Retry-After") == "3"
