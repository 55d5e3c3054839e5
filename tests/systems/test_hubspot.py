"""Fake HubSpot: CRM v3/v4 shapes, string properties and nulls, errors, webhook events."""

from __future__ import annotations

import random

import pytest

from harness.systems import HubSpot, World

from ._helpers import HUBSPOT_AUTH, assert_shape, call, load

API = "https://api.hubapi.com"


def _deal_and_contact(world: World) -> tuple[str, str]:
    hubspot: HubSpot = world.system("hubspot")
    deal_id = hubspot.deal_ids()[0]
    return deal_id, hubspot.associated("deal", deal_id, "contact")[0]


def test_deal_with_properties_and_associations(world: World) -> None:
    deal_id, contact_id = _deal_and_contact(world)
    resp = call(world, "GET",
                f"{API}/crm/v3/objects/deals/{deal_id}?properties=dealname,amount,deal_currency_code"
                "&associations=contacts", auth=HUBSPOT_AUTH)
    assert resp.status == 200
    body = resp.json()
    full = call(world, "GET", f"{API}/crm/v3/objects/deals/{deal_id}?associations=contacts",
                auth=HUBSPOT_AUTH).json()
    assert_shape(full, load("hubspot", "deal_with_associations"))
    assert body["associations"]["contacts"]["results"] == [{"id": contact_id, "type": "deal_to_contact"}]
    props = body["properties"]
    # requested properties plus the three HubSpot always returns; every value a string
    assert set(props) == {"dealname", "amount", "deal_currency_code", "createdate",
                          "hs_lastmodifieddate", "hs_object_id"}
    assert all(isinstance(v, str) for v in props.values())
    float(props["amount"])


def test_default_properties_and_repeated_param(world: World) -> None:
    deal_id, _ = _deal_and_contact(world)
    default = call(world, "GET", f"{API}/crm/v3/objects/deals/{deal_id}", auth=HUBSPOT_AUTH).json()
    assert set(default["properties"]) == {"amount", "closedate", "createdate", "dealname", "dealstage",
                                          "hs_lastmodifieddate", "hs_object_id", "pipeline"}
    assert "associations" not in default
    repeated = call(world, "GET", f"{API}/crm/v3/objects/deals/{deal_id}?properties=dealtype"
                    "&properties=pipeline", auth=HUBSPOT_AUTH).json()
    assert repeated["properties"]["dealtype"] in ("newbusiness", "existingbusiness")
    assert repeated["properties"]["pipeline"] == "default"


def test_missing_values_are_null_and_unknown_properties_omitted(world: World) -> None:
    hubspot: HubSpot = world.system("hubspot")
    _deal_id, contact_id = _deal_and_contact(world)
    whole = call(world, "GET", f"{API}/crm/v3/objects/contacts/{contact_id}"
                 "?properties=email,firstname,lastname,company", auth=HUBSPOT_AUTH).json()
    assert_shape(whole, load("hubspot", "contact"))
    hubspot.set_property("contact", contact_id, "email", None)
    hubspot.remove_property("contact", contact_id, "company")
    body = call(world, "GET", f"{API}/crm/v3/objects/contacts/{contact_id}"
                "?properties=email,firstname,lastname,company,phone,no_such_prop",
                auth=HUBSPOT_AUTH).json()
    props = body["properties"]
    assert props["email"] is None and props["phone"] is None  # defined, no value: null
    assert "company" not in props and "no_such_prop" not in props
    hubspot.set_property("contact", contact_id, "company", "")
    again = call(world, "GET", f"{API}/crm/v3/objects/contacts/{contact_id}?properties=company",
                 auth=HUBSPOT_AUTH).json()
    assert again["properties"]["company"] == ""


def test_deal_without_contacts_has_no_associations_key(world: World) -> None:
    hubspot: HubSpot = world.system("hubspot")
    lonely = hubspot.add_object("deal", {"dealname": "Lonely", "amount": "10"})
    body = call(world, "GET", f"{API}/crm/v3/objects/deals/{lonely}?associations=contacts",
                auth=HUBSPOT_AUTH).json()
    assert "associations" not in body


def test_association_endpoints_v3_and_v4(world: World) -> None:
    deal_id, contact_id = _deal_and_contact(world)
    v3 = call(world, "GET", f"{API}/crm/v3/objects/deals/{deal_id}/associations/contacts",
              auth=HUBSPOT_AUTH).json()
    assert_shape(v3, load("hubspot", "associations_v3"))
    assert v3["results"][0]["id"] == contact_id
    v4 = call(world, "GET", f"{API}/crm/v4/objects/deals/{deal_id}/associations/contacts",
              auth=HUBSPOT_AUTH).json()
    assert_shape(v4, load("hubspot", "associations_v4"))
    assert v4["results"][0]["toObjectId"] == int(contact_id)
    assert v4["results"][0]["associationTypes"][0]["typeId"] == 3


def test_errors_in_hubspot_shape(world: World) -> None:
    missing = call(world, "GET", f"{API}/crm/v3/objects/deals/999", auth=HUBSPOT_AUTH)
    assert missing.status == 404
    assert_shape(missing.json(), load("hubspot", "error_404"))
    anonymous = call(world, "GET", f"{API}/crm/v3/objects/deals/999")
    assert anonymous.status == 401
    assert_shape(anonymous.json(), load("hubspot", "error_401"))
    v4_missing = call(world, "GET", f"{API}/crm/v4/objects/deals/999/associations/contacts",
                      auth=HUBSPOT_AUTH)
    assert v4_missing.status == 404 and v4_missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_rate_limit_429_in_hubspot_shape() -> None:
    hubspot = HubSpot(rate_limit=(1, 10.0))
    world = World([hubspot])
    deal = hubspot.add_object("deal", {"dealname": "x"})
    assert call(world, "GET", f"{API}/crm/v3/objects/deals/{deal}", auth=HUBSPOT_AUTH).status == 200
    limited = call(world, "GET", f"{API}/crm/v3/objects/deals/{deal}", auth=HUBSPOT_AUTH)
    assert limited.status == 429
    assert_shape(limited.json(), load("hubspot", "error_429"))
    assert limited.header("X-HubSpot-RateLimit-Remaining") == "0"


