"""The GitHub REST fake: documented shapes, 422 validation, rate-limit headers, webhooks, PyGithub."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from typing import Any

import pytest
from github import Auth, Github, GithubException, UnknownObjectException
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.systems import GitHub, World, standard_world
from harness.systems._github import WEBHOOK_SECRET
from harness.triggers import get_trigger
from tests.systems._helpers import assert_shape, call, load

TOKEN = "ghp_" + "A1b2C3d4" * 4 + "EeFf"
AUTH = ("Authorization", f"Bearer {TOKEN}")
REPO = "https://api.github.com/repos/acme/support"


@pytest.fixture
def world() -> World:
    return standard_world(4, deals=2)


def _create(world: World, payload: Any) -> Any:
    return call(world, "POST", f"{REPO}/issues", auth=AUTH, json_body=payload)


def test_issue_comment_label_search_and_errors_have_the_documented_shapes(world: World) -> None:
    created = _create(world, {"title": "Found a bug", "body": "I'm having a problem with this.",
                              "labels": ["bug"]})
    assert created.status == 201 and created.header("Location") == created.json()["url"]
    issue = created.json()
    assert_shape(issue, load("github", "issue"))
    assert issue["labels"][0]["name"] == "bug" and issue["labels"][0]["default"] is True
    number = issue["number"]
    comment = call(world, "POST", f"{REPO}/issues/{number}/comments", auth=AUTH,
                   json_body={"body": "Me too"})
    assert comment.status == 201
    assert_shape(comment.json(), load("github", "issue_comment"))
    assert_shape(call(world, "GET", f"{REPO}/labels/bug", auth=AUTH).json(), load("github", "label"))
    found = call(world, "GET", "https://api.github.com/search/issues?q=repo:acme/support+%22Found+a+bug%22",
                 auth=AUTH).json()
    assert_shape(found, load("github", "search_issues"))
    assert [i["number"] for i in found["items"]] == [number]
    assert _create(world, {"body": "no title"}).json() == load("github", "error_validation_failed")
    assert call(world, "GET", f"{REPO}/issues/99999", auth=AUTH).json() == load("github", "error_not_found")
    assert call(world, "GET", f"{REPO}/issues/{number}", auth=AUTH).json()["comments"] == 1


def test_auth_rate_limit_headers_and_vendor_errors(world: World) -> None:
    missing = call(world, "GET", f"{REPO}/issues")
    assert missing.status == 401 and missing.json()["message"] == "Requires authentication"
    bad = call(world, "GET", f"{REPO}/issues", auth=("Authorization", "token nope"))
    assert bad.status == 401 and bad.json()["message"] == "Bad credentials"
    first = call(world, "GET", f"{REPO}/issues", auth=("Authorization", f"token {TOKEN}"))
    second = call(world, "GET", f"{REPO}/issues", auth=AUTH)
    assert first.header("X-RateLimit-Limit") == "5000"
    assert int(first.header("X-RateLimit-Remaining") or 0) - 1 == int(
        second.header("X-RateLimit-Remaining") or 0)
    github: GitHub = world.system("github")
    limited = github.error_response(429, retry_after=30)
    assert limited.header("Retry-After") == "30" and "secondary rate limit" in limited.json()["message"]
    primary = github.error_response(403)
    assert primary.header("X-RateLimit-Remaining") == "0"
    rejected_field = github.describe().errors.rejected_field
    assert rejected_field is not None
    assert rejected_field(load("github", "error_validation_failed")) == "title"
    assert call(world, "GET", "https://api.github.com/repos/acme/elsewhere/issues", auth=AUTH).status == 404


def test_list_filters_pages_with_link_and_patch_closes(world: World) -> None:
    for i in range(5):
        _create(world, {"title": f"t{i}", "labels": ["triage"] if i % 2 else []})
    page = call(world, "GET", f"{REPO}/issues?labels=triage&per_page=1", auth=AUTH)
    assert [i["title"] for i in page.json()] == ["t3"]
    assert 'rel="next"' in (page.header("Link") or "") and "page=2" in (page.header("Link") or "")
    everything = call(world, "GET", f"{REPO}/issues?state=all&per_page=100", auth=AUTH).json()
    assert len(everything) == 8  # three seeded + five
    closed = call(world, "PATCH", f"{REPO}/issues/4", auth=AUTH,
                  json_body={"state": "closed", "state_reason": "not_planned", "labels": ["wontfix"]})
    body = closed.json()
    assert body["state"] == "closed" and body["state_reason"] == "not_planned" and body["closed_at"]
    assert [lb["name"] for lb in body["labels"]] == ["wontfix"]
    wrong = call(world, "PATCH", f"{REPO}/issues/4", auth=AUTH, json_body={"state": "done"})
    assert wrong.status == 422 and wrong.json()["errors"][0]["field"] == "state"
    open_now = call(world, "GET", f"{REPO}/issues?state=open&per_page=100", auth=AUTH).json()
    assert 4 not in [i["number"] for i in open_now]


def test_labels_create_conflict_and_issue_label_endpoints(world: World) -> None:
    made = call(world, "POST", f"{REPO}/labels", auth=AUTH,
                json_body={"name": "customer", "color": "#1d76db"})
    assert made.status == 201 and made.json()["color"] == "1d76db"
    again = call(world, "POST", f"{REPO}/labels", auth=AUTH, json_body={"name": "Customer"})
    assert again.status == 422 and again.json()["errors"][0]["code"] == "already_exists"
    number = _create(world, {"title": "x"}).json()["number"]
    added = call(world, "POST", f"{REPO}/issues/{number}/labels", auth=AUTH,
                 json_body={"labels": ["customer", "bug"]})
    assert [lb["name"] for lb in added.json()] == ["customer", "bug"]
    removed = call(world, "DELETE", f"{REPO}/issues/{number}/labels/bug", auth=AUTH)
    assert [lb["name"] for lb in removed.json()] == ["customer"]
    gone = call(world, "DELETE", f"{REPO}/issues/{number}/labels/bug", auth=AUTH)
    assert gone.status == 404 and gone.json()["message"] == "Label does not exist"


# -- properties ---------------------------------------------------------------------------

_TITLES = st.text(min_size=1, max_size=80).filter(lambda t: t.strip() != "")


@settings(max_examples=40, deadline=None)
@given(title=_TITLES, body=st.none() | st.text(max_size=200))
def test_a_valid_issue_is_created_once_with_the_next_number(title: str, body: str | None) -> None:
    world = standard_world(1, deals=0)
    response = _create(world, {"title": title, "body": body})
    assert response.status == 201
    issue = response.json()
    assert (issue["title"], issue["body"], issue["number"]) == (title, body, 4)
    assert [(w.kind, w.action) for w in world.writes] == [("issue", "create")]


@settings(max_examples=40, deadline=None)
@given(payload=st.one_of(
    st.fixed_dictionaries({}, optional={"body": st.text(max_size=20)}),
    st.fixed_dictionaries({"title": st.sampled_from(["", "   ", None])}),
    st.fixed_dictionaries({"title": st.just("ok"), "assignees": st.just(["stranger"])}),
    st.fixed_dictionaries({"title": st.just("ok"), "milestone": st.integers(1, 9)}),
    st.fixed_dictionaries({"title": st.lists(st.integers(), max_size=2)}),
))
def test_an_invalid_issue_is_422_naming_the_field_and_writes_nothing(payload: dict[str, Any]) -> None:
    world = standard_world(1, deals=0)
    response = _create(world, payload)
    assert response.status == 422, response.body
    body = response.json()
    assert body["message"] == "Validation Failed" and body["errors"][0]["field"] in (
        "title", "assignees", "milestone")
    assert not world.writes


# -- the official SDK ---------------------------------------------------------------------------


def test_pygithub_unmodified(world: World) -> None:
    with world.activate():
        gh = Github(auth=Auth.Token(TOKEN), retry=None)
        repo = gh.get_repo("acme/support")
        assert repo.full_name == "acme/support" and repo.open_issues_count == 3
        people = world.system("github").repositories()
        assert people == ["acme/support"]
        login = repo.get_issue(1).user.login
        issue = repo.create_issue(title="Customer escalation: Acme", body="From Intercom 42",
                                  labels=["escalation", "bug"], assignees=[login])
        assert issue.number == 4 and [lb.name for lb in issue.labels] == ["escalation", "bug"]
        issue.create_comment("Looking into it")
        issue.add_to_labels("help wanted")
        issue.edit(state="closed")
        assert repo.get_issue(4).state == "closed"
        assert [c.body for c in repo.get_issue(4).get_comments()] == ["Looking into it"]
        titles = [i.title for i in repo.get_issues(state="all")]
        assert titles[0] == "Customer escalation: Acme" and len(titles) == 4
        hits = gh.search_issues("escalation repo:acme/support is:issue")
        assert [i.number for i in hits] == [4]
        with pytest.raises(GithubException) as invalid:
            repo.create_issue(title="")
        assert invalid.value.status == 422
        with pytest.raises(UnknownObjectException):
            repo.get_issue(999)
    kinds = [(w.kind, w.action) for w in world.writes]
    assert kinds.count(("issue", "create")) == 1 and ("comment", "create") in kinds


# -- the webhook trigger ------------------------------------------------------------------------


def test_issues_opened_event_is_a_signed_delivery_keyed_by_its_delivery_guid(world: World) -> None:
    trigger = get_trigger("github.issues.opened")
    assert trigger.objects is not None and trigger.make_event is not None
    key = trigger.objects(world)[0]
    event = trigger.make_event(world, key, random.Random(1))
    documented = load("github", "webhook_issues_opened")
    assert set(event) == {"headers", "body"}
    assert_shape(event, documented)
    raw = json.dumps(event["body"], separators=(",", ":")).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(event["headers"]["X-Hub-Signature-256"], signature)
    assert trigger.contract.check(event) == () and trigger.contract.check(trigger.example) == ()
    issue = event["body"]["issue"]
    assert trigger.object_key(event) == f"issue:{key}" == f"issue:acme/support#{issue['number']}"
    assert event["body"]["sender"]["login"] == issue["user"]["login"]
    assert "collaborators" not in event["body"]["repository"]  # the fake's bookkeeping stays inside
    assert trigger.event_id(event) == event["headers"]["X-GitHub-Delivery"]
    assert trigger.redelivery_keeps_id and trigger.attempt_field is None
    # the same rng gives the same delivery (a campaign reproduces); another gives a new GUID
    assert trigger.make_event(world, key, random.Random(1)) == event
    other = trigger.make_event(world, key, random.Random(2))
    assert trigger.event_id(other) != trigger.event_id(event) and other["body"] == event["body"]
    # what the API answers for the issue is what the webhook carries
    fetched = call(world, "GET", f"{REPO}/issues/{issue['number']}", auth=AUTH).json()
    assert fetched == issue
    with pytest.raises(KeyError, match="issue_keys"):
        world.system("github").webhook_event("acme/support#999")
