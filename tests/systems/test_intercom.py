"""The Intercom fake: documented shapes, error.list bodies, search semantics, notification events."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.systems import Intercom, World, standard_world
from harness.triggers import get_trigger
from tests.systems._helpers import assert_shape, call, load

API = "https://api.intercom.io"
AUTH = ("Authorization", "Bearer dG9rOmhhcm5lc3NmYWtlOjE6MA==")
VERSION = {"Intercom-Version": "2.11"}


@pytest.fixture
def world() -> World:
    return standard_world(8, deals=2)


def _req(world: World, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    return call(world, method, API + path, auth=kw.pop("auth", AUTH), json_body=body,
                headers=kw.pop("headers", VERSION))


def test_contact_company_conversation_have_the_documented_shapes(world: World) -> None:
    created = _req(world, "POST", "/contacts", {"role": "user", "email": "joebloggs@intercom.io"})
    assert created.status == 200
    contact = created.json()
    assert_shape(contact, load("intercom", "contact"))
    assert len(contact["id"]) == 24 and contact["email_domain"] == "intercom.io"
    company = _req(world, "POST", "/companies", {"company_id": "company_remote_id",
                                                "name": "my company",
                                                "custom_attributes": {"creation_source": "api"}})
    assert_shape(company.json(), load("intercom", "company"))
    attached = _req(world, "POST", f"/contacts/{contact['id']}/companies", {"id": company.json()["id"]})
    assert attached.json()["user_count"] == 1
    assert _req(world, "GET", f"/contacts/{contact['id']}").json()["companies"]["total_count"] == 1
    intercom: Intercom = world.system("intercom")
    conv_id = intercom.conversation_ids()[0]
    admin = intercom.admins()[0]
    replied = _req(world, "POST", f"/conversations/{conv_id}/reply",
                   {"message_type": "comment", "type": "admin", "admin_id": admin["id"],
                    "body": "Okay!"})
    assert replied.status == 200
    assert_shape(replied.json(), load("intercom", "conversation"))
    part = replied.json()["conversation_parts"]["conversation_parts"][-1]
    assert (part["body"], part["author"]["id"], part["part_type"]) == ("<p>Okay!</p>", admin["id"], "comment")
    assert replied.json()["waiting_since"] is None


def test_errors_are_error_lists(world: World) -> None:
    assert _req(world, "GET", "/admins", auth=("Authorization", "")).json()["errors"] == load(
        "intercom", "error_unauthorized")["errors"]
    _req(world, "POST", "/contacts", {"email": "dup@example.com"})
    conflict = _req(world, "POST", "/contacts", {"email": "DUP@example.com"})
    assert conflict.status == 409
    assert conflict.json()["type"] == "error.list" and conflict.json()["errors"][0]["code"] == "conflict"
    assert set(conflict.json()) == set(load("intercom", "error_conflict"))
    missing = _req(world, "POST", "/contacts", {"role": "user", "name": "No Email"})
    assert missing.status == 400 and missing.json()["errors"][0]["code"] == "parameter_invalid"
    version = _req(world, "GET", "/admins", headers={"Intercom-Version": "9.9"})
    assert version.status == 400 and version.json()["errors"][0]["code"] == "intercom_version_invalid"
    assert _req(world, "GET", "/conversations/1").status == 404
    intercom: Intercom = world.system("intercom")
    limited = intercom.error_response(429, retry_after=20)
    assert limited.json()["errors"][0]["code"] == "rate_limit_exceeded"
    assert limited.header("X-RateLimit-Remaining") == "0" and limited.header("Retry-After") is None
    assert int(limited.header("X-RateLimit-Reset") or 0) >= int(world.clock.now()) + 20


def test_reply_as_user_close_assign_and_create(world: World) -> None:
    intercom: Intercom = world.system("intercom")
    conv_id = intercom.conversation_ids()[1]
    conversation = _req(world, "GET", f"/conversations/{conv_id}").json()
    contact_id = conversation["contacts"]["contacts"][0]["id"]
    admin = intercom.admins()[1]["id"]
    _req(world, "POST", f"/conversations/{conv_id}/reply",
         {"message_type": "comment", "type": "user", "intercom_user_id": contact_id, "body": "Any news?"})
    assigned = _req(world, "POST", f"/conversations/{conv_id}/parts",
                    {"message_type": "assignment", "type": "admin", "admin_id": admin,
                     "assignee_id": admin}).json()
    assert assigned["admin_assignee_id"] == int(admin)
    closed = _req(world, "POST", f"/conversations/{conv_id}/parts",
                  {"message_type": "close", "type": "admin", "admin_id": admin, "body": "Done"}).json()
    assert (closed["state"], closed["open"]) == ("closed", False)
    assert [p["part_type"] for p in closed["conversation_parts"]["conversation_parts"]] == [
        "comment", "assignment", "close"]
    started = _req(world, "POST", "/conversations",
                   {"from": {"type": "user", "id": contact_id}, "body": "New question"}).json()
    assert started["type"] == "user_message" and started["conversation_id"] in intercom.conversation_ids()
    kinds = [(w.kind, w.action) for w in world.writes]
    assert kinds[0] == ("reply", "create") and ("conversation", "create") in kinds


def test_search_pages_with_starting_after(world: World) -> None:
    for i in range(7):
        _req(world, "POST", "/contacts", {"email": f"p{i}@paging.example", "name": f"P{i}"})
    query: dict[str, Any] = {"query": {"field": "email", "operator": "$", "value": "@paging.example"},
             "pagination": {"per_page": 3}}
    seen = []
    while True:
        page = _req(world, "POST", "/contacts/search", query).json()
        seen += [c["email"] for c in page["data"]]
        if "next" not in page["pages"]:
            break
        query["pagination"]["starting_after"] = page["pages"]["next"]["starting_after"]
    assert seen == [f"p{i}@paging.example" for i in range(7)]
    empty = _req(world, "POST", "/contacts/search",
                 {"query": {"field": "email", "operator": "=", "value": "nobody@x.example"},
                  "pagination": {"per_page": 5}}).json()
    assert_shape(empty, load("intercom", "search_contacts"))
    bad = _req(world, "POST", "/contacts/search", {"query": {"field": "email", "operator": "LIKE",
                                                             "value": "x"}})
    assert bad.status == 400


# -- properties ------------------------------------------------------------------------------

_LOCAL = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@settings(max_examples=30, deadline=None)
@given(locals_=st.lists(_LOCAL, min_size=1, max_size=6), probe=_LOCAL)
def test_search_by_email_finds_exactly_the_contacts_with_it(locals_: list[str], probe: str) -> None:
    world = standard_world(1, deals=0)
    made = set()
    for local in locals_:
        response = _req(world, "POST", "/contacts", {"email": f"{local}@prop.example"})
        if local in made:
            assert response.status == 409  # a second user with that email is a conflict
        else:
            assert response.status == 200
            made.add(local)
    for operator, value, expected in (
        ("=", f"{probe}@prop.example", {probe} & made),
        ("^", probe, {m for m in made if m.startswith(probe)}),
        ("IN", [f"{m}@prop.example" for m in sorted(made)], made),
    ):
        found = _req(world, "POST", "/contacts/search",
                     {"query": {"operator": "AND", "value": [
                         {"field": "email", "operator": operator, "value": value},
                         {"field": "email", "operator": "$", "value": "@prop.example"}]}}).json()
        assert {c["email"].split("@")[0] for c in found["data"]} == expected
        assert found["total_count"] == len(expected)


@settings(max_examples=30, deadline=None)
@given(times=st.integers(1, 4))
def test_each_reply_is_one_conversation_part(times: int) -> None:
    world = standard_world(1, deals=0)
    intercom: Intercom = world.system("intercom")
    conv_id, admin = intercom.conversation_ids()[0], intercom.admins()[0]["id"]
    for _ in range(times):
        _req(world, "POST", f"/conversations/{conv_id}/reply",
             {"message_type": "note", "type": "admin", "admin_id": admin, "body": "internal"})
    parts = _req(world, "GET", f"/conversations/{conv_id}").json()["conversation_parts"]
    assert parts["total_count"] == times
    assert [w.kind for w in world.writes if w.action == "create"] == ["reply"] * times


# -- the webhook trigger ------------------------------------------------------------------------


def test_conversation_user_created_event_is_intercoms_envelope(world: World) -> None:
    trigger = get_trigger("intercom.conversation.user.created")
    assert trigger.objects is not None and trigger.make_event is not None
    conv_id = trigger.objects(world)[0]
    event = trigger.make_event(world, conv_id, random.Random(3))
    assert_shape(event, load("intercom", "webhook_conversation_user_created"))
    assert_shape(event["data"]["item"], {k: v for k, v in load("intercom", "conversation").items()
                                         if k != "conversation_parts"})
    assert event["data"]["item"]["source"]["delivered_as"] == "customer_initiated"
    assert trigger.contract.check(event) == () and trigger.contract.check(trigger.example) == ()
    assert trigger.object_key(event) == f"conversation:{conv_id}"
    assert trigger.event_id(event) == event["id"] and event["id"].startswith("notif_")
    assert trigger.attempt_field == "delivery_attempts" and event["delivery_attempts"] == 1
    assert trigger.make_event(world, conv_id, random.Random(3)) == event
    author = event["data"]["item"]["source"]["author"]["email"]
    hubspot_emails = {c["properties"]["email"] for c in world.system("hubspot").records()["contact"]}
    assert author in hubspot_emails  # the same customers as the CRM's


# -- the official SDK (python-intercom, on httpx) -------------------------------------------------


def test_python_intercom_sdk_unmodified(world: World) -> None:
    sdk = pytest.importorskip("intercom")
    from intercom.core.api_error import ApiError
    from intercom.types import (
        AdminReplyConversationRequest,
        CreateContactRequestWithEmail,
        CreateOrUpdateCompanyRequest,
        SingleFilterSearchRequest,
        StartingAfterPaging,
    )

    intercom: Intercom = world.system("intercom")
    conv_id, admin = intercom.conversation_ids()[0], intercom.admins()[0]["id"]
    with world.activate():
        client = sdk.Intercom(token="dG9rOmhhcm5lc3NmYWtlOjE6MA==")
        made = client.contacts.create(request=CreateContactRequestWithEmail(
            email="sdk@example.com", name="Sam Dee"))
        assert made.id and made.email == "sdk@example.com"
        found = client.contacts.search(
            query=SingleFilterSearchRequest(field="email", operator="=", value="sdk@example.com"),
            pagination=StartingAfterPaging(per_page=5))
        assert [c.id for c in found] == [made.id]
        assert client.contacts.find(contact_id=made.id).name == "Sam Dee"
        company = client.companies.create_or_update(request=CreateOrUpdateCompanyRequest(
            company_id="sdk-co", name="SDK Co"))
        attached = client.companies.attach_contact(contact_id=made.id, company_id=company.id)
        assert attached.user_count == 1
        replied = client.conversations.reply(conversation_id=conv_id, request=AdminReplyConversationRequest(
            message_type="comment", type="admin", admin_id=admin, body="Hello from the SDK"))
        assert replied.conversation_parts is not None and replied.conversation_parts.total_count == 1
        assert [a.id for a in client.admins.list().admins or []] == [a["id"] for a in intercom.admins()]
        with pytest.raises(ApiError) as conflict:
            client.contacts.create(request=CreateContactRequestWithEmail(email="sdk@example.com"))
        assert conflict.value.status_code == 409
    assert [(w.kind, w.action) for w in world.writes if w.action == "create"] == [
        ("contact", "create"), ("company", "create"), ("reply", "create")]
