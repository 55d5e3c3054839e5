"""The gate file model: a typo or a wrong type is rejected with the file, the key and the choices;
evaluation is pure and its text, Markdown and JUnit renderings are exact."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError, UsageError
from harness.gate import (
    FINDING_CLASSES,
    THRESHOLDS,
    FlowGate,
    Gate,
    evaluate,
    load_gate,
    measure,
)

EXAMPLE_GATE = Path(__file__).resolve().parents[2] / "scenarios" / "deal_won" / "gate.toml"


@dataclass(frozen=True)
class M:
    """The metric fields the gate reads, as harness.report.Metrics carries them."""

    accepted_runs: int = 10
    runs_failed: int = 0
    duplicate_deliveries: int = 4
    duplicates_prevented: int = 4
    duplicate_effects_escaped: int = 0
    manual_fallback_frequency: float | None = 0.1
    time_to_recovery_p90: float | None = 30.0


@dataclass(frozen=True)
class F:
    oracle: str
    mode: str
    message: str
    reproduce: str


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_gate(path)
    assert isinstance(info.value, UsageError)
    assert info.value.path == str(path)
    return str(info.value).replace(str(path), "gate.toml")


def test_example_gate_loads() -> None:
    gate = load_gate(EXAMPLE_GATE)
    fg = gate.flow("deal_won")
    assert fg.mode == "bare"
    assert fg.min_examples == 10
    assert fg.max_findings["duplicate_effect"] == 0
    assert fg.max_findings["silent_loss"] == 0


def test_full_flow_table_parses_into_frozen_dataclasses(tmp_path: Path) -> None:
    gate = load_gate(
        write(
            tmp_path,
            """
