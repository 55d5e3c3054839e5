"""The Slack Web API fake: documented shapes, ok:false refusals, form and JSON bodies, app_mention events, slack_sdk."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from harness.systems import Slack, World, standard_world
from harness.systems._slack import SIGNING_SECRET
from harness.triggers import get_trigger
from tests.systems._helpers import assert_shape, call, load
from tests.systems._loopback import serve

BOT = ("Authorization", "Bearer xoxb-1111-2222-harnessfaketoken")
API = "https://slack.com/api"


@pytest.fixture
def world() -> World:
    return standard_world(5, deals=2)


def _post(world: World, method: str, args: dict[str, Any], *, form: bool = False,
          auth: tuple[str, str] | None = BOT) -> dict[str, Any]:
    if form:
        response = call(world, "POST", f"{API}/{method}", auth=auth, form=args)
    else:
        response = call(world, "POST", f"{API}/{method}", auth=auth, json_body=args)
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


# -- contract: documented payloads ---------------------------------------------------------


def test_post_message_has_the_documented_shape(world: World) -> None:
    documented = load("slack", "chat_postMessage")
    got = _post(world, "chat.postMessage", {
        "channel": "#general", "text": "Here's a message for you", "username": "ecto1",
        "attachments": [{"fallback": "This is an attachment's fallback",
                         "text": "This is an attachment"}]})
    assert_shape(got, documented)
    assert got["ts"] == got["message"]["ts"] and got["message"]["subtype"] == "bot_message"


def test_update_history_list_and_lookup_have_the_documented_shapes(world: World) -> None:
    posted = _post(world, "chat.postMessage", {"channel": "general", "text": "first"})
    updated = _post(world, "chat.update", {"channel": posted["channel"], "ts": posted["ts"],
                                           "text": "Updated text you carefully authored"})
    assert_shape(updated, load("slack", "chat_update"))
    history = _post(world, "conversations.history", {"channel": posted["channel"]}, form=True)
    assert_shape(history, load("slack", "conversations_history"))
    assert [m["text"] for m in history["messages"]] == ["Updated text you carefully authored"]
    listed = call(world, "GET", f"{API}/conversations.list?limit=1", auth=BOT).json()
    assert_shape(listed, load("slack", "conversations_list"))
    assert listed["channels"][0]["name"] == "general" and listed["channels"][0]["is_general"]
    person = world.system("slack").people()[0]
    found = call(world, "GET", f"{API}/users.lookupByEmail?email={person['profile']['email']}",
                 auth=BOT).json()
    assert_shape(found, load("slack", "users_lookupByEmail"))
    assert found["user"]["id"] == person["id"]


@pytest.mark.parametrize(
    ("method", "args", "error"),
    [
        ("chat.postMessage", {"channel": "#nowhere", "text": "x"}, "channel_not_found"),
        ("chat.postMessage", {"channel": "#general"}, "no_text"),
        ("chat.postMessage", {"channel": "#general", "text": "x" * 40_001}, "msg_too_long"),
        ("chat.postMessage", {"channel": "#general", "blocks": "not json"}, "invalid_blocks"),
        ("chat.update", {"channel": "#general", "ts": "1.000001", "text": "x"}, "message_not_found"),
        ("users.lookupByEmail", {"email": "nobody@acme.example"}, "users_not_found"),
        ("conversations.history", {"channel": "#general"}, "channel_not_found"),
        ("conversations.list", {"limit": "5000"}, "invalid_limit"),
        ("conversations.list", {"cursor": "bm9wZQ=="}, "invalid_cursor"),
    ],
)
def test_a_refused_call_is_http_200_with_ok_false(world: World, method: str, args: dict[str, Any],
                                                  error: str) -> None:
    body = _post(world, method, args, form=True)
    assert body == {"ok": False, "error": error}
    assert not world.writes


def test_the_documented_error_examples_match(world: World) -> None:
    assert _post(world, "conversations.history", {"channel": "C0NOTREAL"}) == load(
        "slack", "error_channel_not_found")
    assert _post(world, "users.lookupByEmail", {"email": "x@y.example"}) == load(
        "slack", "error_users_not_found")


def test_authentication_not_authed_invalid_auth_and_form_token(world: World) -> None:
    assert _post(world, "auth.test", {}, auth=None) == {"ok": False, "error": "not_authed"}
    assert _post(world, "auth.test", {}, auth=("Authorization", "Bearer nope")) == {
        "ok": False, "error": "invalid_auth"}
    # a form body may carry the token; a JSON body may not (Slack reads it from the header only)
    form = _post(world, "auth.test", {"token": "xoxb-1-form"}, form=True, auth=None)
    assert form["ok"] and form["user_id"] == world.system("slack").bot_user_id
    assert _post(world, "auth.test", {"token": "xoxb-1-json"}, auth=None)["error"] == "not_authed"


def test_rate_limit_is_429_with_retry_after() -> None:
    slack = Slack(rate_limit=(2, 60.0))
    world = World([slack])
    for _ in range(2):
        assert _post(world, "auth.test", {})["ok"]
    response = call(world, "POST", f"{API}/auth.test", auth=BOT, form={})
    assert response.status == 429 and int(response.header("Retry-After") or 0) >= 1
    assert response.json() == {"ok": False, "error": "ratelimited"}


def test_injected_errors_read_as_slacks_own(world: World) -> None:
    slack: Slack = world.system("slack")
    assert slack.error_response(400).status == 200
    assert slack.error_response(400).json() == {"ok": False, "error": "invalid_arguments"}
    assert slack.error_response(503).status == 503
    limited = slack.error_response(429, retry_after=7)
    assert limited.status == 429 and limited.header("Retry-After") == "7"
    shape = slack.describe().errors
    assert shape.failure_in_body is not None and shape.rejected_field is not None
    assert shape.failure_in_body(200, {"ok": False, "error": "channel_not_found"})
    assert not shape.failure_in_body(200, {"ok": True})
    assert shape.rejected_field({"ok": False, "error": "msg_too_long"}) == "text"
    slack.fail_next(404, path="chat.postMessage")
    assert _post(world, "chat.postMessage", {"channel": "#general", "text": "x"}) == {
        "ok": False, "error": "channel_not_found"}


def test_history_pages_newest_first_and_a_dm_opens_for_a_user_id(world: World) -> None:
    for i in range(5):
        _post(world, "chat.postMessage", {"channel": "#sales", "text": f"m{i}"})
        world.clock.sleep(1)
    seen: list[str] = []
    cursor = ""
    sales = world.system("slack").channel_id("sales")
    assert _post(world, "conversations.history", {"channel": world.system("slack").channel_id(
        "random")})["error"] == "not_in_channel"
    while True:
        page = _post(world, "conversations.history", {"channel": sales, "limit": 2,
                                                      "cursor": cursor}, form=True)
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not page["has_more"]:
            assert cursor == ""
            break
    assert seen == ["m4", "m3", "m2", "m1", "m0"]
    person = world.system("slack").people()[1]
    dm = _post(world, "chat.postMessage", {"channel": person["id"], "text": "psst"})
    assert dm["ok"] and dm["channel"].startswith("D")
    again = _post(world, "chat.postMessage", {"channel": person["id"], "text": "again"})
    assert again["channel"] == dm["channel"]


def test_archived_channel_and_another_users_message(world: World) -> None:
    slack: Slack = world.system("slack")
    slack.archive("#alerts")
    assert _post(world, "chat.postMessage", {"channel": "#alerts", "text": "x"})["error"] == "is_archived"
    mine = _post(world, "chat.postMessage", {"channel": "#general", "text": "by the installer"},
                 auth=("Authorization", "Bearer xoxp-1-user"))
    refused = _post(world, "chat.update", {"channel": mine["channel"], "ts": mine["ts"], "text": "y"})
    assert refused == {"ok": False, "error": "cant_update_message"}


# -- properties ---------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=200).filter(
    lambda t: t.strip() != "")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT, form=st.booleans())
def test_any_text_posts_once_and_reads_back_unchanged_in_either_encoding(text: str, form: bool) -> None:
    world = standard_world(1, deals=0)
    posted = _post(world, "chat.postMessage", {"channel": "#sales", "text": text}, form=form)
    assert posted["ok"] and posted["message"]["text"] == text
    history = _post(world, "conversations.history", {"channel": posted["channel"]})
    assert [m["text"] for m in history["messages"]] == [text]
    assert [(w.kind, w.action) for w in world.writes] == [("message", "create")]


@settings(max_examples=25, deadline=None)
@given(extra=st.integers(min_value=1, max_value=5000))
def test_text_past_the_limit_is_refused_and_writes_nothing(extra: int) -> None:
    world = standard_world(1, deals=0)
    body = _post(world, "chat.postMessage", {"channel": "#general", "text": "a" * (40_000 + extra)})
    assert body == {"ok": False, "error": "msg_too_long"}
    assert not world.writes


@settings(max_examples=25, deadline=None)
@given(count=st.integers(min_value=1, max_value=8))
def test_timestamps_are_unique_and_increasing_within_one_instant(count: int) -> None:
    world = standard_world(2, deals=0)
    stamps = [_post(world, "chat.postMessage", {"channel": "#general", "text": str(i)})["ts"]
              for i in range(count)]
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == count


def test_seeding_is_deterministic_per_seed() -> None:
    a, b, c = (standard_world(s, deals=0).system("slack") for s in (9, 9, 10))
    assert a.records() == b.records()
    assert a.records() != c.records()
    assert {ch["name"] for ch in a.records()["channel"]} >= {"general", "random", "sales"}


# -- the official SDK ------------------------------------------------------------------------


def test_slack_sdk_web_client_unmodified(world: World) -> None:
    # slack_sdk's WebClient speaks urllib, which the harness does not intercept yet: it is
    # pointed at a loopback server that hands each request to the same World
    with serve(world, "slack.com") as base:
        client = WebClient(token="xoxb-1111-2222-harnessfaketoken", base_url=f"{base}/api/")
        assert client.auth_test()["user_id"] == world.system("slack").bot_user_id
        channels = client.conversations_list(limit=2)
        names = [c["name"] for c in channels["channels"]]
        nxt = channels["response_metadata"]["next_cursor"]
        names += [c["name"] for c in client.conversations_list(cursor=nxt, limit=10)["channels"]]
        assert names[:2] == ["general", "random"] and "sales" in names
        posted = client.chat_postMessage(channel="#sales", text="Deal won: Acme",
                                         blocks=[{"type": "section", "text": {
                                             "type": "mrkdwn", "text": "*Deal won*: Acme"}}])
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Deal won: Acme (paid)")
        history = client.conversations_history(channel=posted["channel"])
        assert [m["text"] for m in history["messages"]] == ["Deal won: Acme (paid)"]
        email = world.system("slack").people()[0]["profile"]["email"]
        assert client.users_lookupByEmail(email=email)["user"]["profile"]["email"] == email
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="#nowhere", text="x")
        assert refused.value.response["error"] == "channel_not_found"
        with pytest.raises(SlackApiError) as unknown:
            client.users_lookupByEmail(email="ghost@acme.example")
        assert unknown.value.response["error"] == "users_not_found"
    assert [(w.kind, w.action) for w in world.writes] == [("message", "create"), ("message", "update")]


def test_slack_sdk_async_web_client_unmodified(world: World) -> None:
    pytest.importorskip("aiohttp")
    from slack_sdk.web.async_client import AsyncWebClient

    async def run(base: str) -> list[str]:
        client = AsyncWebClient(token="xoxb-1111-2222-harnessfaketoken", base_url=f"{base}/api/")
        await client.chat_postMessage(channel="#general", text="async hello")
        history = await client.conversations_history(channel=world.system("slack").channel_id("general"))
        return [m["text"] for m in history["messages"]]

    with serve(world, "slack.com") as base:
        assert asyncio.run(run(base)) == ["async hello"]
    assert json.loads(json.dumps(world.writes[0].record))["text"] == "async hello"


# -- the Events API trigger ----------------------------------------------------------------------


def test_app_mention_event_is_signed_as_slack_signs_and_keyed_by_event_id(world: World) -> None:
    from slack_sdk.signature import SignatureVerifier

    slack: Slack = world.system("slack")
    trigger = get_trigger("slack.app_mention")
    assert trigger.objects is not None and trigger.make_event is not None
    key = trigger.objects(world)[0]
    event = trigger.make_event(world, key, random.Random(1))
    assert_shape(event, load("slack", "event_app_mention"))
    assert trigger.contract.check(event) == () and trigger.contract.check(trigger.example) == ()
    raw = json.dumps(event["body"], separators=(",", ":"))
    stamp = int(event["headers"]["X-Slack-Request-Timestamp"])
    # slack_sdk's own verifier accepts the delivery (checked at the time Slack sent it)
    verifier = SignatureVerifier(SIGNING_SECRET, clock=type("At", (), {"now": staticmethod(lambda: stamp)})())
    assert verifier.is_valid(raw, str(stamp), event["headers"]["X-Slack-Signature"])
    assert not verifier.is_valid(raw.replace("app_mention", "app_mentioN"), str(stamp),
                                 event["headers"]["X-Slack-Signature"])
    inner = event["body"]["event"]
    assert f"<@{slack.bot_user_id}>" in inner["text"] and inner["user"] != slack.bot_user_id
    assert trigger.object_key(event) == f"message:{key}" == f"message:{inner['channel']}:{inner['ts']}"
    assert event["body"]["authorizations"][0]["user_id"] == slack.bot_user_id
    assert trigger.event_id(event) == event["body"]["event_id"] and trigger.redelivery_keeps_id
    # the mention is a real message of the channel the API serves
    history = _post(world, "conversations.history", {"channel": inner["channel"]})
    assert inner["ts"] in {m["ts"] for m in history["messages"]}
    assert trigger.make_event(world, key, random.Random(1)) == event
    other = trigger.make_event(world, key, random.Random(2))
    assert trigger.event_id(other) != trigger.event_id(event) and other["body"]["event"]["ts"] == inner["ts"]
    with pytest.raises(KeyError, match="mention_keys"):
        slack.webhook_event("C0NOPE:1.000000")
