"""Fake Zendesk: ticket and user shapes, search, 422 RecordInvalid, 429, auth, any subdomain."""

from __future__ import annotations

import base64

import pytest

from harness.systems import World, Zendesk

from ._helpers import ZENDESK_AUTH, assert_shape, call, load

API = "https://acme.zendesk.com/api/v2"


@pytest.fixture
def zworld() -> World:
    return World([Zendesk()])


def _ticket(world: World, **extra: object) -> dict:
    payload = {"ticket": {"subject": "Onboarding: Acme", "comment": {"body": "Invoice INV-0001"},
                          "requester": {"name": "Jo Doe", "email": "jo@example.com"},
                          "external_id": "hubspot-deal-1", "tags": ["onboarding", "deal_won"],
                          **extra}}
    resp = call(world, "POST", f"{API}/tickets.json", auth=ZENDESK_AUTH, json_body=payload)
    assert resp.status == 201, resp.body
    return resp.json()


def test_create_ticket_matches_documented_shape(zworld: World) -> None:
    created = _ticket(zworld)
    assert_shape(created, load("zendesk", "ticket_create_response"))
    ticket = created["ticket"]
    assert ticket["description"] == "Invoice INV-0001" and ticket["status"] == "new"
    assert ticket["tags"] == ["onboarding", "deal_won"]
    assert ticket["url"] == f"{API}/tickets/{ticket['id']}.json"
    users = zworld.system("zendesk").records()["user"]
    requester = next(u for u in users if u["id"] == ticket["requester_id"])
    assert requester["email"] == "jo@example.com" and requester["role"] == "end-user"
    shown = call(zworld, "GET", f"{API}/tickets/{ticket['id']}.json", auth=ZENDESK_AUTH).json()
    assert_shape(shown, load("zendesk", "ticket_show"))
    assert shown["ticket"] == ticket


def test_list_by_external_id_and_search(zworld: World) -> None:
    first = _ticket(zworld)["ticket"]
    _ticket(zworld, external_id="hubspot-deal-2", tags=["other"], subject="Renewal")
    listed = call(zworld, "GET", f"{API}/tickets.json?external_id=hubspot-deal-1",
                  auth=ZENDESK_AUTH).json()
    assert_shape(listed, load("zendesk", "tickets_by_external_id"))
    assert [t["id"] for t in listed["tickets"]] == [first["id"]] and listed["count"] == 1
    for query in ("type:ticket external_id:hubspot-deal-1", "type:ticket tags:onboarding",
                  'type:ticket tags:onboarding tags:nothing', "type:ticket onboarding"):
        found = call(zworld, "GET", f"{API}/search.json?query={query}", auth=ZENDESK_AUTH).json()
        assert_shape(found, load("zendesk", "search_tickets"))
        assert [r["id"] for r in found["results"]] == [first["id"]], query
        assert found["results"][0]["result_type"] == "ticket"
    none = call(zworld, "GET", f"{API}/search.json?query=type:ticket -tags:onboarding tags:deal_won",
                auth=ZENDESK_AUTH).json()
    assert none["count"] == 0


def test_record_invalid_details(zworld: World) -> None:
    blank = call(zworld, "POST", f"{API}/tickets.json", auth=ZENDESK_AUTH,
                 json_body={"ticket": {"subject": "no comment"}})
    assert blank.status == 422
    assert_shape(blank.json(), load("zendesk", "error_record_invalid"))
    bad_priority = call(zworld, "POST", f"{API}/tickets.json", auth=ZENDESK_AUTH,
                        json_body={"ticket": {"comment": {"body": "x"}, "priority": "asap"}})
    assert bad_priority.status == 422 and "priority" in bad_priority.json()["details"]
    bad_email = call(zworld, "POST", f"{API}/tickets.json", auth=ZENDESK_AUTH,
                     json_body={"ticket": {"comment": {"body": "x"},
                                           "requester": {"name": "N", "email": None}}})
    assert bad_email.status == 422 and "requester" in bad_email.json()["details"]
    assert zworld.system("zendesk").records()["ticket"] == []


