"""Malformed requests (bad encoding, unknown fields, wrong types) get the vendor's error shape."""

from __future__ import annotations

import pytest

from harness.systems import World

from ._helpers import HUBSPOT_AUTH, STRIPE_AUTH, ZENDESK_AUTH, call

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        (b"email", "not valid application/x-www-form-urlencoded"),
        (b"\xff\xfe=1", "not valid application/x-www-form-urlencoded"),
        (b"email=a%40b.co&favourite_colour=red", "Received unknown parameter: favourite_colour"),
        (b"email=a%40b.co&metadata[a][b]=1", "metadata[a]"),
        (b"email[]=a%40b.co", "email"),
        (b"address[planet]=mars", "Received unknown parameter: address[planet]"),
        (b"preferred_locales=de", "Invalid array"),
    ],
)
def test_stripe_malformed_forms(world: World, body: bytes, expect: str) -> None:
    resp = call(world, "POST", "https://api.stripe.com/v1/customers", auth=STRIPE_AUTH, body=body,
                headers=FORM)
    assert resp.status == 400
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error" and expect in error["message"]
    assert world.system("stripe").records()["customer"] == []


def test_stripe_wrong_types(world: World) -> None:
    customer = call(world, "POST", "https://api.stripe.com/v1/customers", auth=STRIPE_AUTH,
                    form={"email": "a@b.co"}).json()["id"]
    for form, param in (
        ({"customer": customer, "amount": "1.5", "currency": "usd"}, "amount"),
        ({"customer": customer, "amount": "1", "currency": "usd", "discountable": "yes"}, "discountable"),
        ({"customer": customer, "amount": "1", "currency": "usd", "quantity": "0"}, "quantity"),
    ):
        resp = call(world, "POST", "https://api.stripe.com/v1/invoiceitems", auth=STRIPE_AUTH, form=form)
        assert resp.status == 400 and resp.json()["error"]["param"] == param
    bad_method = call(world, "POST", "https://api.stripe.com/v1/invoices", auth=STRIPE_AUTH,
                      form={"customer": customer, "collection_method": "by_carrier_pigeon"})
    assert bad_method.status == 400 and "collection_method" in bad_method.json()["error"]["message"]
    no_due = call(world, "POST", "https://api.stripe.com/v1/invoices", auth=STRIPE_AUTH,
                  form={"customer": customer, "collection_method": "send_invoice"})
    assert no_due.status == 400 and no_due.json()["error"]["param"] == "days_until_due"


def test_hubspot_malformed(world: World) -> None:
    deal = world.system("hubspot").deal_ids()[0]
    url = f"https://api.hubapi.com/crm/v3/objects/deals/{deal}"
    for body in (b"\x00\x01", b"[1, 2]", b'{"properties": "dealstage=closedwon"}',
                 b'{"properties": {"dealstage": {"nested": 1}}}', b'{"properties": {"made_up": "1"}}'):
        resp = call(world, "PATCH", url, auth=HUBSPOT_AUTH, body=body)
        assert resp.status == 400, body
        assert resp.json()["status"] == "error" and resp.json()["category"] == "VALIDATION_ERROR"
    bad_limit = call(world, "GET", "https://api.hubapi.com/crm/v3/objects/deals?limit=many",
                     auth=HUBSPOT_AUTH)
    assert bad_limit.status == 400 and bad_limit.json()["category"] == "VALIDATION_ERROR"
    assert world.writes == []


def test_zendesk_malformed(world: World) -> None:
    url = "https://acme.zendesk.com/api/v2/tickets.json"
    cases = [
        ({"ticket": {"comment": {"body": "x"}, "tags": 5}}, "tags"),
        ({"ticket": {"comment": 5}}, "comment"),
        ({"ticket": {"comment": {"body": "x"}, "requester_id": "abc"}}, "requester_id"),
        ({"ticket": {"comment": {"body": "x"}, "status": "closed"}}, "status"),
        ({"ticket": {"comment": {"body": "x"}, "subject": ["a"]}}, "subject"),
    ]
    for payload, field in cases:
        resp = call(world, "POST", url, auth=ZENDESK_AUTH, json_body=payload)
        assert resp.status == 422, payload
        assert resp.json()["error"] == "RecordInvalid" and field in resp.json()["details"]
    # unknown ticket attributes are ignored, as Zendesk does
    ok = call(world, "POST", url, auth=ZENDESK_AUTH,
              json_body={"ticket": {"comment": {"body": "x"}, "made_up_field": 1}})
    assert ok.status == 201 and "made_up_field" not in ok.json()["ticket"]
    not_json = call(world, "POST", url, auth=ZENDESK_AUTH, body=b"ticket[subject]=x")
    assert not_json.status == 400 and not_json.json()["error"] == "BadRequest"
    bad_page = call(world, "GET", f"{url}?per_page=1000", auth=ZENDESK_AUTH)
    assert bad_page.status == 422 and "per_page" in bad_page.json()["details"]
