"""The Slack, GitHub, Shopify and Intercom fakes in the default world: seeding, descriptors, state."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from harness.flow import Flow
from harness.orchestrator._run import event_id_of
from harness.systems import World, standard_world
from harness.triggers import get_trigger
from tests.systems._helpers import call

APPS = ("slack", "github", "shopify", "intercom")
AUTH = {
    "slack": ("Authorization", "Bearer xoxb-1-x"),
    "github": ("Authorization", "token ghp_" + "a" * 36),
    "shopify": ("X-Shopify-Access-Token", "shpat_x"),
    "intercom": ("Authorization", "Bearer tok"),
}
CREATE = {
    "slack": ("https://slack.com/api/chat.postMessage", {"channel": "#general", "text": "hi"}),
    "github": ("https://api.github.com/repos/acme/support/issues", {"title": "hi"}),
    "shopify": ("https://acme-store.myshopify.com/admin/api/2024-01/products.json",
                {"product": {"title": "Hat"}}),
    "intercom": ("https://api.intercom.io/contacts", {"email": "new@x.example"}),
}

# digests of HubSpot, Stripe and Zendesk records before these fakes joined the world
_BEFORE = {0: "eaaee31e0c42b9425eacdbd07df7a440646bbe32462e8a58abf1cd0121480840",
           3: "d7ae37cf8c6ba75d283acdd3d0019f30a9b961c1108dd7e0060f8a4219c4eb75",
           20260101: "db4f58408640ce5a721971d1516ff8e9ecd52871ac7794e5946fa76c3c9d3e64"}


@pytest.mark.parametrize("seed", sorted(_BEFORE))
def test_existing_seeds_find_the_same_hubspot_stripe_zendesk_records(seed: int) -> None:
    world = standard_world(seed)
    # the kinds these three fakes stored before the other fakes (and their new kinds) joined
    kinds = {"hubspot": ("deal", "contact"), "stripe": ("customer", "invoiceitem", "invoice"),
             "zendesk": ("ticket", "user")}
    data = {s.name: {k: v for k, v in s.records().items() if k in kinds[s.name]}
            for s in world.systems if s.name in kinds}
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    assert digest == _BEFORE[seed]


@pytest.mark.parametrize("name", APPS)
def test_each_fake_declares_its_descriptor(name: str) -> None:
    world = standard_world(1, deals=0)
    fake = world.system(name)
    descriptor = world.descriptor(name)
    assert descriptor is type(fake).descriptor and descriptor.name == name
    assert set(descriptor.hosts) == set(type(fake).default_hosts)
    assert descriptor.records, "responses that carry records are declared"
    for status in (400, 404, 422, 429, 500, 503):
        response = fake.error_response(status)
        assert response.json() == json.loads(json.dumps(descriptor.errors.body(status, None)))


@pytest.mark.parametrize("name", APPS)
def test_state_restore_and_scripted_failures(name: str) -> None:
    world = standard_world(2, deals=0)
    fake = world.system(name)
    before = fake.state()
    url, payload = CREATE[name]
    first = call(world, "POST", url, auth=AUTH[name], json_body=payload)
    assert first.status in (200, 201) and world.writes
    after = fake.records()
    fake.restore_state(before)
    again = call(world, "POST", url, auth=AUTH[name], json_body=payload)
    assert again.body == first.body and fake.records() == after  # same ids from the same state
    fake.fail_next(503)
    failed = call(world, "POST", url, auth=AUTH[name], json_body=payload)
    assert failed.status == 503 and failed.json() == fake.error_response(503).json()
    assert not fake.crashes


def test_one_world_serves_every_vendor_without_declaration() -> None:
    world: World = standard_world(4, deals=1)
    for name in APPS:
        url = CREATE[name][0]
        assert world.system_for(url.split("/")[2]) is world.system(name)
    assert world.system_for("other-shop.myshopify.com") is world.system("shopify")
    assert world.system_for("acme.slack.com") is world.system("slack")


def test_a_header_event_id_reaches_the_orchestrator() -> None:
    world = standard_world(4, deals=1)
    trigger = get_trigger("shopify.orders.create")
    assert trigger.objects is not None and trigger.make_event is not None
    event = trigger.make_event(world, trigger.objects(world)[0], random.Random(0))
    flow = Flow(name="orders", automation=lambda e: None, trigger=trigger)
    assert event_id_of(flow, event) == event["headers"]["X-Shopify-Event-Id"]
    assert event_id_of(flow, {"body": {}}) is None
