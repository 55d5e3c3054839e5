"""Fake Pipedrive v1: api_token auth, envelopes, JSON and form bodies, search, pagination, webhooks."""

from __future__ import annotations

import random

import pytest

from harness.flow import Flow
from harness.systems import Pipedrive, World, standard_world
from harness.triggers import get_trigger

from ._helpers import assert_shape, call, load

API = "https://acme.pipedrive.com/api/v1"
TOKEN = "api_token=pd-token"


@pytest.fixture
def pworld() -> World:
    return World([Pipedrive(seed=1)])


def _seed(world: World) -> tuple[int, int, int]:
    pd: Pipedrive = world.system("pipedrive")
    org = pd.add("organization", {"name": "Organization"})
    person = pd.add("person", {"name": "Jane Doe", "email": "jane@pipedrive.com", "phone": "37244499911",
                               "org_id": org})
    deal = pd.add("deal", {"title": "Deal One", "value": 5000, "currency": "EUR", "person_id": person,
                           "org_id": org, "stage_id": 2})
    return org, person, deal


def test_deal_matches_documented_shape_on_both_hosts(pworld: World) -> None:
    _, person, deal = _seed(pworld)
    for url in (f"{API}/deals/{deal}?{TOKEN}", f"https://api.pipedrive.com/v1/deals/{deal}?{TOKEN}"):
        resp = call(pworld, "GET", url)
        assert resp.status == 200, resp.body
        assert_shape(resp.json(), {k: v for k, v in load("pipedrive", "deal").items() if k != "additional_data"})
        assert resp.json()["data"]["person_id"]["value"] == person
    listed = call(pworld, "GET", f"{API}/deals?{TOKEN}").json()
    assert_shape(listed, load("pipedrive", "deals_list"))
    assert listed["data"][0]["org_name"] == "Organization"
    assert call(pworld, "GET", f"{API}/activities?{TOKEN}").json()["data"] is None  # v1: null, not []


def test_auth_and_errors(pworld: World) -> None:
    _seed(pworld)
    unauth = call(pworld, "GET", f"{API}/deals")
    assert unauth.status == 401
    assert_shape(unauth.json(), load("pipedrive", "error_401"))
    header = call(pworld, "GET", f"{API}/deals", headers={"x-api-token": "pd-token"})
    assert header.status == 200
    missing = call(pworld, "GET", f"{API}/deals/999?{TOKEN}")
    assert missing.status == 404
    assert_shape(missing.json(), load("pipedrive", "error_404"))
    assert missing.json()["error"] == "Deal not found"
    pworld.system("pipedrive").fail_next(429, retry_after=2)
    limited = call(pworld, "GET", f"{API}/deals?{TOKEN}")
    assert limited.status == 429 and limited.header("x-ratelimit-remaining") == "0"
    assert limited.json()["success"] is False


def test_create_with_json_and_form_bodies_and_validation(pworld: World) -> None:
    org, _person, deal = _seed(pworld)
    made = call(pworld, "POST", f"{API}/activities?{TOKEN}",
                form=[("subject", "Kick-off"), ("type", "meeting"), ("deal_id", str(deal)), ("done", "0")])
    assert made.status == 201, made.body
    assert made.json()["data"]["deal_id"] == deal and made.json()["data"]["done"] is False
    person2 = call(pworld, "POST", f"{API}/persons?{TOKEN}",
                   json_body={"name": "Ann Lee", "email": ["ann@x.example", "ann.lee@y.example"], "org_id": org})
    assert [e["value"] for e in person2.json()["data"]["email"]] == ["ann@x.example", "ann.lee@y.example"]
    assert pworld.system("pipedrive").get("organization", str(org))["people_count"] == 2
    for body, message in (({"value": 5}, "Deal title must be given."),
                          ({"title": "X", "person_id": 999}, "Person with ID 999 not found"),
                          ({"title": "X", "status": "maybe"}, "status must be one of")):
        bad = call(pworld, "POST", f"{API}/deals?{TOKEN}", json_body=body)
        assert bad.status == 400 and message in bad.json()["error"], bad.body
    upd = call(pworld, "PUT", f"{API}/deals/{deal}?{TOKEN}", json_body={"status": "won"})
    assert upd.json()["data"]["status"] == "won" and upd.json()["data"]["won_time"]
    gone = call(pworld, "DELETE", f"{API}/deals/{deal}?{TOKEN}")
    assert gone.json() == {"success": True, "data": {"id": deal}}
    assert call(pworld, "GET", f"{API}/deals/{deal}?{TOKEN}").status == 404
    assert [w.action for w in pworld.writes] == ["create", "create", "update", "delete"]


def test_search_and_pagination(pworld: World) -> None:
    _seed(pworld)
    found = call(pworld, "GET", f"{API}/persons/search?{TOKEN}&term=jane@pipedrive.com&fields=email").json()
    assert_shape(found, load("pipedrive", "persons_search"))
    assert found["data"]["items"][0]["item"]["emails"] == ["jane@pipedrive.com"]
    exact = call(pworld, "GET", f"{API}/deals/search?{TOKEN}&term=deal&exact_match=true").json()
    assert exact["data"]["items"] == []
    short = call(pworld, "GET", f"{API}/organizations/search?{TOKEN}&term=O")
    assert short.status == 400
    pd: Pipedrive = pworld.system("pipedrive")
    for n in range(4):
        pd.add("organization", {"name": f"Org {n}"})
    first = call(pworld, "GET", f"{API}/organizations?{TOKEN}&limit=2").json()
    assert first["additional_data"]["pagination"] == {"start": 0, "limit": 2, "more_items_in_collection": True,
                                                      "next_start": 2}
    last = call(pworld, "GET", f"{API}/organizations?{TOKEN}&start=4&limit=2").json()
    assert len(last["data"]) == 1 and last["additional_data"]["pagination"]["more_items_in_collection"] is False


def test_webhook_event_and_trigger() -> None:
    world = standard_world(2)
    trigger = get_trigger("pipedrive.deal.updated")
    deal_id = trigger.objects(world)[0]  # type: ignore[misc]
    event = trigger.make_event(world, deal_id, random.Random(1))  # type: ignore[misc]
    documented = load("pipedrive", "webhook_deal_updated")
    assert_shape(event, documented)
    assert trigger.contract.check(event) == ()
    assert (event["previous"]["status"], event["current"]["status"]) == ("open", "won")
    assert world.system("pipedrive").get("deal", deal_id)["status"] == "won"
    again = trigger.make_event(world, deal_id, random.Random(2))  # type: ignore[misc]
    assert again["previous"]["status"] == "open" and again["meta"]["timestamp_micro"] != event["meta"]["timestamp_micro"]
    assert trigger.object_key(event) == trigger.object_key(again) == f"pipedrive-deal:{deal_id}"
    assert deal_id not in trigger.objects(world)  # type: ignore[misc]
    Flow(name="pd", automation=lambda e: None, trigger=trigger)  # the declaration validates
