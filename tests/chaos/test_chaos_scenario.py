"""Scenarios: readable programs, JSON that round-trips, clear errors for broken files."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from harness.chaos import Deliver, InjectFault, Scenario, ScenarioSpace, SetValue
from harness.errors import ConfigError, UsageError
from harness.strategies import scenarios

SPACE = ScenarioSpace(
    seed=3,
    objects=5,
    endpoints=(("stripe", "POST /v1/invoices"), ("zendesk", "POST /api/v2/tickets.json")),
    value_targets=(("contacts", "email"), ("deals", "amount"), ("event", "objectId")),
    noun="deal",
)


def test_a_failing_scenario_prints_as_a_short_program() -> None:
    scenario = Scenario(
        3,
        (
            Deliver(2),
            InjectFault("stripe", "POST /v1/invoices", "execute_then_timeout"),
            Deliver(2, "duplicate"),
        ),
        noun="deal",
    )
    assert scenario.program() == (
        "world = standard_world(seed=3)\n"
        "deliver(deal=2)\n"
        'fault(stripe, "POST /v1/invoices", execute_then_timeout)\n'
        "deliver(deal=2, duplicate=True)"
    )
    assert scenario.program({2: "hubspot deal 10000000006"}).splitlines()[1] == (
        "deliver(deal=2)  # deal 2 is hubspot deal 10000000006"
    )


def test_bad_values_and_parameters_are_shown() -> None:
    scenario = Scenario(
        1,
        (
            SetValue(0, "contacts", "email", "null"),
            InjectFault("hubspot", "*", "outage", (("seconds", 600),)),
            Deliver(0, late=True),
        ),
        noun="deal",
    )
    assert scenario.program().splitlines()[1:] == [
        'bad_value(deal=0, "contacts.email", null)',
        'fault(hubspot, "*", outage, seconds=600)',
        "deliver(deal=0, out_of_order=True)",
    ]


def test_delivering_an_object_again_as_original_is_a_duplicate() -> None:
    scenario = Scenario(0, (Deliver(1), Deliver(1)))
    assert scenario.steps == (Deliver(1), Deliver(1, "duplicate"))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(scenarios(SPACE))
def test_every_drawn_scenario_round_trips_through_json(scenario: Scenario) -> None:
    assert Scenario.from_json(scenario.to_json()) == scenario
    assert scenario.deliveries, "a scenario always delivers something"
    assert all(d.obj < SPACE.objects for d in scenario.deliveries)


def test_a_broken_step_names_the_file_the_step_and_the_expected_shape() -> None:
    text = json.dumps({"seed": 1, "steps": [{"step": "deliver", "obj": 0}, {"step": "deliver", "obj": -1}]})
    with pytest.raises(ConfigError, match=r"^s\.json: steps\[1\]: invalid step .*'obj' must be an integer >= 0"):
        Scenario.from_json(text, path="s.json")


def test_a_scenario_needs_an_integer_seed() -> None:
    with pytest.raises(ConfigError, match=r"^s\.json: seed: expected an integer, got '3'"):
        Scenario.from_json('{"seed": "3", "steps": []}', path="s.json")


def test_an_unknown_fault_in_a_file_is_a_usage_error() -> None:
    text = json.dumps(
        {"seed": 1, "steps": [{"step": "fault", "system": "stripe", "endpoint": "*", "fault": "timeout"}]}
    )
    with pytest.raises(UsageError, match="unknown fault 'timeout'"):
        Scenario.from_json(text)


def test_text_that_is_not_json_says_so() -> None:
    with pytest.raises(ConfigError, match=r"^s\.json: not valid JSON"):
        Scenario.from_json("{", path="s.json")


def test_the_public_modules_export_names_that_exist() -> None:
    import harness.chaos
    import harness.oracles
    import harness.strategies

    # (ruff's RUF022 keeps each __all__ sorted)
    for module in (harness.chaos, harness.strategies, harness.oracles):
        assert len(set(module.__all__)) == len(module.__all__)
        assert [n for n in module.__all__ if not hasattr(module, n)] == []
