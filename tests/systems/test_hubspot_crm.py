"""HubSpot grows: products, line items, companies, batch read, search, property definitions, v4 writes."""

from __future__ import annotations

import pytest

from harness.systems import HubSpot, World, standard_world

from ._helpers import HUBSPOT_AUTH, assert_shape, call, load

API = "https://api.hubapi.com"
H = dict([HUBSPOT_AUTH])


@pytest.fixture
def hworld() -> World:
    return standard_world(11, deals=3)


def _post(world: World, path: str, body: object) -> object:
    return call(world, "POST", API + path, headers=H, json_body=body)


def test_line_item_inherits_its_product_and_computes_amount(hworld: World) -> None:
    hubspot: HubSpot = hworld.system("hubspot")
    product_id = hubspot.ids("products")[0]
    deal_id = hubspot.deal_ids()[0]
    resp = _post(hworld, "/crm/v3/objects/line_items", {
        "properties": {"hs_product_id": product_id, "quantity": "2"},
        "associations": [{"to": {"id": deal_id},
                          "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 20}]}]})
    assert resp.status == 201, resp.body  # type: ignore[attr-defined]
    item = resp.json()  # type: ignore[attr-defined]
    assert_shape(item, load("hubspot", "line_item"))
    product = hubspot.get("product", product_id)["properties"]  # type: ignore[index]
    assert item["properties"]["name"] == product["name"]
    assert item["properties"]["amount"] == str(int(product["price"]) * 2)
    assert hubspot.associated("deal", deal_id, "line_item") == (item["id"],)
    patched = call(hworld, "PATCH", f"{API}/crm/v3/objects/line_items/{item['id']}", headers=H,
                   json_body={"properties": {"quantity": "3", "hs_discount_percentage": "10"}})
    assert patched.json()["properties"]["amount"] == f"{int(product['price']) * 3 * 0.9:.0f}"
    read_only = call(hworld, "PATCH", f"{API}/crm/v3/objects/line_items/{item['id']}", headers=H,
                     json_body={"properties": {"amount": "1"}})
    assert read_only.status == 400 and "READ_ONLY_VALUE" in read_only.body.decode()
    listed = call(hworld, "GET", f"{API}/crm/v4/objects/deals/{deal_id}/associations/line_items", headers=H).json()
    assert listed["results"][0]["associationTypes"][0]["typeId"] == 19
    assert [w.action for w in hworld.writes] == ["create", "associate", "update"]


def test_batch_read_answers_207_for_unknown_ids(hworld: World) -> None:
    ids = hworld.system("hubspot").deal_ids()
    full = _post(hworld, "/crm/v3/objects/deals/batch/read",
                 {"properties": ["dealname"], "inputs": [{"id": i} for i in ids]})
    assert full.status == 200 and [r["id"] for r in full.json()["results"]] == ids  # type: ignore[attr-defined]
    part = _post(hworld, "/crm/v3/objects/deals/batch/read", {"inputs": [{"id": ids[0]}, {"id": "999"}]})
    assert part.status == 207  # type: ignore[attr-defined]
    assert_shape(part.json(), load("hubspot", "batch_read_207"))  # type: ignore[attr-defined]
    assert part.json()["errors"][0]["context"] == {"ids": ["999"]}  # type: ignore[attr-defined]
    by_email = _post(hworld, "/crm/v3/objects/contacts/batch/read", {
        "idProperty": "email", "properties": ["email"],
        "inputs": [{"id": hworld.system("hubspot").records()["contact"][0]["properties"]["email"]}]})
    assert len(by_email.json()["results"]) == 1  # type: ignore[attr-defined]


def test_search_filter_groups_sorts_and_paging(hworld: World) -> None:
    hubspot: HubSpot = hworld.system("hubspot")
    deals = hubspot.records()["deal"]
    target = deals[1]
    body = {"filterGroups": [{"filters": [{"propertyName": "dealname", "operator": "EQ",
                                           "value": target["properties"]["dealname"]}]}]}
    found = _post(hworld, "/crm/v3/objects/deals/search", body).json()  # type: ignore[attr-defined]
    assert_shape({**found, "paging": {"next": {"after": "1"}}}, load("hubspot", "search_deals"))
    assert [r["id"] for r in found["results"]] == [target["id"]] and found["total"] == 1
    either = _post(hworld, "/crm/v3/objects/deals/search", {
        "filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": d["id"]}]}
                         for d in deals[:2]],
        "sorts": [{"propertyName": "amount", "direction": "DESCENDING"}], "limit": 1}).json()  # type: ignore[attr-defined]
    assert either["total"] == 2 and either["paging"] == {"next": {"after": "1"}}
    amounts = sorted((float(d["properties"]["amount"]), d["id"]) for d in deals[:2])
    assert either["results"][0]["id"] == amounts[-1][1]
    unknown = _post(hworld, "/crm/v3/objects/deals/search", {
        "filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]})
    assert unknown.status == 400  # type: ignore[attr-defined]
    too_many = _post(hworld, "/crm/v3/objects/deals/search", {
        "filterGroups": [{"filters": [{"propertyName": "amount", "operator": "HAS_PROPERTY"}]}] * 6})
    assert too_many.status == 400  # type: ignore[attr-defined]


def test_custom_property_definitions_gate_writes(hworld: World) -> None:
    undefined = _post(hworld, "/crm/v3/objects/contacts", {"properties": {"favorite_food": "pizza"}})
    assert undefined.status == 400  # type: ignore[attr-defined]
    assert_shape(undefined.json(), load("hubspot", "error_property_doesnt_exist"))  # type: ignore[attr-defined]
    assert "PROPERTY_DOESNT_EXIST" in undefined.json()["message"]  # type: ignore[attr-defined]
    definition = {"name": "favorite_food", "label": "Favorite Food", "type": "enumeration", "fieldType": "select",
                  "groupName": "contactinformation",
                  "options": [{"label": "Pizza", "value": "pizza", "displayOrder": 0, "hidden": False}]}
    made = _post(hworld, "/crm/v3/properties/contacts", definition)
    assert made.status == 201  # type: ignore[attr-defined]
    assert_shape(made.json(), load("hubspot", "property"))  # type: ignore[attr-defined]
    assert _post(hworld, "/crm/v3/properties/contacts", definition).status == 409  # type: ignore[attr-defined]
    assert _post(hworld, "/crm/v3/objects/contacts", {"properties": {"favorite_food": "pizza"}}).status == 201  # type: ignore[attr-defined]
    wrong = _post(hworld, "/crm/v3/objects/contacts", {"properties": {"favorite_food": "sushi"}})
    assert wrong.status == 400 and "INVALID_OPTION" in wrong.json()["message"]  # type: ignore[attr-defined]
    listed = call(hworld, "GET", f"{API}/crm/v3/properties/contacts", headers=H).json()["results"]
    assert "favorite_food" in [p["name"] for p in listed] and "email" in [p["name"] for p in listed]
    one = call(hworld, "GET", f"{API}/crm/v3/properties/contacts/email", headers=H)
    assert one.status == 200 and one.json()["hubspotDefined"] is True
    assert call(hworld, "GET", f"{API}/crm/v3/properties/contacts/nope", headers=H).status == 404


def test_v4_association_writes_to_companies(hworld: World) -> None:
    hubspot: HubSpot = hworld.system("hubspot")
    company = _post(hworld, "/crm/v3/objects/companies", {"properties": {"name": "Acme", "domain": "acme.example"}})
    company_id = company.json()["id"]  # type: ignore[attr-defined]
    deal_id = hubspot.deal_ids()[0]
    default = call(hworld, "PUT", f"{API}/crm/v4/objects/deals/{deal_id}/associations/default/companies/{company_id}",
                   headers=H)
    assert default.status == 200 and default.json()["results"][0]["associationSpec"]["associationTypeId"] == 341
    contact_id = hubspot.contact_ids()[0]
    labelled = call(hworld, "PUT", f"{API}/crm/v4/objects/contacts/{contact_id}/associations/companies/{company_id}",
                    headers=H, json_body=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}])
    assert labelled.status == 201
    assert_shape(labelled.json(), {**load("hubspot", "association_v4_create"), "fromObjectTypeId": "0-1"})
    wrong = call(hworld, "PUT", f"{API}/crm/v4/objects/contacts/{contact_id}/associations/companies/{company_id}",
                 headers=H, json_body=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}])
    assert wrong.status == 400
    assert hubspot.associated("company", company_id, "deal") == (deal_id,)
    batch = _post(hworld, "/crm/v4/associations/companies/deals/batch/read", {"inputs": [{"id": company_id}]})
    assert batch.json()["results"][0]["to"][0]["toObjectId"] == int(deal_id)  # type: ignore[attr-defined]
    gone = call(hworld, "DELETE", f"{API}/crm/v4/objects/deals/{deal_id}/associations/companies/{company_id}",
                headers=H)
    # the deal keeps the company it was seeded with; the new one is gone
    assert gone.status == 204 and company_id not in hubspot.associated("deal", deal_id, "company")
    # a re-put of an existing association changes nothing and logs nothing
    call(hworld, "PUT", f"{API}/crm/v4/objects/contacts/{contact_id}/associations/default/companies/{company_id}",
         headers=H)
    assert [w.action for w in hworld.writes] == ["create", "associate", "associate", "dissociate"]


