"""The Shopify Admin REST fake: documented shapes, {errors} bodies, page_info pages, webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.systems import Shopify, World, standard_world
from harness.systems._shopify import WEBHOOK_SECRET
from harness.triggers import get_trigger
from tests.systems._helpers import assert_shape, call, load

SHOP = "https://acme-store.myshopify.com/admin/api/2024-01"
AUTH = ("X-Shopify-Access-Token", "shpat_0123456789abcdef0123456789abcdef")


@pytest.fixture
def world() -> World:
    return standard_world(6, deals=2)


def _variant(world: World) -> int:
    product = next(iter(world.system("shopify").records()["product"]))
    return int(product["variants"][0]["id"])


def test_order_customer_product_have_the_documented_shapes(world: World) -> None:
    created = call(world, "POST", f"{SHOP}/orders.json", auth=AUTH, json_body={"order": {
        "email": "bob.norman@mail.example.com", "financial_status": "paid",
        "line_items": [{"variant_id": _variant(world), "quantity": 2}],
        "customer": {"first_name": "Bob", "last_name": "Norman"}}})
    assert created.status == 201
    order = created.json()
    assert_shape(order, load("shopify", "order"))
    assert order["order"]["name"] == "#1007"  # six seeded orders before it
    line = order["order"]["line_items"][0]
    assert order["order"]["total_price"] == f"{float(line['price']) * 2:.2f}"
    customer = call(world, "POST", f"{SHOP}/customers.json", auth=AUTH, json_body={"customer": {
        "first_name": "Steve", "last_name": "Lastnameson", "email": "steve.lastnameson@example.com",
        "phone": "+15142546011"}})
    assert customer.status == 201
    assert_shape(customer.json(), load("shopify", "customer"))
    product = call(world, "POST", f"{SHOP}/products.json", auth=AUTH, json_body={"product": {
        "title": "Burton Custom Freestyle 151", "body_html": "<strong>Good snowboard!</strong>",
        "vendor": "Burton", "product_type": "Snowboard", "status": "draft"}})
    assert product.status == 201
    assert_shape(product.json(), load("shopify", "product"))
    assert product.json()["product"]["handle"] == "burton-custom-freestyle-151"
    assert product.header("X-Shopify-Shop-Api-Call-Limit", ) is not None


def test_error_bodies_match_the_documented_ones(world: World) -> None:
    assert call(world, "GET", f"{SHOP}/orders.json").json() == load("shopify", "error_401")
    assert call(world, "GET", f"{SHOP}/orders/1.json", auth=AUTH).json() == load(
        "shopify", "error_not_found")
    assert call(world, "POST", f"{SHOP}/orders.json", auth=AUTH, json_body={"line_items": []}).json() \
        == load("shopify", "error_400")
    email = world.system("shopify").records()["customer"][0]["email"]
    taken = call(world, "POST", f"{SHOP}/customers.json", auth=AUTH,
                 json_body={"customer": {"email": email.upper()}})
    assert taken.status == 422 and taken.json() == load("shopify", "error_email_taken")
    shopify: Shopify = world.system("shopify")
    limited = shopify.error_response(429)
    assert limited.json() == load("shopify", "error_429") and limited.header("Retry-After") == "2.0"
    rejected_field = shopify.describe().errors.rejected_field
    assert rejected_field is not None
    assert rejected_field(taken.json()) == "email"
    assert call(world, "GET", "https://acme-store.myshopify.com/admin/api/2024-02/orders.json",
                auth=AUTH).status == 404


def test_lists_filter_and_page_with_page_info(world: World) -> None:
    everything = call(world, "GET", f"{SHOP}/orders.json?status=any&limit=250", auth=AUTH).json()
    assert len(everything["orders"]) == 6
    first = call(world, "GET", f"{SHOP}/orders.json?status=any&limit=4", auth=AUTH)
    link = first.header("Link") or ""
    assert 'rel="next"' in link
    nxt = requests.utils.parse_header_links(link)[0]["url"]
    second = call(world, "GET", nxt, auth=AUTH).json()
    ids = [o["id"] for o in first.json()["orders"]] + [o["id"] for o in second["orders"]]
    assert ids == [o["id"] for o in everything["orders"]]
    mixed = call(world, "GET", nxt + "&status=any", auth=AUTH)
    assert mixed.status == 400 and "page_info" in str(mixed.json()["errors"])
    name = everything["orders"][2]["name"]
    by_name = call(world, "GET", f"{SHOP}/orders.json?status=any&name={name.lstrip('#')}", auth=AUTH)
    assert [o["name"] for o in by_name.json()["orders"]] == [name]
    assert call(world, "GET", f"{SHOP}/orders/count.json?status=any", auth=AUTH).json() == {"count": 6}
    email = everything["orders"][0]["email"]
    found = call(world, "GET", f"{SHOP}/customers/search.json?query=email:{email}", auth=AUTH)
    assert [c["email"] for c in found.json()["customers"]] == [email]


def test_update_close_and_cancel(world: World) -> None:
    oid = world.system("shopify").order_ids()[0]
    tagged = call(world, "PUT", f"{SHOP}/orders/{oid}.json", auth=AUTH,
                  json_body={"order": {"id": int(oid), "tags": "synced, vip"}})
    assert tagged.json()["order"]["tags"] == "synced, vip"
    cancelled = call(world, "POST", f"{SHOP}/orders/{oid}/cancel.json", auth=AUTH,
                     json_body={"reason": "customer"})
    assert cancelled.json()["order"]["cancel_reason"] == "customer"
    again = call(world, "POST", f"{SHOP}/orders/{oid}/cancel.json", auth=AUTH, json_body={})
    assert again.status == 422
    assert [w.action for w in world.writes] == ["update", "cancel"]


# -- properties ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(lines=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 4)), min_size=1, max_size=4))
def test_an_order_totals_its_lines_exactly(lines: list[tuple[int, int]]) -> None:
    world = standard_world(2, deals=0)
    products = world.system("shopify").records()["product"]
    items = [{"variant_id": products[i]["variants"][0]["id"], "quantity": q} for i, q in lines]
    order = call(world, "POST", f"{SHOP}/orders.json", auth=AUTH,
                 json_body={"order": {"line_items": items, "email": "a@b.example"}}).json()["order"]
    from decimal import Decimal

    expected = sum(Decimal(products[i]["variants"][0]["price"]) * q for i, q in lines)
    assert order["total_price"] == f"{expected:.2f}"
    assert [(w.kind, w.action) for w in world.writes] == [("order", "create")]


@settings(max_examples=40, deadline=None)
@given(order=st.one_of(
    st.fixed_dictionaries({"line_items": st.sampled_from([[], None, "x"])}),
    st.fixed_dictionaries({"line_items": st.just([{"variant_id": 1, "quantity": 1}])}),
    st.fixed_dictionaries({"line_items": st.just([{"title": "Gift", "price": "-1"}])}),
    st.fixed_dictionaries({"line_items": st.just([{"title": "Gift", "price": "5"}]),
                           "email": st.sampled_from(["not-an-email", "a@"])}),
    st.fixed_dictionaries({"line_items": st.just([{"title": "Gift", "price": "5"}]),
                           "financial_status": st.just("settled"),
                           "customer": st.just({"first_name": "New", "email": "new@x.example"})}),
))
def test_an_invalid_order_is_422_and_leaves_nothing_behind(order: dict[str, Any]) -> None:
    world = standard_world(2, deals=0)
    before = world.system("shopify").records()
    response = call(world, "POST", f"{SHOP}/orders.json", auth=AUTH, json_body={"order": order})
    assert response.status == 422, response.body
    assert isinstance(response.json()["errors"], dict)
    assert not world.writes and world.system("shopify").records() == before


# -- the webhook trigger ------------------------------------------------------------------------


def test_orders_create_event_is_a_signed_delivery_keyed_by_event_id(world: World) -> None:
    trigger = get_trigger("shopify.orders.create")
    assert trigger.objects is not None and trigger.make_event is not None
    oid = trigger.objects(world)[0]
    event = trigger.make_event(world, oid, random.Random(1))
    assert set(event) == {"headers", "body"}
    assert_shape(event["headers"], load("shopify", "webhook_headers"))
    raw = json.dumps(event["body"], separators=(",", ":")).encode()
    digest = base64.b64encode(hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    assert event["headers"]["X-Shopify-Hmac-Sha256"] == digest
    assert trigger.contract.check(event) == () and trigger.contract.check(trigger.example) == ()
    assert trigger.object_key(event) == f"order:{oid}"
    assert trigger.event_id(event) == event["headers"]["X-Shopify-Event-Id"]
    assert trigger.attempt_field is None
    # the same rng gives the same delivery (a campaign reproduces); another gives new ids
    assert trigger.make_event(world, oid, random.Random(1)) == event
    other = trigger.make_event(world, oid, random.Random(2))
    assert trigger.event_id(other) != trigger.event_id(event) and other["body"] == event["body"]
    assert_shape(event["body"], load("shopify", "order")["order"])


# -- the official SDK (ShopifyAPI on pyactiveresource, urllib) -------------------------------------


def test_shopify_api_sdk_unmodified(world: World) -> None:
    shopify = pytest.importorskip("shopify")
    from tests.systems._loopback import serve

    # ShopifyAPI speaks urllib, which the harness does not intercept yet: its API site (its own
    # configuration point) is a loopback server handing each request to the same World
    with serve(world, "acme-store.myshopify.com") as base:
        session = shopify.Session("acme-store.myshopify.com", "2024-01",
                                  "shpat_0123456789abcdef0123456789abcdef")
        shopify.ShopifyResource.activate_session(session)
        try:
            shopify.ShopifyResource.set_site(f"{base}/admin/api/2024-01")
            orders = shopify.Order.find(status="any")
            assert [o.name for o in orders] == [f"#{n}" for n in range(1001, 1007)]
            customer = shopify.Customer()
            customer.first_name, customer.last_name, customer.email = "Ada", "Lovelace", "ada@example.com"
            assert customer.save() and customer.id
            twin = shopify.Customer()
            twin.email = "ADA@example.com"
            assert not twin.save() and twin.errors.full_messages() == ["email has already been taken"]
            order = shopify.Order.find(orders[0].id)
            order.tags = "synced"
            assert order.save() and shopify.Order.find(orders[0].id).tags == "synced"
            product = shopify.Product()
            product.title = "Linen Hat"
            assert product.save() and product.handle == "linen-hat"
            assert shopify.Order.count(status="any") == 6
            page = shopify.Order.find(status="any", limit=4)
            # the next page is an absolute link to the shop itself, as Shopify sends it
            assert len(page) == 4 and page.has_next_page()
            assert page.next_page_url.startswith("https://acme-store.myshopify.com/admin/api/2024-01/")
        finally:
            shopify.ShopifyResource.clear_session()
    assert [(w.kind, w.action) for w in world.writes] == [
        ("customer", "create"), ("order", "update"), ("product", "create")]
