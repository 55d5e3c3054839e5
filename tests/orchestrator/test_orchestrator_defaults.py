"""The orchestrator recovers with no flow file (issue 16): only PATH.py:FUNCTION and a trigger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import _default_automations as autos

from harness.chaos import Deliver, InjectFault, Scenario, SetValue, Target
from harness.flow import Flow
from harness.oracles import judge
from harness.triggers import get_trigger

SEED = 3


def _play(fn: Callable[..., Any], *steps: object) -> Any:
    flow = Flow(name=fn.__name__, automation=fn, trigger=get_trigger("hubspot.deal.closedwon"))
    assert flow.dedupe_key is None  # nothing declared
    return Target(flow, seed=SEED).run(Scenario(SEED, tuple(steps), noun="deal"), "orchestrated")  # type: ignore[arg-type]


def _posts(run: Any, system: str, path: str) -> list[Any]:
    return [c for c in run.world.calls if c.system == system and c.method == "POST" and c.request.path == path]


def test_the_triggers_object_key_is_the_default_dedupe_key() -> None:
    run = _play(autos.one_customer_per_delivery, Deliver(0), Deliver(0, "redelivery"))
    assert [d.end_state for d in run.deliveries] == ["succeeded", "suppressed"]
    assert run.deliveries[0].run.dedupe_key == f"hubspot.deal.closedwon:{run.deliveries[0].object_key}"
    assert len(_posts(run, "stripe", "/v1/customers")) == 1
    assert not judge(run)


def test_a_swallowed_refused_write_is_a_failed_attempt_handed_to_a_person() -> None:
    run = _play(
        autos.swallows_a_refused_ticket,
        InjectFault("zendesk", "POST /api/v2/tickets.json", "client_error", (("kind", "rejected"),)),
        Deliver(0),
    )
    (d,) = run.deliveries
    assert d.end_state == "manual"
    assert "swallowed a failed write: POST zendesk /api/v2/tickets.json -> 422" in str(d.error)
    assert len(_posts(run, "zendesk", "/api/v2/tickets.json")) == 1  # logical: not retried
    assert "silent_loss" not in {h.oracle for h in judge(run)}


def test_the_automations_own_retry_of_an_identical_request_reuses_the_idempotency_key() -> None:
    # the item create fails once: the automation redoes the customer create, identical
    run = _play(
        autos.retries_the_whole_billing,
        InjectFault("stripe", "POST /v1/invoiceitems", "server_error", (("status", 503),)),
        Deliver(0),
    )
    (d,) = run.deliveries
    assert d.end_state == "succeeded"
    creates = _posts(run, "stripe", "/v1/customers")
    assert len(creates) == 2
    keys = {c.request.header("Idempotency-Key") for c in creates}
    assert len(keys) == 1 and None not in keys
    assert "duplicate_effect" not in {h.oracle for h in judge(run)}


def test_a_write_with_unknown_outcome_on_a_system_without_keys_or_guard_goes_to_the_inbox() -> None:
    run = _play(
        autos.creates_a_crm_task,
        InjectFault("hubspot", "POST /crm/v3/objects/tasks", "execute_then_timeout"),
        Deliver(0),
    )
    (d,) = run.deliveries
    assert d.end_state == "manual", d.end_state
    # sent once, never again: not by the automation's own loop, not by a retry of the run
    assert len(_posts(run, "hubspot", "/crm/v3/objects/tasks")) == 1
    assert "POST hubspot /crm/v3/objects/tasks" in str(d.run.detail.get("reason"))
    assert "neither idempotency keys nor a search-before-create guard" in str(d.run.detail.get("reason"))
    assert d.inbox_item is not None
    (maybe,) = d.inbox_item.context["unknown_effects"]  # the write that may have happened, named
    assert (maybe["system"], maybe["method"]) == ("hubspot", "POST")
    assert maybe["url"].endswith("/crm/v3/objects/tasks")
    assert not judge(run)


def _held(run: Any) -> list[dict[str, Any]]:
    return [e.detail for d in run.deliveries for e in d.run.events if e.kind == "contract_violation"]


def test_a_zero_standing_in_for_a_missing_amount_is_held_for_a_person() -> None:
    run = _play(autos.bills_with_defaults, SetValue(0, "deals", "amount", "absent"), Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "manual", d.end_state
    assert not _posts(run, "stripe", "/v1/invoiceitems")  # held before it was sent
    (held,) = [h for h in _held(run) if h["field"] == "amount"]
    assert held["default"] == "stand_in"
    assert "GET /crm/v3/objects/deals/" in held["rule"] and "amount missing" in held["rule"]
    assert "bad_value" not in {h.oracle for h in judge(run)}


def test_a_formatted_none_for_a_missing_name_is_held() -> None:
    run = _play(autos.bills_with_defaults, SetValue(0, "deals", "dealname", "null"), Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "manual"
    assert [h["field"] for h in _held(run)] == ["description"]


def test_a_robust_automation_is_never_held_and_a_complete_deal_is_billed() -> None:
    run = _play(autos.bills_only_complete_deals, SetValue(0, "deals", "amount", "empty"), Deliver(0), Deliver(1))
    assert [d.end_state for d in run.deliveries] == ["manual", "succeeded"]  # its own ValueError: logical
    assert not _held(run)
    assert len(_posts(run, "stripe", "/v1/invoiceitems")) == 1
    assert not judge(run)


def test_the_flows_write_contract_for_that_write_decides_instead() -> None:
    from harness.flow import Contract, Field, WriteContract

    allow_zero = WriteContract(
        system="stripe", method="POST", path=r"/v1/invoiceitems",
        contract=Contract(fields=(Field("currency", "str"),)),
    )
    flow = Flow(name="allow", automation=autos.bills_with_defaults, trigger=get_trigger("hubspot.deal.closedwon"),
                write_contracts=(allow_zero,))
    run = Target(flow, seed=SEED).run(
        Scenario(SEED, (SetValue(0, "deals", "amount", "absent"), Deliver(0)), noun="deal"), "orchestrated"
    )
    assert [d.end_state for d in run.deliveries] == ["succeeded"]
    assert not _held(run)