def test_existing_seed_data_is_unchanged_by_the_catalog() -> None:
    world = standard_world(3)
    hubspot: HubSpot = world.system("hubspot")
    deal_ids = hubspot.deal_ids()
    assert deal_ids[0] == "10000000002" and len(deal_ids) == 8
    assert all(int(p) > int(deal_ids[-1]) for p in hubspot.ids("product"))


def test_a_note_is_logged_on_a_contact_and_a_deal_and_needs_a_timestamp(hworld: World) -> None:
    hubspot: HubSpot = hworld.system("hubspot")
    deal_id = hubspot.deal_ids()[0]
    contact_id = hubspot.ids("contacts")[0]
    body = {"properties": {"hs_timestamp": "2026-01-15T10:30:00.000Z", "hs_note_body": "Invoice paid"},
            "associations": [
                {"to": {"id": contact_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                      "associationTypeId": 202}]},
                {"to": {"id": deal_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                   "associationTypeId": 214}]}]}
    resp = _post(hworld, "/crm/v3/objects/notes", body)
    assert resp.status == 201, resp.body  # type: ignore[attr-defined]
    note = resp.json()  # type: ignore[attr-defined]
    assert_shape(note, load("hubspot", "note"))
    assert hubspot.associated("contact", contact_id, "note") == (note["id"],)
    assert hubspot.associated("deal", deal_id, "note") == (note["id"],)
    listed = call(hworld, "GET", f"{API}/crm/v4/objects/contacts/{contact_id}/associations/notes",
                  headers=H).json()
    assert listed["results"][0]["associationTypes"][0]["typeId"] == 201
    read = call(hworld, "GET", f"{API}/crm/v3/objects/notes/{note['id']}?properties=hs_note_body",
                headers=H).json()
    assert read["properties"]["hs_note_body"] == "Invoice paid"

    untimed = _post(hworld, "/crm/v3/objects/notes", {"properties": {"hs_note_body": "no time"}})
    assert untimed.status == 400  # type: ignore[attr-defined]
    assert untimed.json()["errors"][0]["code"] == "REQUIRED_FIELD"  # type: ignore[attr-defined]
    wrong_type = _post(hworld, "/crm/v3/objects/notes", {**body, "associations": [
        {"to": {"id": contact_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}]})
    assert wrong_type.status == 400  # type: ignore[attr-defined]
    too_long = _post(hworld, "/crm/v3/objects/notes",
                     {"properties": {"hs_timestamp": "1700000000000", "hs_note_body": "x" * 65_537}})
    assert too_long.status == 400  # type: ignore[attr-defined]
    assert [w.action for w in hworld.writes] == ["create", "associate", "associate"]
