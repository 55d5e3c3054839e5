"""Flow declarations: validated where they are declared, with messages that name the fix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harness
from harness import Contract, Effect, Field, Flow, FlowDeclarationError, Policy, RetryPolicy
from harness.errors import UsageError
from harness.flow import load_callable, load_flow

TRIGGER = harness.get_trigger("hubspot.deal.closedwon")


def handle(event: object) -> dict[str, str]:
    return {"status": "ok"}


def test_the_bundled_flow_declares_cleanly() -> None:
    flow = load_flow("scenarios/deal_won/flow.py")
    assert flow.name == "deal_won"
    assert flow.key_for(TRIGGER.example) == "deal:1234567"
    assert callable(flow.handler())


def test_dedupe_key_that_raises_fails_at_declaration() -> None:
    with pytest.raises(FlowDeclarationError) as info:
        Flow(name="x", automation=handle, trigger=TRIGGER, dedupe_key=lambda e: e["dealId"])
    msg = str(info.value)
    assert "'dedupe_key' raised KeyError" in msg
    assert "example event" in msg


def test_dedupe_key_format_string_with_unknown_field_fails_at_declaration() -> None:
    with pytest.raises(FlowDeclarationError, match="'dedupe_key' raised KeyError: 'dealId'"):
        Flow(name="x", automation=handle, trigger=TRIGGER, dedupe_key="deal:{dealId}")


def test_unknown_field_type_suggests_the_closest() -> None:
    with pytest.raises(FlowDeclarationError, match=r"unknown type 'emial' \(did you mean 'email'\?\)"):
        Field("email", "emial")


def test_negative_max_attempts_is_refused() -> None:
    with pytest.raises(FlowDeclarationError, match="'max_attempts' must be an integer >= 1, got -1"):
        RetryPolicy(max_attempts=-1)


def test_unknown_error_class_is_refused() -> None:
    with pytest.raises(FlowDeclarationError, match="unknown error class 'transitory'"):
        Policy(classify=[(ValueError, "transitory")])  # type: ignore[list-item]  # the misspelling is the point


def test_bad_criticality_is_refused_with_choices() -> None:
    with pytest.raises(FlowDeclarationError, match="'criticality' must be one of low, normal, high, critical"):
        Flow(name="x", automation=handle, trigger=TRIGGER, criticality="urgent")


def test_bad_flow_name_is_refused() -> None:
    with pytest.raises(FlowDeclarationError, match="'name' must be"):
        Flow(name="deal won!", automation=handle, trigger=TRIGGER)


def test_effect_count_must_be_non_negative() -> None:
    with pytest.raises(FlowDeclarationError, match="'count' must be an integer >= 0"):
        Effect("stripe", "invoice", count=-2)


def test_contract_reports_every_violation_with_its_rule() -> None:
    contract = Contract((Field("objectId", "int"), Field("email", "email", required=False)))
    violations = contract.check({"objectId": "abc", "email": "not-an-email"})
    assert [str(v) for v in violations] == [
        "objectId = 'abc': expected required; an integer",
        "email = 'not-an-email': expected optional; an email address",
    ]
    assert [str(v) for v in contract.check({})] == ["objectId = missing: expected required; an integer"]


def test_trigger_example_satisfies_its_own_contract() -> None:
    for name in harness.triggers.trigger_names():
        trigger = harness.get_trigger(name)
        assert trigger.contract.check(trigger.example) == ()


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)))
def test_contract_check_never_raises_on_arbitrary_json(event: dict[str, object]) -> None:
    violations = TRIGGER.contract.check(event)
    assert all(isinstance(str(v), str) for v in violations)


def test_load_callable_errors_name_the_spec_and_the_fix(tmp_path) -> None:
    bad = tmp_path / "boom.py"
    bad.write_text("raise RuntimeError('no config')\n")
    with pytest.raises(UsageError, match=r"importing '.*boom.py' raised RuntimeError: no config"):
        load_callable(f"{bad}:handle")
    ok = tmp_path / "ok.py"
    ok.write_text("VALUE = 3\ndef handle(e):\n    return e\n")
    with pytest.raises(UsageError, match="'VALUE' is an int, not a callable"):
        load_callable(f"{ok}:VALUE")
    with pytest.raises(UsageError, match=r"has no attribute 'handel' \(did you mean 'handle'\?\)"):
        load_callable(f"{ok}:handel")
    with pytest.raises(UsageError, match="no module named 'no_such_pkg'"):
        load_callable("no_such_pkg.mod:handle")
    with pytest.raises(UsageError, match=r"expected 'path/to/file\.py:function'"):
        load_callable("just_a_name")
    assert load_callable(f"{ok}:handle")(5) == 5


def test_load_flow_refuses_a_non_flow(tmp_path) -> None:
    f = tmp_path / "notflow.py"
    f.write_text("flow = 42\n")
    with pytest.raises(UsageError, match=r"expected a harness\.Flow, got int"):
        load_flow(str(f))