def test_update_ticket_and_closed_prevents_update(zworld: World) -> None:
    ticket = _ticket(zworld)["ticket"]
    url = f"{API}/tickets/{ticket['id']}.json"
    updated = call(zworld, "PUT", url, auth=ZENDESK_AUTH,
                   json_body={"ticket": {"status": "solved", "comment": {"body": "done"},
                                         "additional_tags": ["paid"]}}).json()
    assert updated["ticket"]["status"] == "solved" and "paid" in updated["ticket"]["tags"]
    assert len(zworld.system("zendesk").comments(ticket["id"])) == 2
    call(zworld, "PUT", url, auth=ZENDESK_AUTH, json_body={"ticket": {"status": "closed"}})
    refused = call(zworld, "PUT", url, auth=ZENDESK_AUTH, json_body={"ticket": {"status": "open"}})
    assert refused.status == 422 and refused.json()["error"] == "RecordInvalid"
    missing = call(zworld, "GET", f"{API}/tickets/999999.json", auth=ZENDESK_AUTH)
    assert missing.status == 404
    assert_shape(missing.json(), load("zendesk", "error_not_found"))


def test_users_create_or_update(zworld: World) -> None:
    url = f"{API}/users/create_or_update.json"
    created = call(zworld, "POST", url, auth=ZENDESK_AUTH,
                   json_body={"user": {"name": "Roger Wilco", "email": "Roge@Example.org"}})
    assert created.status == 201
    assert_shape(created.json(), load("zendesk", "user_create_or_update"))
    updated = call(zworld, "POST", url, auth=ZENDESK_AUTH,
                   json_body={"user": {"name": "Roger W.", "email": "roge@example.org"}})
    assert updated.status == 200
    assert updated.json()["user"]["id"] == created.json()["user"]["id"]
    assert updated.json()["user"]["name"] == "Roger W."
    nameless = call(zworld, "POST", url, auth=ZENDESK_AUTH, json_body={"user": {"email": "n@x.io"}})
    assert nameless.status == 422 and "name" in nameless.json()["details"]


def test_auth_and_any_subdomain(zworld: World) -> None:
    assert call(zworld, "GET", f"{API}/tickets.json").status == 401
    password = ("Authorization", "Basic " + base64.b64encode(b"ops@acme.example:secret").decode())
    assert call(zworld, "GET", "https://other-co.zendesk.com/api/v2/tickets.json", auth=password).status == 200
    bearer = ("Authorization", "Bearer oauth-token-123")
    assert call(zworld, "GET", "https://x.zendesk.com/api/v2/tickets.json", auth=bearer).status == 200
    assert zworld.system_for("zendesk.com") is None  # the bare domain is not a subdomain


def test_rate_limit_429_with_retry_after() -> None:
    world = World([Zendesk(rate_limit=(1, 60.0))])
    assert call(world, "GET", f"{API}/tickets.json", auth=ZENDESK_AUTH).status == 200
    limited = call(world, "GET", f"{API}/tickets.json", auth=ZENDESK_AUTH)
    assert limited.status == 429 and limited.header("Retry-After") == "60"
    assert_shape(limited.json(), load("zendesk", "error_429"))


def test_malformed_json_and_missing_root(zworld: World) -> None:
    broken = call(zworld, "POST", f"{API}/tickets.json", auth=ZENDESK_AUTH, body=b'{"ticket": ')
    assert broken.status == 400 and "error" in broken.json()
    rootless = call(zworld, "POST", f"{API}/tickets.json", auth=ZENDESK_AUTH,
                    json_body={"subject": "x"})
    assert rootless.status == 400 and rootless.json()["error"] == "ParameterMissing"


def test_restore_rewinds_users_and_their_lookups(zworld: World) -> None:
    url = f"{API}/users/create_or_update.json"
    before = call(zworld, "POST", url, auth=ZENDESK_AUTH,
                  json_body={"user": {"name": "Kept", "email": "kept@example.com"}}).json()["user"]
    snap = zworld.snapshot()
    call(zworld, "POST", url, auth=ZENDESK_AUTH,
         json_body={"user": {"name": "Gone", "email": "gone@example.com", "external_id": "x-1"}})
    zworld.restore(snap)
    again = call(zworld, "POST", url, auth=ZENDESK_AUTH,
                 json_body={"user": {"name": "Kept 2", "email": "kept@example.com"}})
    assert again.status == 200 and again.json()["user"]["id"] == before["id"]
    fresh = call(zworld, "POST", url, auth=ZENDESK_AUTH,
                 json_body={"user": {"name": "Gone", "external_id": "x-1"}})
    assert fresh.status == 201  # the user made after the snapshot no longer exists