[flows.deal_won]
mode = "bare"
min_examples = 50
min_duplicate_prevention_success = 1
max_duplicate_effects_escaped = 0
max_manual_fallback_frequency = 0.3
max_time_to_recovery_p90 = 600
max_runs_failed = 2
[flows.deal_won.max_findings]
duplicate_effect = 0
total = 3
effect = 1
""",
        )
    )
    assert gate.flows["deal_won"] == FlowGate(
        flow="deal_won",
        mode="bare",
        min_examples=50,
        min_duplicate_prevention_success=1.0,
        max_duplicate_effects_escaped=0,
        max_manual_fallback_frequency=0.3,
        max_time_to_recovery_p90=600.0,
        max_runs_failed=2,
        max_findings={"duplicate_effect": 0, "total": 3, "effect": 1},
    )
    with pytest.raises(AttributeError):
        gate.flows["deal_won"].mode = "orchestrated"  # type: ignore[misc]


def test_typo_in_metric_name_names_file_key_and_choices(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "[flows.deal_won]\nmin_duplicate_prevention_sucess = 1.0\n")
    assert msg == (
        "gate.toml: flows.deal_won.min_duplicate_prevention_sucess: unknown threshold "
        "(did you mean 'min_duplicate_prevention_success'?); valid: mode, min_examples, "
        "min_duplicate_prevention_success, max_duplicate_effects_escaped, "
        "max_manual_fallback_frequency, max_time_to_recovery_p90, max_runs_failed, max_failed_run_rate, max_findings"
    )


def test_wrong_type_names_the_expected_type(tmp_path: Path) -> None:
    assert error_of(tmp_path, '[flows.deal_won]\nmax_time_to_recovery_p90 = "10m"\n') == (
        "gate.toml: flows.deal_won.max_time_to_recovery_p90: expected a number >= 0 (seconds), "
        "got string '10m'"
    )
    assert error_of(tmp_path, "[flows.deal_won]\nmin_examples = 2.5\n") == (
        "gate.toml: flows.deal_won.min_examples: expected a whole number >= 0, got float 2.5"
    )
    assert error_of(tmp_path, "[flows.deal_won]\nmin_examples = true\n") == (
        "gate.toml: flows.deal_won.min_examples: expected a whole number >= 0, got boolean True"
    )


def test_fraction_out_of_range(tmp_path: Path) -> None:
    assert error_of(tmp_path, "[flows.deal_won]\nmin_duplicate_prevention_success = 95\n") == (
        "gate.toml: flows.deal_won.min_duplicate_prevention_success: expected a number from 0 "
        "to 1 (a fraction, 0.95 = 95%), got integer 95"
    )


def test_unknown_finding_class(tmp_path: Path) -> None:
    assert error_of(tmp_path, "[flows.deal_won.max_findings]\nsilent_los = 0\n") == (
        "gate.toml: flows.deal_won.max_findings.silent_los: unknown finding class (did you mean "
        "'silent_loss'?); valid: duplicate_effect, silent_loss, bad_value, partial_effect, unbounded_wait, "
        "logical_retry, transient_unrecovered, effect (an effect the flow declares), total "
        "(every class)"
    )


def test_bad_mode_top_level_key_and_empty_gate(tmp_path: Path) -> None:
    assert error_of(tmp_path, '[flows.deal_won]\nmode = "orchestrate"\n') == (
        "gate.toml: flows.deal_won.mode: expected one of 'bare', 'orchestrated', got string "
        "'orchestrate' (did you mean 'orchestrated'?)"
    )
    assert error_of(tmp_path, "[flow.deal_won]\nmin_examples = 1\n") == (
        "gate.toml: flow: unknown key (did you mean 'flows'?); valid: flows"
    )
    assert error_of(tmp_path, "") == (
        "gate.toml: the gate names no flow; add a [flows.NAME] table with thresholds, e.g. "
        "[flows.deal_won] min_examples = 50"
    )
    assert error_of(tmp_path, "flows = 3\n") == (
        "gate.toml: flows: expected one table per flow ([flows.NAME]), got integer 3"
    )


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    assert error_of(tmp_path, "[flows.deal_won\n") == (
        "gate.toml: not valid TOML: Expected ']' at the end of a table declaration "
        "(at line 1, column 16)"
    )
    with pytest.raises(ConfigError, match=r"^nope\.toml: gate file not found$"):
        load_gate("nope.toml")


def test_unknown_flow_lists_the_gates_flows() -> None:
    gate = Gate(path="gate.toml", flows={"deal_won": FlowGate(flow="deal_won")})
    with pytest.raises(ConfigError) as info:
        gate.flow("deal_wom")
    assert str(info.value) == (
        "gate.toml: flow 'deal_wom' is not in the gate (did you mean 'deal_won'?); flows in the "
        "gate: deal_won; add a [flows.deal_wom] table"
    )


def _gate(**thresholds: object) -> Gate:
    return Gate(path="gate.toml", flows={"deal_won": FlowGate(flow="deal_won", **thresholds)})  # type: ignore[arg-type]


def test_evaluate_pass_renders_every_check() -> None:
    result = evaluate(
        _gate(min_examples=10, min_duplicate_prevention_success=1.0, max_findings={"silent_loss": 0}),
        {"deal_won": [M()]},
        {"deal_won": [F("silent_loss", "bare", "lost", "harness replay x")]},  # other mode: ignored
        {"deal_won": 12},
    )
    assert result.passed
    assert result.render_text() == (
        "harness gate gate.toml: PASSED\n"
        "  deal_won (orchestrated): 1 campaign(s), 12 examples, 10 runs\n"
        "all 3 threshold(s) met"
    )


def test_evaluate_failure_names_each_broken_threshold_with_value_and_reproduce_lines() -> None:
    findings = [
        F("duplicate_effect", "orchestrated", "two invoices", "harness replay a --seed 1 --example 3"),
        F("duplicate_effect", "orchestrated", "two invoices", "harness replay a --seed 1 --example 3"),
        F("silent_loss", "orchestrated", "no ticket", "harness replay a --seed 1 --example 7"),
    ]
    result = evaluate(
        _gate(
            min_examples=50,
            min_duplicate_prevention_success=1.0,
            max_manual_fallback_frequency=0.3,
            max_time_to_recovery_p90=600,
            max_findings={"duplicate_effect": 0, "silent_loss": 0, "total": 5},
        ),
        {
            "deal_won": [
                M(accepted_runs=10, duplicate_deliveries=4, duplicates_prevented=2,
                  manual_fallback_frequency=0.5, time_to_recovery_p90=700.0),
                M(accepted_runs=30, duplicate_deliveries=0, duplicates_prevented=0,
                  manual_fallback_frequency=0.1, time_to_recovery_p90=None),
            ]
        },
        {"deal_won": findings},
        {"deal_won": 20},
    )
    assert not result.passed
    assert [c.threshold for c in result.broken] == [
        "min_examples",
        "min_duplicate_prevention_success",
        "max_time_to_recovery_p90",
        "max_findings.duplicate_effect",
        "max_findings.silent_loss",
    ]
    assert result.render_text() == (
        "harness gate gate.toml: FAILED\n"
        "  deal_won (orchestrated): 2 campaign(s), 20 examples, 40 runs\n"
        "5 threshold(s) broken:\n"
        "  flows.deal_won.min_examples: examples run = 20, required >= 50\n"
        "  flows.deal_won.min_duplicate_prevention_success: duplicate prevention success = 0.5, "
        "required >= 1\n"
        "  flows.deal_won.max_time_to_recovery_p90: time to recovery p90 = 700s, allowed <= 600s\n"
        "  flows.deal_won.max_findings.duplicate_effect: duplicate_effect findings = 2, allowed <= 0\n"
        "    reproduce: harness replay a --seed 1 --example 3\n"
        "  flows.deal_won.max_findings.silent_loss: silent_loss findings = 1, allowed <= 0\n"
        "    reproduce: harness replay a --seed 1 --example 7"
    )
    # manual fallback: (0.5*10 + 0.1*30) / 40 = 0.2 passes
    manual = next(c for c in result.checks if c.threshold == "max_manual_fallback_frequency")
    assert manual.passed and manual.measured == pytest.approx(0.2)
    md = result.render_markdown()
    assert md.startswith("### :x: harness gate `gate.toml` failed\n")
    assert "| deal_won | `min_examples` | 20 | >= 50 | **FAIL** |" in md
    assert "```sh\nharness replay a --seed 1 --example 3\nharness replay a --seed 1 --example 7\n```" in md
    props = dict(result.junit_properties())
    assert props["harness_gate"] == "failed"
    assert props["harness_gate.deal_won.max_findings.silent_loss"] == "1 BROKEN"
    assert props["harness_gate.deal_won.max_manual_fallback_frequency"] == "0.2 ok"


def test_flow_without_campaign_fails_and_unmeasured_metric_passes() -> None:
    result = evaluate(_gate(max_time_to_recovery_p90=1.0), {}, {}, {})
    assert result.render_text().splitlines()[-1] == (
        "  flows.deal_won.min_examples: examples run = 0, required >= 1 (no orchestrated "
        "campaign of flow 'deal_won' was judged)"
    )
    result = evaluate(
        _gate(max_time_to_recovery_p90=1.0, min_duplicate_prevention_success=1.0),
        {"deal_won": [M(time_to_recovery_p90=None, duplicate_deliveries=0, duplicates_prevented=0)]},
        {},
        {"deal_won": 5},
    )
    assert result.passed
    assert [c.sentence for c in result.checks] == [
        ("flows.deal_won.min_duplicate_prevention_success: duplicate prevention success = n/a, "
        "required >= 1 (not measured: no duplicate delivery)"),
        ("flows.deal_won.max_time_to_recovery_p90: time to recovery p90 = n/a, allowed <= 1s "
        "(not measured: no run met an error and recovered)"),
    ]


_metrics = st.builds(
    M,
    accepted_runs=st.integers(0, 50),
    runs_failed=st.integers(0, 5),
    duplicate_deliveries=st.integers(0, 20),
    duplicates_prevented=st.integers(0, 20),
    duplicate_effects_escaped=st.integers(0, 5),
    manual_fallback_frequency=st.none() | st.floats(0, 1),
    time_to_recovery_p90=st.none() | st.floats(0, 1e4),
)


@settings(deadline=None, max_examples=60, derandomize=True)
@given(st.lists(_metrics, max_size=6))
def test_combining_campaigns_is_order_free_and_never_hides_the_worst_p90(ms: list[M]) -> None:
    a = measure("f", "orchestrated", ms, 1)
    b = measure("f", "orchestrated", list(reversed(ms)), 1)
    assert a.accepted_runs == b.accepted_runs and a.duplicate_deliveries == b.duplicate_deliveries
    assert a.time_to_recovery_p90 == b.time_to_recovery_p90
    for m in ms:
        if m.time_to_recovery_p90 is not None:
            assert a.time_to_recovery_p90 is not None
            assert a.time_to_recovery_p90 >= m.time_to_recovery_p90
    if a.manual_fallback_frequency is not None:
        assert 0.0 <= a.manual_fallback_frequency <= 1.0 + 1e-9


@settings(deadline=None, max_examples=60, derandomize=True)
@given(st.sampled_from(THRESHOLDS[:-1]), st.text(min_size=1, max_size=4))
def test_any_threshold_with_a_string_value_is_rejected_naming_its_key(key: str, value: str) -> None:
    from harness.gate import parse_gate

    with pytest.raises(ConfigError) as info:
        parse_gate({"flows": {"f": {key: value}}}, path="g.toml")
    assert str(info.value).startswith(f"g.toml: flows.f.{key}: expected ")
    assert str(info.value).endswith(f"got string {value!r}")


def test_finding_classes_are_the_oracles_classes() -> None:
    import harness.chaos  # noqa: F401  (harness.oracles imported alone hits an import cycle)
    from harness.oracles import ORACLE_CLASSES

    assert FINDING_CLASSES == ORACLE_CLASSES


def test_silent_classes_fail_by_default_and_a_loud_partial_effect_only_when_named() -> None:
    findings = [
        F("bad_value", "orchestrated", "amount 0", "harness replay b"),
        F("partial_effect", "orchestrated", "customer left", "harness replay c"),
    ]
    result = evaluate(_gate(min_examples=1), {"deal_won": [M()]}, {"deal_won": findings}, {"deal_won": 12})
    assert [c.threshold for c in result.broken] == ["max_findings.bad_value"]
    # the file may allow a silent class, and threshold the loud one
    allowed = evaluate(
        _gate(max_findings={"bad_value": 1, "partial_effect": 0}),
        {"deal_won": [M()]}, {"deal_won": findings}, {"deal_won": 12},
    )
    assert [c.threshold for c in allowed.broken] == ["max_findings.partial_effect"]
    loud_only = evaluate(_gate(), {"deal_won": [M()]}, {"deal_won": findings[1:]}, {"deal_won": 12})
    assert loud_only.passed


def test_a_gate_fails_when_every_run_failed() -> None:
    # a gate with only finding thresholds passed an automation whose every run failed
    # (a host nothing fakes): the failed-run rate is what catches it
    gate = _gate(max_failed_run_rate=0.2, max_findings={"total": 0})
    both = [M(accepted_runs=30, runs_failed=25), M(accepted_runs=10, runs_failed=10)]
    result = evaluate(gate, {"deal_won": both}, {}, {"deal_won": 40})
    assert not result.passed
    assert [c.sentence for c in result.broken] == [
        "flows.deal_won.max_failed_run_rate: failed run rate = 0.875, allowed <= 0.2"
    ]
    healthy = evaluate(gate, {"deal_won": [M(accepted_runs=10, runs_failed=1)]}, {}, {"deal_won": 9})
    assert healthy.passed
    idle = evaluate(gate, {"deal_won": [M(accepted_runs=0)]}, {}, {"deal_won": 1})
    assert idle.checks[0].measured is None and idle.checks[0].note == "not measured: no accepted run"


def test_failed_run_rate_is_a_fraction(tmp_path: Path) -> None:
    assert error_of(tmp_path, "[flows.deal_won]\nmax_failed_run_rate = 5\n") == (
        "gate.toml: flows.deal_won.max_failed_run_rate: expected a number from 0 to 1 "
        "(a fraction, 0.95 = 95%), got integer 5"
    )
