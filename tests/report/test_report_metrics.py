"""The four metrics, computed by SQL aggregates, against values worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from harness.report import Metrics, compute_metrics


def test_orchestrated_metrics_match_the_definitions(ledger: Any) -> None:
    m = compute_metrics(ledger, flow="deal_won", mode="orchestrated")
    assert isinstance(m, Metrics)
    assert m.accepted_runs == 8
    # r4's two transient errors count once; r3 and r8 are logical
    assert dict(m.failed_runs_by_class) == {"logical": 2, "transient": 2}
    assert m.runs_failed == 1
    assert dict(m.end_states) == {"failed": 1, "manual": 2, "succeeded": 4, "suppressed": 1}
    # automatic: r2 40-10 = 30; manual: r3 resolved at 605, first error at 5 -> 600
    assert m.time_to_recovery_automatic == (30.0, 30.0)
    assert m.time_to_recovery_manual == (600.0, 600.0)
    assert m.time_to_recovery_p50 == pytest.approx(315.0)
    assert m.time_to_recovery_p90 == pytest.approx(30 + 0.9 * 570)
    assert dict(m.time_to_recovery_by_class) == {"logical": (600.0, 600.0), "transient": (30.0, 30.0)}
    # r5 (suppressed, unknown effects), r7 (0 effects) prevented; r6 let one effect escape
    assert (m.duplicate_deliveries, m.duplicates_prevented, m.duplicate_effects_escaped) == (3, 2, 1)
    assert m.duplicate_prevention_success == pytest.approx(2 / 3)
    assert m.manual_fallback_frequency == pytest.approx(2 / 8)
    # i8 is open and due at 50 while the window's virtual clock reached 1000; i3 is resolved
    assert m.inbox_past_due == 1 and m.inbox_open == 1 and m.inbox_items == 2
    assert m.silent_failures == 1  # r4 failed with neither alert nor inbox item
    assert m.calls == 16 and m.retries == 5


def test_every_metric_is_split_by_segment(ledger: Any) -> None:
    m = compute_metrics(ledger, flow="deal_won", mode="orchestrated")
    assert set(m.by_segment) == {"existing", "new"}
    new, existing = m.by_segment["new"], m.by_segment["existing"]
    assert new.accepted_runs + existing.accepted_runs == m.accepted_runs
    assert dict(new.failed_runs_by_class) == {"logical": 1, "transient": 1}
    assert dict(existing.failed_runs_by_class) == {"logical": 1, "transient": 1}
    assert existing.duplicate_effects_escaped == 1 and new.duplicate_effects_escaped == 0
    assert existing.inbox_past_due == 1 and new.inbox_past_due == 0
    assert new.by_segment == {}
    only = compute_metrics(ledger, flow="deal_won", mode="orchestrated", segment="new")
    assert only.accepted_runs == new.accepted_runs and only.by_segment == {}


def test_failures_per_system_and_step(ledger: Any) -> None:
    m = compute_metrics(ledger, flow="deal_won", mode="orchestrated")
    places = {(p.error_class, p.system, p.step): p.runs for p in m.failed_runs_by_place}
    assert places == {
        ("logical", "hubspot", "read_deal"): 2,
        ("transient", "stripe", "create_invoice"): 1,
        ("transient", "zendesk", "create_ticket"): 1,
    }


def test_filters_by_mode_campaign_and_window(ledger: Any) -> None:
    from _report_records import T0

    bare = compute_metrics(ledger, flow="deal_won", mode="bare")
    assert bare.accepted_runs == 1 and bare.runs_failed == 1
    assert bare.time_to_recovery_p50 is None
    both = compute_metrics(ledger, flow="deal_won")
    assert both.accepted_runs == 9
    assert compute_metrics(ledger, campaign_id="c-bare").accepted_runs == 1
    assert compute_metrics(ledger, since=T0 + 1).accepted_runs == 0
    assert compute_metrics(ledger, until=T0 + 1).accepted_runs == 9


def test_empty_selection_gives_zeros_and_no_rates(empty_ledger: Any) -> None:
    m = compute_metrics(empty_ledger, flow="nothing")
    assert m.accepted_runs == 0 and m.failed_runs_by_class == {}
    assert m.duplicate_prevention_success is None and m.manual_fallback_frequency is None
    assert m.time_to_recovery_p50 is None and m.by_segment == {}


def test_to_json_has_the_pinned_keys(ledger: Any) -> None:
    data = compute_metrics(ledger, flow="deal_won", mode="orchestrated").to_json()
    for key in ("failed_runs_by_class", "time_to_recovery_p50", "time_to_recovery_p90",
                "duplicate_prevention_success", "manual_fallback_frequency"):
        assert key in data
    assert data["by_segment"]["new"]["accepted_runs"] == 4
    import json

    json.dumps(data)  # serialisable as is
