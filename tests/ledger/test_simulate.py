"""``simulate_history``: a labelled synthetic history whose fault model changes over the weeks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest

from harness.errors import UsageError
from harness.ledger import Ledger, RunRecord
from harness.ledger.simulate import SYNTHETIC_LABEL, _phases, simulate_history

END = 1_780_000_000.0
DAY = 86400.0


@pytest.fixture(scope="module")
def history(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Ledger, str, list[RunRecord]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('sim') / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        cid = simulate_history(ledger, flow="deal_won", days=60, runs_per_day=80, seed=5, end_wall=END)
        yield ledger, cid, ledger.runs(campaign_id=cid)


def _day(run: RunRecord) -> int:
    return int((run.wall_started - (END - 60 * DAY)) // DAY)


def test_the_history_is_labelled_synthetic(history: tuple[Ledger, str, list[RunRecord]]) -> None:
    ledger, cid, runs = history
    campaign = ledger.campaign(cid)
    assert campaign.synthetic and campaign.label == SYNTHETIC_LABEL and campaign.status == "completed"
    assert "harness simulate" in campaign.command
    assert len(runs) == 60 * 80
    assert all(r.synthetic and r.detail == {"synthetic": True} for r in runs)
    assert all(END - 60 * DAY <= r.wall_started < END for r in runs)


def test_every_run_has_a_complete_timeline(history: tuple[Ledger, str, list[RunRecord]]) -> None:
    ledger, cid, _runs = history
    for run in ledger.runs(campaign_id=cid, limit=300, with_events=True):
        kinds = [e.kind for e in run.events]
        assert kinds[0] == "delivery" and "end" in kinds
        assert [e.seq for e in run.events] == list(range(len(run.events)))
        assert run.events[kinds.index("end")].outcome == run.end_state
        if run.error_class in ("transient", "logical"):
            assert run.first_error_at is not None and "error" in kinds


def test_segments_and_end_states_cover_the_report(history: tuple[Ledger, str, list[RunRecord]]) -> None:
    _ledger, _cid, runs = history
    segments = Counter(r.segment for r in runs)
    assert set(segments) == {"new customer", "existing customer"}
    assert 0.25 < segments["new customer"] / len(runs) < 0.45
    assert set(Counter(r.end_state for r in runs)) == {"succeeded", "suppressed", "manual", "failed"}
    recovered = [r for r in runs if r.recovered_at is not None]
    assert recovered and all(r.recovered_at > r.first_error_at for r in recovered)  # type: ignore[operator]


def test_duplicates_escape_until_dedupe_is_switched_on(history: tuple[Ledger, str, list[RunRecord]]) -> None:
    _ledger, _cid, runs = history
    on = _phases(60)["dedupe_on"]
    before = [r for r in runs if r.is_duplicate and _day(r) < on]
    after = [r for r in runs if r.is_duplicate and _day(r) >= on]
    escaped_before = sum(r.duplicate_effects or 0 for r in before) / len(before)
    escaped_after = sum(r.duplicate_effects or 0 for r in after) / len(after)
    assert escaped_before > 0.8 and escaped_after < 0.1
    assert all(r.end_state != "suppressed" for r in before)


def test_the_outage_week_raises_transient_errors(history: tuple[Ledger, str, list[RunRecord]]) -> None:
    _ledger, _cid, runs = history
    p = _phases(60)

    def rate(days: range) -> float:
        chosen = [r for r in runs if _day(r) in days]
        return sum(r.error_class == "transient" for r in chosen) / len(chosen)

    assert rate(range(p["outage_start"], p["outage_end"])) > 4 * rate(range(p["outage_start"]))


def test_inbox_items_are_resolved_by_named_people(history: tuple[Ledger, str, list[RunRecord]]) -> None:
    ledger, _cid, runs = history
    items = ledger.inbox(flow="deal_won", status=None)
    assert len(items) == sum(r.end_state == "manual" for r in runs)
    closed = [i for i in items if i.status != "open"]
    assert closed and all(i.resolved_by and " " in i.resolved_by for i in closed)  # a person's name
    assert all(i.resolved_at is not None and i.resolved_at > i.created_at for i in closed)
    assert 2 <= len({i.resolved_by for i in closed}) <= 4
    assert {i.status for i in items} >= {"open", "resolved"}


def test_flow_changes_mark_the_phases(history: tuple[Ledger, str, list[RunRecord]]) -> None:
    ledger, _cid, _runs = history
    changes = ledger.changes(flow="deal_won")
    assert [c.kind for c in changes] == ["config", "contract", "contract", "code"]
    assert "dedupe switched on" in changes[0].description


def test_the_content_is_a_function_of_the_seed() -> None:
    def content(seed: int) -> list[RunRecord]:
        with Ledger.open("sqlite://") as ledger:
            cid = simulate_history(ledger, flow="f", days=3, runs_per_day=20, seed=seed, end_wall=END)
            assert all(r.campaign_id == cid for r in ledger.runs())
            return [replace(r, id=r.id.split("-", 1)[1], campaign_id=None)
                    for r in ledger.runs(with_events=True)]

    assert content(1) == content(1)
    assert content(1) != content(2)


def test_bare_mode_has_no_retries_inbox_or_dedupe() -> None:
    with Ledger.open("sqlite://") as ledger:
        cid = simulate_history(ledger, flow="f", days=10, runs_per_day=100, seed=1, mode="bare", end_wall=END)
        runs = ledger.runs(campaign_id=cid)
        assert {r.clock for r in runs} == {"virtual"} and all(r.started_at == 0.0 for r in runs)
        assert not any(r.end_state in ("manual", "suppressed") for r in runs)
        assert ledger.inbox(status=None) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 0}, "--days must be >= 1: 0"),
        ({"runs_per_day": -1}, "--runs-per-day must be >= 1: -1"),
        ({"mode": "staging"}, "--mode must be one of bare, orchestrated, production: 'staging'"),
        ({"flow": " "}, "--flow must name a flow"),
    ],
)
def test_bad_arguments_are_usage_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"flow": "f", "days": 1, "runs_per_day": 1, "seed": 0, **kwargs}
    with Ledger.open("sqlite://") as ledger:
        with pytest.raises(UsageError, match=message):
            simulate_history(ledger, **args)  # type: ignore[arg-type]
        assert (ledger.info().runs, ledger.info().campaigns, ledger.changes()) == (0, 0, [])


def test_failures_mostly_alert_and_violations_name_the_field(
    history: tuple[Ledger, str, list[RunRecord]],
) -> None:
    ledger, cid, _runs = history
    runs = ledger.runs(campaign_id=cid, with_events=True)
    failed = [r for r in runs if r.end_state == "failed"]
    alerted = [r for r in failed if any(e.kind == "alert" for e in r.events)]
    assert failed and 0.6 < len(alerted) / len(failed) < 1.0  # a few failures stay silent
    violations = [e for r in runs for e in r.events if e.kind == "contract_violation"]
    assert violations and {e.detail["field"] for e in violations} == {
        "properties.amount", "properties.email"}
    assert all(r.error_class == "logical" for r in runs
               if any(e.kind == "contract_violation" for e in r.events))


def test_a_history_writes_on_both_backends(ledger: Ledger) -> None:
    cid = simulate_history(ledger, flow="deal_won", days=4, runs_per_day=40, seed=3, end_wall=END)
    info = ledger.info()
    assert info.runs == 160 and info.events > 4 * 160
    assert ledger.campaign(cid).synthetic and len(ledger.changes()) == 4
    assert all(r.synthetic for r in ledger.runs(campaign_id=cid))
