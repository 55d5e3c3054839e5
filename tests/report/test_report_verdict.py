"""The verdict rules at their thresholds: a value equal to its limit passes, one step past it does not."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from harness.report import Maintenance, Metrics, Thresholds, decide

T = Thresholds()  # the defaults the rules document


def segment(runs: int = 100, **kw: object) -> Metrics:
    """Healthy metrics for one segment: nothing failed, nothing manual, duplicates all prevented."""
    base = Metrics(
        accepted_runs=runs,
        end_states={"succeeded": runs},
        time_to_recovery_p50=10.0,
        time_to_recovery_p90=60.0,
        duplicate_deliveries=10,
        duplicates_prevented=10,
        duplicate_prevention_success=1.0,
        manual_fallback_frequency=0.0,
        mode="orchestrated",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def whole(*segments: tuple[str, Metrics], **kw: object) -> Metrics:
    runs = sum(m.accepted_runs for _, m in segments)
    return replace(segment(runs), by_segment=dict(segments), **kw)  # type: ignore[arg-type]


def rates(**kw: Any) -> Metrics:
    """A flow whose two segments (and so the whole) share the given rates."""
    return whole(("new", segment(**kw)), ("existing", segment(**kw)), **kw)


def healthy() -> Metrics:
    return whole(("new", segment()), ("existing", segment()))


def test_healthy_flow_with_evidence_in_every_segment_expands() -> None:
    v = decide(healthy(), T)
    assert v.decision == "expand", v.reason
    assert all(r.ok for r in v.rules)


def test_empty_scope_gives_no_verdict() -> None:
    v = decide(Metrics(), T)
    assert v.decision == "none" and v.rules == ()


@pytest.mark.parametrize(("escaped", "decision"), [(0, "expand"), (1, "stop")])
def test_stop_when_duplicate_effects_escape(escaped: int, decision: str) -> None:
    v = decide(replace(healthy(), duplicate_effects_escaped=escaped), T)
    assert v.decision == decision
    if decision == "stop":
        assert [r.rule for r in v.decisive] == ["duplicate_effects_escaped"]


def test_escaped_duplicates_at_a_raised_threshold_do_not_stop() -> None:
    m = replace(healthy(), duplicate_effects_escaped=2)
    assert decide(m, replace(T, max_duplicate_effects_escaped=2)).decision != "stop"
    assert decide(m, replace(T, max_duplicate_effects_escaped=1)).decision == "stop"


def test_silent_losses_count_failures_nobody_was_told_of_and_silent_loss_findings() -> None:
    assert decide(replace(healthy(), silent_failures=1), T).decision == "stop"
    assert decide(healthy(), T, silent_loss_findings=1).decision == "stop"
    lenient = replace(T, max_silent_losses=2)
    assert decide(replace(healthy(), silent_failures=1), lenient, silent_loss_findings=1).decision != "stop"


@pytest.mark.parametrize(("failed", "decision"), [(5, "keep"), (6, "stop")])
def test_failed_run_rate_at_the_limit_is_kept_past_it_stops(failed: int, decision: str) -> None:
    # 5 % is exactly the default limit: met, but not with the margin to expand
    part = segment(100, runs_failed=failed)
    m = whole(("new", part), ("existing", part), runs_failed=2 * failed)
    assert decide(m, T).decision == decision


@pytest.mark.parametrize(("freq", "decision"), [(0.10, "keep"), (0.1001, "simplify")])
def test_manual_fallback_frequency_threshold(freq: float, decision: str) -> None:
    assert decide(rates(manual_fallback_frequency=freq), T).decision == decision


@pytest.mark.parametrize(("past_due", "decision"), [(0, "expand"), (1, "simplify")])
def test_inbox_items_past_due_simplify(past_due: int, decision: str) -> None:
    assert decide(replace(healthy(), inbox_past_due=past_due), T).decision == decision


def test_maintenance_cost_simplifies() -> None:
    # 200 runs: 2 h per 100 runs is 4 h of people's time
    at_limit = Maintenance(person_seconds=4 * 3600.0)
    over = Maintenance(person_seconds=4 * 3600.0 + 60)
    assert decide(healthy(), T, maintenance=at_limit).decision == "expand"
    assert decide(healthy(), T, maintenance=over).decision == "simplify"
    assert decide(healthy(), T, maintenance=Maintenance(flow_changes=5)).decision == "expand"
    assert decide(healthy(), T, maintenance=Maintenance(flow_changes=6)).decision == "simplify"


def test_stop_outranks_simplify() -> None:
    m = replace(healthy(), duplicate_effects_escaped=1, manual_fallback_frequency=0.5)
    v = decide(m, T)
    assert v.decision == "stop"
    assert {r.rule for r in v.rules if not r.ok} >= {"duplicate_effects_escaped", "manual_fallback_frequency"}


def test_expand_needs_evidence_in_every_segment() -> None:
    thin = whole(("new", segment(29)), ("existing", segment(100)))
    v = decide(thin, T)
    assert v.decision == "keep"
    assert [(r.rule, r.segment) for r in v.rules if not r.ok] == [("min_runs", "new")]
    assert decide(whole(("new", segment(30)), ("existing", segment(100))), T).decision == "expand"


def test_expand_needs_the_margin_in_every_segment() -> None:
    # default margin 50 %: a failed-run rate of 2.5 % is the most that still expands
    edge = segment(200, runs_failed=5)  # 2.5 %
    past = segment(200, runs_failed=6)  # 3.0 %
    assert decide(whole(("new", edge), ("existing", segment())), T).decision == "expand"
    v = decide(whole(("new", past), ("existing", segment())), T)
    assert v.decision == "keep" and "failed-run rate" in v.reason.lower()


def test_expand_checks_recovery_time_and_duplicate_prevention_per_segment() -> None:
    slow = segment(time_to_recovery_p90=1800.0 + 1)  # limit 3600 s * 0.5
    assert decide(whole(("new", slow), ("existing", segment())), T).decision == "keep"
    leaky = segment(duplicate_prevention_success=0.98)
    assert decide(whole(("new", leaky), ("existing", segment())), T).decision == "keep"
    no_dups = segment(duplicate_deliveries=0, duplicates_prevented=0, duplicate_prevention_success=None)
    assert decide(whole(("new", no_dups), ("existing", segment())), T).decision == "expand"


def test_every_rule_reads_as_a_sentence_with_observed_value_and_limit() -> None:
    v = decide(rates(manual_fallback_frequency=0.2), T)
    assert v.decision == "simplify"
    (rule,) = v.decisive
    assert rule.sentence == "Runs handed to a person / accepted runs"
    assert (rule.observed, rule.limit) == ("20.0 %", "at most 10.0 %")
    assert "Simplify" in v.reason and "20.0 %" in v.reason
