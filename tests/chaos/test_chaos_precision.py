"""Oracle precision (issue 16): writes judged by meaning, arrays element by element, loud rejections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.chaos import Deliver, InjectFault, Scenario, SetValue, Target
from harness.flow import Flow
from harness.oracles import CLASS_SEVERITY, CLASS_WEIGHT, ORACLE_CLASSES, SILENT_CLASSES, judge
from harness.triggers import get_trigger

from . import _precision_automations as autos

SEED = 3


def _target(fn: Callable[..., Any]) -> Target:
    flow = Flow(name=fn.__name__, automation=fn, trigger=get_trigger("hubspot.deal.closedwon"))
    return Target(flow, seed=SEED)


def _found(target: Target, *steps: object) -> dict[str, str]:
    run = target.run(Scenario(SEED, tuple(steps), noun="deal"), "bare")  # type: ignore[arg-type]
    return {h.oracle: h.message for h in judge(run)}


def test_a_missing_price_inside_a_json_array_is_a_bad_value() -> None:
    target = _target(autos.ticket_with_line_items)
    assert _found(target, Deliver(1)) == {}
    found = _found(target, SetValue(1, "deals", "amount", "null"), Deliver(1))
    assert "custom_fields.1.value = 0.0" in found["bad_value"], found


def test_an_error_report_is_not_compared_with_the_success_update_on_the_same_record() -> None:
    target = _target(autos.reports_errors_on_the_deal)
    assert _found(target, Deliver(0)) == {}
    # Stripe refuses the customer: the automation writes the error on the deal and raises
    found = _found(target, InjectFault("stripe", "POST /v1/customers", "client_error"), Deliver(0))
    assert "bad_value" not in found, found


def test_a_rejection_followed_by_a_loud_failure_is_a_partial_effect_not_a_bad_value() -> None:
    target = _target(autos.lets_stripe_validate)
    assert _found(target, Deliver(0)) == {}
    found = _found(target, SetValue(0, "deals", "amount", "null"), Deliver(0))
    assert "bad_value" not in found, found
    assert "partial_effect" in found, found
    assert "stripe customer" in found["partial_effect"]
    assert "failed loudly" in found["partial_effect"]


def test_silent_classes_weigh_more_than_a_loud_partial_effect() -> None:
    assert set(CLASS_SEVERITY) == set(ORACLE_CLASSES) == set(CLASS_WEIGHT)
    assert {c for c, s in CLASS_SEVERITY.items() if s == "silent"} >= set(SILENT_CLASSES)
    assert CLASS_SEVERITY["partial_effect"] == "loud"
    assert all(CLASS_WEIGHT["partial_effect"] < CLASS_WEIGHT[c] for c in SILENT_CLASSES)


@pytest.mark.parametrize("field", ["propertyName", "propertyValue", "subscriptionType"])
def test_breaking_a_defining_field_is_never_a_silent_loss(target: Target, field: str) -> None:
    # the scenario deal_won automation ignores what is not a won deal
    for how in ("null", "absent", "wrong_type", "empty"):
        run = target.run(Scenario(SEED, (SetValue(0, "event", field, how), Deliver(0)), noun="deal"), "bare")
        assert "silent_loss" not in {h.oracle for h in judge(run)}, (field, how)
