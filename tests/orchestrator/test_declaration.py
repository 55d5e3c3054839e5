"""A flow declared wrongly fails where it is declared, with a message that says how to fix it."""

from __future__ import annotations

from typing import Any

import pytest
from _orch_support import make_flow

from harness import FlowDeclarationError, Policy, RetryPolicy
from harness.orchestrator import Orchestrator, classify
from harness.policy import AlertPolicy, BreakerPolicy, TimeoutPolicy


def test_dedupe_key_that_raises_fails_at_declaration() -> None:
    def key(event: Any) -> str:
        return f"deal:{event['dealId']}"  # the trigger calls it objectId

    with pytest.raises(FlowDeclarationError) as info:
        make_flow(dedupe_key=key)
    message = str(info.value)
    assert "Flow 'orders': 'dedupe_key' raised KeyError: 'dealId'" in message
    assert "example event" in message and "must return a string" in message


def test_dedupe_format_string_naming_a_missing_field_fails_at_declaration() -> None:
    with pytest.raises(FlowDeclarationError, match=r"'dedupe_key' raised KeyError: 'orderId'"):
        make_flow(dedupe_key="order:{orderId}")


def test_unknown_error_class_name_fails_at_declaration() -> None:
    with pytest.raises(FlowDeclarationError) as info:
        Policy(classify=[(ValueError, "transiant")])  # type: ignore[list-item]  # the misspelling is the point
    assert "unknown error class 'transiant'" in str(info.value)
    assert "expected one of transient, logical, duplicate, unknown" in str(info.value)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: RetryPolicy(max_attempts=-1), "'max_attempts' must be an integer >= 1, got -1"),
        (lambda: RetryPolicy(max_attempts=0), "use 1 for no retries"),
        (lambda: RetryPolicy(max_attempts=10_000), "retries are capped"),
        (lambda: RetryPolicy(base_delay=-2), "'base_delay' must be a positive number, got -2"),
        (lambda: RetryPolicy(deadline=0), "'deadline' must be a positive number"),
        (lambda: TimeoutPolicy(call=0), "'call' must be a positive number"),
        (lambda: BreakerPolicy(failures=0), "'failures' must be an integer >= 1"),
        (lambda: AlertPolicy(sinks=("pager",)), "unknown sink 'pager'"),
        (lambda: Policy(unknown_as="retry"), "'unknown_as' must be 'transient' or 'logical'"),
        (lambda: Policy(classify=[("not callable", "logical")]), "must be an exception type or a predicate"),
        (lambda: make_flow(criticality="urgent"), "'criticality' must be one of"),
    ],
)
def test_bad_policy_values_fail_at_declaration(build: Any, expected: str) -> None:
    with pytest.raises(FlowDeclarationError) as info:
        build()
    assert expected in str(info.value)


def test_flow_classify_rules_extend_the_default_taxonomy() -> None:
    class QuotaExceeded(Exception):
        pass

    policy = Policy(
        classify=[
            (QuotaExceeded, "transient"),
            (lambda exc: "maintenance" in str(exc), "transient"),
        ]
    )
    assert classify(QuotaExceeded(), policy) == "transient"
    assert classify(RuntimeError("down for maintenance"), policy) == "transient"
    assert classify(RuntimeError("boom"), policy) == "unknown"


def test_orchestrator_rejects_what_is_not_a_flow() -> None:
    with pytest.raises(TypeError, match=r"'flow' must be a harness\.Flow"):
        Orchestrator("scenarios/deal_won/flow.py")  # type: ignore[arg-type]
