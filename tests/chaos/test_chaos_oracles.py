"""The oracles on the deal-won automation: each class from a hand-written scenario.

The automation has no idempotency keys, retries Stripe on 4xx, posts to
Zendesk without a timeout and writes amount 0 / no email when the CRM record
lacks them: bare mode shows every class; the orchestrator removes most.
"""

from __future__ import annotations

import pytest

from harness.chaos import Deliver, InjectFault, Scenario, SetValue, Target
from harness.oracles import judge, timeline_of

from .conftest import SEED


def _classes(target: Target, mode: str, *steps: object) -> dict[str, str]:
    """Oracle class -> its messages (joined) for the scenario of ``steps``."""
    run = target.run(Scenario(SEED, tuple(steps), noun="deal"), mode)  # type: ignore[arg-type]
    found: dict[str, str] = {}
    for hit in judge(run):
        found[hit.oracle] = f"{found[hit.oracle]}\n{hit.message}" if hit.oracle in found else hit.message
    return found


def test_a_run_without_faults_has_no_finding(target: Target) -> None:
    assert _classes(target, "bare", Deliver(0), Deliver(1)) == {}


def test_a_duplicate_delivery_creating_a_second_invoice_is_a_duplicate_effect(target: Target) -> None:
    found = _classes(target, "bare", Deliver(2), Deliver(2, "duplicate"))
    assert set(found) == {"duplicate_effect"}
    assert "2 stripe customer, 2 stripe invoice, 2 stripe invoiceitem, 2 zendesk ticket records created where the reference run created 1, 1, 1, 1" in found["duplicate_effect"]


def test_a_retry_after_a_lost_answer_is_a_duplicate_effect(target: Target) -> None:
    found = _classes(
        target, "bare", InjectFault("stripe", "POST /v1/invoices", "execute_then_timeout"), Deliver(2)
    )
    assert "by a retry inside one delivery" in found["duplicate_effect"]


def test_a_missing_amount_written_as_zero_is_a_bad_value(target: Target) -> None:
    found = _classes(target, "bare", SetValue(1, "deals", "amount", "null"), Deliver(1))
    assert "POST /v1/invoiceitems on stripe sent amount = '0'" in found["bad_value"]


def test_a_missing_email_sent_as_nothing_is_a_bad_value(target: Target) -> None:
    found = _classes(target, "bare", SetValue(1, "contacts", "email", "absent"), Deliver(1))
    assert "POST /v1/customers on stripe sent no email" in found["bad_value"]


def test_ignoring_an_event_whose_defining_field_was_broken_is_no_silent_loss(target: Target) -> None:
    # issue 16: without its new stage the event is no longer a won deal; ignoring it is right
    assert "propertyValue" in target.flow.trigger.defining
    found = _classes(target, "bare", SetValue(0, "event", "propertyValue", "null"), Deliver(0))
    assert "silent_loss" not in found


def test_a_stall_on_the_call_without_timeout_is_an_unbounded_wait(target: Target) -> None:
    found = _classes(target, "bare", InjectFault("zendesk", "POST /api/v2/tickets.json", "stall"), Deliver(0))
    assert set(found) == {"unbounded_wait"}
    assert "has no timeout and met a stall" in found["unbounded_wait"]


def test_retrying_a_declined_invoice_is_a_logical_retry(target: Target) -> None:
    found = _classes(target, "bare", InjectFault("stripe", "POST /v1/invoices", "client_error"), Deliver(0))
    assert set(found) == {"logical_retry"}
    assert "sent 3 times in one run although it was rejected with 402" in found["logical_retry"]


def test_one_503_from_hubspot_is_a_transient_unrecovered(target: Target) -> None:
    found = _classes(
        target, "bare", InjectFault("hubspot", "GET /crm/v3/objects/deals/{id}", "server_error"), Deliver(0)
    )
    assert set(found) == {"transient_unrecovered"}


def test_a_long_outage_is_not_a_short_transient_burst(target: Target) -> None:
    found = _classes(target, "bare", InjectFault("hubspot", "*", "outage", (("seconds", 600),)), Deliver(0))
    assert "transient_unrecovered" not in found


@pytest.mark.parametrize(
    "steps",
    [
        (Deliver(2), Deliver(2, "duplicate")),
        (Deliver(2), Deliver(2, "redelivery")),
        (SetValue(1, "deals", "amount", "null"), Deliver(1)),
        (InjectFault("hubspot", "GET /crm/v3/objects/deals/{id}", "server_error"), Deliver(0)),
        (InjectFault("zendesk", "POST /api/v2/tickets.json", "stall"), Deliver(0)),
    ],
)
def test_the_orchestrator_removes_what_it_can(target: Target, steps: tuple[object, ...]) -> None:
    assert _classes(target, "bare", *steps)
    assert _classes(target, "orchestrated", *steps) == {}


def test_in_orchestrated_mode_a_bad_value_goes_to_the_inbox_not_into_silence(target: Target) -> None:
    run = target.run(Scenario(SEED, (SetValue(1, "deals", "amount", "null"), Deliver(1)), "deal"), "orchestrated")
    assert [d.end_state for d in run.deliveries] == ["manual"]
    assert judge(run) == []


def test_the_timeline_lists_each_call_with_its_fault_and_outcome(target: Target) -> None:
    run = target.run(
        Scenario(SEED, (InjectFault("stripe", "POST /v1/invoices", "execute_then_timeout"), Deliver(2)), "deal"),
        "bare",
    )
    calls = [t for t in timeline_of(run) if t.kind == "call"]
    lost = [t for t in calls if t.fault]
    assert [(t.system, t.method, t.path, t.outcome, t.latency) for t in lost] == [
        ("stripe", "POST", "/v1/invoices", "unknown", 15.0)
    ]
    assert timeline_of(run)[-1].kind == "delivery"
    assert "Authorization" not in repr(timeline_of(run))


def test_a_declared_effect_the_automation_never_has_is_reported() -> None:
    from harness.flow import Effect, Flow
    from harness.triggers import get_trigger

    from .conftest import QUALITY

    flow = Flow(
        name="no_ticket",
        automation=f"{QUALITY / 'fragile_no_retry.py'}:handle",
        trigger=get_trigger("hubspot.deal.closedwon"),
        effects=(Effect("zendesk", "ticket", description="one onboarding ticket per won deal"),),
    )
    target = Target(flow, seed=SEED)
    hits = judge(target.run(Scenario(SEED, (Deliver(0),), "deal"), "bare"))
    assert [(h.oracle, h.message.split(": ", 1)[1]) for h in hits] == [
        ("effect", "one onboarding ticket per won deal expected, found 0 zendesk ticket")
    ]
