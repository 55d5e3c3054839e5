"""Every built-in trigger: its contract, object key, events made from a seeded world, redelivery."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harness.chaos._runner import Target
from harness.chaos._scenario import Deliver, Scenario
from harness.cli import main
from harness.errors import FlowDeclarationError
from harness.flow import Contract, Field, Flow, lookup
from harness.systems import standard_world
from harness.triggers import (
    all_triggers,
    get_trigger,
    register_trigger,
    trigger_names,
    webhook_trigger,
)

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = [t.name for t in all_triggers()]
KEEPS_ID = {"stripe.invoice.paid", "stripe.checkout.session.completed",
            "stripe.customer.subscription.updated", "zendesk.ticket.created", "github.issues.opened",
            "slack.app_mention"}


def _missing(data: Any, path: str) -> bool:
    return type(lookup(data, path)).__name__ == "object"


def test_the_issue_s_triggers_are_registered() -> None:
    for name in ("stripe.invoice.paid", "stripe.checkout.session.completed",
                 "stripe.customer.subscription.updated", "zendesk.ticket.created",
                 "hubspot.contact.creation", "hubspot.company.creation",
                 "hubspot.contact.propertyChange", "hubspot.company.propertyChange",
                 "hubspot.deal.closedwon.poll"):
        assert name in trigger_names()


#: triggers whose vendor sends no id for a delivery
NO_EVENT_ID = frozenset({"quickbooks.customer.updated"})


@pytest.mark.parametrize("name", BUILTIN)
def test_contract_accepts_the_example_and_the_declaration_is_complete(name: str) -> None:
    trigger = get_trigger(name)
    assert trigger.contract.check(trigger.example) == ()
    assert isinstance(trigger.object_key(trigger.example), str) and trigger.object_key(trigger.example)
    assert trigger.defining, "every trigger says which fields make it what it is"
    for path in trigger.defining:
        assert not _missing(trigger.example, path), path
    # a vendor that sends no delivery id (QuickBooks) declares none; any other names where it is
    assert trigger.event_id_field or name in NO_EVENT_ID
    if trigger.event_id_field:
        assert not _missing(trigger.example, trigger.event_id_field)
    assert trigger.redelivery_keeps_id is (name in KEEPS_ID)


@pytest.mark.parametrize("name", BUILTIN)
def test_make_event_builds_valid_events_about_the_world_s_objects(name: str) -> None:
    trigger = get_trigger(name)
    assert trigger.objects is not None and trigger.make_event is not None
    world = standard_world(5)
    objects = list(trigger.objects(world))
    # enough objects for scenarios to interleave (Xero holds only the existing customers)
    assert len(objects) >= 3
    events = [trigger.make_event(world, oid, random.Random(i)) for i, oid in enumerate(objects[:3])]
    for oid, event in zip(objects, events, strict=False):
        assert trigger.contract.check(event) == (), (oid, event)
        assert set(event) >= set(trigger.example) - {"appId"} or trigger.schedule is not None
        if trigger.schedule is None:
            assert trigger.object_key(event).endswith(f":{oid}")
        else:
            assert trigger.schedule.key(oid) == f"deal:{oid}"
    # the same seed makes the same objects and the same events, in any world built from it
    again = standard_world(5)
    assert list(trigger.objects(again)) == objects
    assert trigger.make_event(again, objects[0], random.Random(0)) == events[0]


@pytest.mark.parametrize("name", [n for n in BUILTIN if not n.endswith(".poll")])
def test_made_event_has_the_documented_example_s_fields(name: str) -> None:
    trigger = get_trigger(name)
    world = standard_world(2)
    event = trigger.make_event(world, next(iter(trigger.objects(world))), random.Random(1))  # type: ignore[misc]
    assert set(event) >= set(trigger.example)
    obj = event.get("data", {}).get("object") or event.get("detail")
    documented = trigger.example.get("data", {}).get("object") or trigger.example.get("detail")
    if documented is not None:
        assert obj is not None, event
        assert set(obj) >= set(documented), sorted(set(documented) - set(obj))


def test_trigger_examples_are_the_fixtures_documented_payloads() -> None:
    examples = ROOT / "harness" / "_triggers" / "examples"
    files = sorted(examples.glob("*/*.json"))
    assert len(files) == 10
    for f in files:
        fixture = ROOT / "fixtures" / f.parent.name / f.name
        assert json.loads(f.read_text()) == json.loads(fixture.read_text()), f.name


def test_stripe_objects_the_events_are_about_exist_in_the_fake() -> None:
    world = standard_world(1)
    stripe = world.system("stripe")
    paid = get_trigger("stripe.invoice.paid")
    oid = next(iter(paid.objects(world)))  # type: ignore[misc]
    event = paid.make_event(world, oid, random.Random(0))  # type: ignore[misc]
    invoice = stripe.get("invoice", oid)
    assert invoice["status"] == "paid" and invoice["amount_paid"] == invoice["total"] > 0
    assert event["data"]["object"] == invoice and event["request"] == {"id": None, "idempotency_key": None}
    customer = stripe.get("customer", invoice["customer"])
    hubspot = world.system("hubspot")
    assert customer["email"] == hubspot.get("contact", hubspot.contact_ids()[0])["properties"]["email"]
    sub = get_trigger("stripe.customer.subscription.updated")
    sid = list(sub.objects(world))[1]  # type: ignore[misc]
    event = sub.make_event(world, sid, random.Random(0))  # type: ignore[misc]
    assert event["data"]["previous_attributes"] == {"status": "trialing"}
    assert stripe.get("subscription", sid)["status"] == "active"


def _delivered(name: str, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def automation(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {"status": "ok"}

    flow = Flow(name="noop", automation=automation, trigger=get_trigger(name))
    target = Target(flow, seed=3)
    seen.clear()
    steps = tuple(Deliver(0, kind) for kind in kinds)
    run = target.run(Scenario(seed=3, steps=steps), "bare")
    return [d.event for d in run.deliveries]


@pytest.mark.parametrize("name", [n for n in BUILTIN if not n.endswith(".poll")])
def test_a_redelivery_keeps_the_event_id_only_where_the_vendor_does(name: str) -> None:
    trigger = get_trigger(name)
    first, dup, redelivered = _delivered(name, ("original", "duplicate", "redelivery"))
    if trigger.event_id_field:
        assert trigger.event_id(dup) == trigger.event_id(first) is not None
        assert (trigger.event_id(redelivered) == trigger.event_id(first)) is trigger.redelivery_keeps_id
    assert trigger.object_key(redelivered) == trigger.object_key(first)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_schedule_deliveries_are_ticks_double_and_overlapping() -> None:
    first, double, overlap = _delivered("hubspot.deal.closedwon.poll", ("original", "duplicate", "redelivery"))
    assert first["tick_id"] == double["tick_id"] and first == double
    assert overlap["tick_id"] != first["tick_id"]
    assert overlap["previous_at"] == first["previous_at"]
    assert _at(first["scheduled_at"]) > _at(first["previous_at"])
    assert (_at(first["scheduled_at"]) - _at(first["previous_at"])).total_seconds() == 900


def test_a_schedule_change_falls_inside_the_tick_s_window() -> None:
    trigger = get_trigger("hubspot.deal.closedwon.poll")
    seen: list[tuple[dict[str, Any], str]] = []

    def automation(event: dict[str, Any]) -> None:
        world = target_world[0]
        hubspot = world.system("hubspot")
        won = [d for d in hubspot.deal_ids() if hubspot.get("deal", d)["properties"]["dealstage"] == "closedwon"]
        for d in won:
            seen.append((event, hubspot.get("deal", d)["properties"]["hs_lastmodifieddate"]))

    target_world: list[Any] = []
    flow = Flow(name="poll", automation=automation, trigger=trigger)
    original_new_world = Target.new_world

    def new_world(self: Target, role: str = "fresh") -> Any:
        world, clock = original_new_world(self, role)
        target_world[:] = [world]
        return world, clock

    Target.new_world = new_world  # type: ignore[method-assign]
    try:
        Target(flow, seed=1)
    finally:
        Target.new_world = original_new_world  # type: ignore[method-assign]
    assert seen
    for event, modified in seen:
        if _at(modified) > _at(event["previous_at"]) and _at(modified) <= _at(event["scheduled_at"]):
            break
    else:
        pytest.fail(f"no change inside a tick's window: {seen}")


# -- the generic webhook trigger ----------------------------------------------------------------

ORDER = {"id": "evt_01HZX3", "type": "order.paid", "data": {"item": {"id": 1041, "total": "12.00"}}}


def test_webhook_trigger_derives_events_per_object() -> None:
    trigger = webhook_trigger("t.order.paid", example=ORDER, object_key="data.item.id",
                              defining=("type",))
    objects = trigger.objects(None)  # type: ignore[misc]
    assert objects[:3] == ["1041", "1042", "1043"]
    event = trigger.make_event(None, "1042", random.Random(1))  # type: ignore[misc]
    assert event["data"]["item"]["id"] == 1042 and trigger.object_key(event) == "item:1042"
    assert event["id"] != ORDER["id"] and event["id"].startswith("evt_") and len(event["id"]) == len(ORDER["id"])
    assert event["type"] == "order.paid" and trigger.contract.check(event) == ()
    assert trigger.redelivery_keeps_id and trigger.event_id_field == "id"


def test_webhook_trigger_from_a_json_file_and_register_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness._triggers import _registry

    # a registry of this test's own: the trigger must not outlive it (other tests list the names)
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    path = tmp_path / "order.json"
    path.write_text(json.dumps(ORDER))
    declare = {"example": str(path), "object_key": "data.item.id",
                   "contract": Contract((Field("data.item.id", "int"), Field("id", "str")))}
    a = register_trigger(webhook_trigger("t.file.order", **declare))  # type: ignore[arg-type]
    assert register_trigger(webhook_trigger("t.file.order", **declare)) is a  # type: ignore[arg-type]
    with pytest.raises(FlowDeclarationError, match=r"different trigger named 't\.file\.order'"):
        register_trigger(webhook_trigger("t.file.order", example=ORDER, object_key="id"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"example": ORDER, "object_key": "data.order.id"}, "'object_key' 'data.order.id' is not in the example"),
        ({"example": ORDER, "object_key": "data.item.id", "event_id": "event_id"}, "'event_id' 'event_id'"),
        ({"example": ORDER, "object_key": "data.item.id",
              "contract": Contract((Field("data.item.total", "int"),))}, "breaks the trigger's own contract"),
        ({"example": "no/such/file.json", "object_key": "id"}, "does not exist"),
        ({"example": [1, 2], "object_key": "id"}, "'example' must be a JSON object"),
    ],
)
def test_webhook_trigger_declaration_errors_name_the_problem(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(FlowDeclarationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        webhook_trigger("t.bad", **kwargs)


# -- the CLI -------------------------------------------------------------------------------------


def test_harness_triggers_lists_every_trigger_with_its_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triggers", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in listed] == trigger_names()
    paid = next(t for t in listed if t["name"] == "stripe.invoice.paid")
    assert paid["object_key"] == "invoice:<data.object.id>" and paid["redelivery_keeps_id"] is True
    assert {"field": "data.object.status", "type": "enum", "required": True,
            "rule": "required; one of the allowed values; one of 'paid'",
            "meaning": "the invoice's new status"} in paid["contract"]
    assert main(["triggers", "zendesk"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("zendesk.ticket.created  (zendesk, webhook)") and "detail.requester_id" in out
    assert main(["triggers", "nope"]) == 2
    assert "known triggers: github.issues.opened, hubspot.company.creation" in capsys.readouterr().err


def test_check_help_names_the_triggers(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "stripe.invoice.paid" in out and "harness triggers" in out


def test_a_schedule_scenario_prints_changes_and_ticks_and_round_trips() -> None:
    steps = (Deliver(0), Deliver(0, "duplicate"), Deliver(1, "redelivery"), Deliver(2, late=True))
    scenario = Scenario(seed=4, steps=steps, noun="deal", ticks=True)
    assert scenario.program({0: "hubspot deal 10000000002"}).splitlines() == [
        "world = standard_world(seed=4)",
        "change(deal=0)  # deal 0 is hubspot deal 10000000002",
        "tick(deal=0)",
        "tick(deal=0, double=True)",
        "tick(deal=1, overlapping=True)",
        "change(deal=2)",
        "tick(deal=2, late=True)",
    ]
    assert Scenario.from_json(scenario.to_json()) == scenario
    assert "ticks" not in Scenario(seed=4, steps=steps).to_dict()


def test_an_event_id_on_a_dotted_path_is_read_by_the_orchestrator_and_the_ledger_records() -> None:
    from harness.orchestrator._run import event_id_of

    example = {"meta": {"delivery": "d-0001"}, "order": {"id": 7}}
    trigger = webhook_trigger("t.nested.id", example=example, object_key="order.id", event_id="meta.delivery")
    flow = Flow(name="nested", automation=lambda e: None, trigger=trigger)
    assert event_id_of(flow, example) == "d-0001"
    made = trigger.make_event(None, "8", random.Random(2))  # type: ignore[misc]
    assert made["order"]["id"] == 8 and made["meta"]["delivery"].startswith("d-")
    assert made["meta"]["delivery"] != "d-0001" and event_id_of(flow, made) == made["meta"]["delivery"]
    with pytest.raises(FlowDeclarationError, match="'attempt_field' must be a top-level field"):
        webhook_trigger("t.nested.attempt", example=example, object_key="order.id", event_id=None,
                        attempt_field="meta.delivery")


@pytest.mark.parametrize(("every", "seconds"), [(900, 900), ("15m", 900), ("1h", 3600), ("30s", 30), ("1d", 86_400)])
def test_schedule_trigger_reads_its_period(every: Any, seconds: float) -> None:
    from harness.triggers import schedule_trigger

    trigger = schedule_trigger("t.every", every=every, objects=lambda w: ["1"], change=lambda w, o, r: None,
                               key="thing", system="crm")
    assert trigger.schedule is not None and trigger.schedule.every == seconds
    assert trigger.schedule.key("1") == "thing:1" and trigger.contract.check(trigger.example) == ()


@pytest.mark.parametrize("every", ["soon", 0, -5, "15 minutes"])
def test_schedule_trigger_refuses_a_period_it_cannot_read(every: Any) -> None:
    from harness.triggers import schedule_trigger

    with pytest.raises(FlowDeclarationError, match="'every'"):
        schedule_trigger("t.bad.every", every=every, objects=lambda w: ["1"], change=lambda w, o, r: None,
                         key="thing", system="crm")