def test_patch_updates_and_validates(world: World) -> None:
    deal_id, _ = _deal_and_contact(world)
    ok = call(world, "PATCH", f"{API}/crm/v3/objects/deals/{deal_id}", auth=HUBSPOT_AUTH,
              json_body={"properties": {"dealstage": "closedwon", "amount": 12}})
    assert ok.status == 200 and ok.json()["properties"]["amount"] == "12"
    assert world.writes[-1].kind == "deal" and world.writes[-1].action == "update"
    bad = call(world, "PATCH", f"{API}/crm/v3/objects/deals/{deal_id}", auth=HUBSPOT_AUTH,
               json_body={"properties": {"nope": "x"}})
    assert bad.status == 400 and bad.json()["category"] == "VALIDATION_ERROR"
    broken = call(world, "PATCH", f"{API}/crm/v3/objects/deals/{deal_id}", auth=HUBSPOT_AUTH,
                  body=b"{not json")
    assert broken.status == 400 and broken.json()["status"] == "error"


def test_webhook_property_change_event_has_hubspots_shape(world: World) -> None:
    hubspot: HubSpot = world.system("hubspot")
    deal_id = hubspot.deal_ids()[1]
    event = hubspot.webhook_event(deal_id, property_name="dealstage", property_value="closedwon",
                                  rng=random.Random(5))
    documented = load("hubspot", "webhook_deal_propertychange")[0]
    assert set(event) == set(documented)
    assert_shape(event, documented)
    assert event["objectId"] == int(deal_id)
    assert event["occurredAt"] == int(world.clock.now() * 1000)
    assert event == hubspot.webhook_event(deal_id, property_name="dealstage",
                                          property_value="closedwon", rng=random.Random(5))
    # the change the event reports has happened in the CRM
    got = call(world, "GET", f"{API}/crm/v3/objects/deals/{deal_id}?properties=dealstage",
               auth=HUBSPOT_AUTH).json()
    assert got["properties"]["dealstage"] == "closedwon"


def test_webhook_creation_and_other_stages(world: World) -> None:
    hubspot: HubSpot = world.system("hubspot")
    deal_id = hubspot.deal_ids()[0]
    created = hubspot.webhook_event(deal_id, subscription_type="deal.creation")
    documented = load("hubspot", "webhook_deal_creation")[0]
    assert set(created) == set(documented)
    assert_shape(created, documented)
    lost = hubspot.webhook_event(deal_id, property_value="closedlost", attempt_number=2,
                                 event_id=77, occurred_at=1)
    assert (lost["propertyValue"], lost["attemptNumber"], lost["eventId"], lost["occurredAt"]) == (
        "closedlost", 2, 77, 1)
    with pytest.raises(KeyError, match="no deal '42'"):
        hubspot.webhook_event("42")
    with pytest.raises(ValueError, match="unsupported subscription_type"):
        hubspot.webhook_event(deal_id, subscription_type="deal.merge")


def test_seeding_is_deterministic_and_logs_no_writes() -> None:
    from harness.systems import standard_world

    a, b = standard_world(11, deals=5), standard_world(11, deals=5)
    assert a.system("hubspot").records() == b.system("hubspot").records()
    assert a.writes == [] and b.writes == []
    c = standard_world(12, deals=5)
    assert a.system("hubspot").records() != c.system("hubspot").records()
    deals = a.system("hubspot").records()["deal"]
    assert {d["properties"]["dealtype"] for d in standard_world(1, deals=30).system("hubspot").records()["deal"]} == {
        "newbusiness", "existingbusiness"}
    for deal in deals:
        props = deal["properties"]
        assert props["pipeline"] == "default" and props["deal_currency_code"] in ("USD", "EUR", "GBP")
        assert float(props["amount"]) >= 500


def test_create_and_list_objects(world: World) -> None:
    created = call(world, "POST", f"{API}/crm/v3/objects/contacts", auth=HUBSPOT_AUTH,
                   json_body={"properties": {"email": "new@example.com", "firstname": "New"}})
    assert created.status == 201
    contact = created.json()
    assert contact["properties"]["email"] == "new@example.com"
    assert contact["properties"]["hs_object_id"] == contact["id"]
    assert world.writes[-1].action == "create" and world.writes[-1].kind == "contact"
    page = call(world, "GET", f"{API}/crm/v3/objects/contacts?limit=2&properties=email",
                auth=HUBSPOT_AUTH).json()
    assert len(page["results"]) == 2 and "after" in page["paging"]["next"]
    rest = call(world, "GET", f"{API}/crm/v3/objects/contacts?limit=100&after={page['paging']['next']['after']}",
                auth=HUBSPOT_AUTH).json()
    assert "paging" not in rest
    assert contact["id"] in [r["id"] for r in rest["results"]]
    by_email = call(world, "GET", f"{API}/crm/v3/objects/contacts/new@example.com?idProperty=email",
                    auth=HUBSPOT_AUTH)
    assert by_email.status == 200 and by_email.json()["id"] == contact["id"]
