"""The ledger store on SQLite and PostgreSQL: what is written is what is read back."""

from __future__ import annotations

import csv
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from _ledger_records import T0, campaign, inbox_item, run

from harness.errors import LedgerError, UsageError
from harness.ledger import SCHEMA_VERSION, FindingRecord, FlowChange, Ledger
from harness.ledger.aggregates import RunFilter, run_filter


def test_a_new_ledger_is_empty_and_current(ledger: Ledger) -> None:
    info = ledger.info()
    assert info.schema_version == SCHEMA_VERSION
    assert (info.runs, info.events, info.campaigns, info.findings, info.inbox_open) == (0, 0, 0, 0, 0)
    assert info.first_wall is None and info.last_wall is None
    assert info.size_bytes is not None and info.size_bytes > 0


def test_a_run_reads_back_exactly_as_written(ledger: Ledger) -> None:
    ledger.start_campaign(campaign())
    written = run("r1", first_error_at=1.5, recovered_at=9.0, errors=1, retries=1, duplicate_effects=0)
    ledger.write_runs([written])
    assert ledger.run("r1") == written
    assert ledger.runs() == [replace(written, events=())]  # events only when asked


def test_runs_filter_by_flow_mode_segment_campaign_and_window(ledger: Ledger) -> None:
    ledger.start_campaign(campaign("c1"))
    ledger.start_campaign(campaign("c2", flow="refund", mode="bare"))
    ledger.write_runs(
        [
            run("a", wall=T0 + 30),
            run("b", wall=T0 + 10, segment="existing customer"),
            run("c", wall=T0 + 20, flow="refund", mode="bare", campaign_id="c2"),
            run("d", wall=T0 + 40, mode="production", campaign_id=None),
        ]
    )
    ids = lambda rs: [r.id for r in rs]  # noqa: E731
    assert ids(ledger.runs()) == ["b", "c", "a", "d"]  # oldest first
    assert ids(ledger.runs(flow="deal_won")) == ["b", "a", "d"]
    assert ids(ledger.runs(mode="bare")) == ["c"]
    assert ids(ledger.runs(segment="existing customer")) == ["b"]
    assert ids(ledger.runs(campaign_id="c1")) == ["b", "a"]
    assert ids(ledger.runs(since=T0 + 20, until=T0 + 40)) == ["c", "a"]  # since <= t < until
    assert ids(ledger.runs(limit=2)) == ["b", "c"]
    with_events = ledger.runs(flow="deal_won", with_events=True)
    assert [len(r.events) for r in with_events] == [4, 4, 4]
    assert ids(ledger.iter_runs(flow="deal_won", chunk=1)) == ["b", "a", "d"]
    assert list(ledger.iter_runs(with_events=True, chunk=2)) == ledger.runs(with_events=True)


def test_runs_take_a_run_filter_or_its_fields_one_way_at_a_time(ledger: Ledger) -> None:
    ledger.start_campaign(campaign("c1"))
    ledger.start_campaign(campaign("c2", flow="refund", mode="bare"))
    ledger.write_runs(
        [
            run("a", wall=T0 + 30),
            run("b", wall=T0 + 10, segment="existing customer"),
            run("c", wall=T0 + 20, flow="refund", mode="bare", campaign_id="c2"),
        ]
    )
    ids = lambda rs: [r.id for r in rs]  # noqa: E731
    several = RunFilter(modes=("bare", "orchestrated"), segments=("existing customer", "new customer"))
    assert ids(ledger.runs(several)) == ["b", "c", "a"]
    assert ids(ledger.runs(RunFilter(flow="deal_won", since=T0 + 20))) == ["a"]
    assert ids(ledger.iter_runs(RunFilter(campaign_ids=("c2",)), chunk=1)) == ["c"]
    assert ledger.runs(RunFilter(flow="refund")) == ledger.runs(flow="refund")
    with pytest.raises(UsageError, match="give a RunFilter or the keywords flow, not both"):
        ledger.runs(RunFilter(), flow="refund")
    with pytest.raises(UsageError, match="unknown run filter 'flw'; expected flow, mode"):
        ledger.runs(flw="refund")  # type: ignore[call-arg]


def test_a_batch_is_written_whole_or_not_at_all(ledger: Ledger) -> None:
    ledger.start_campaign(campaign())
    ledger.write_runs([run("r1")])
    with pytest.raises(LedgerError, match="writing 2 runs"):
        ledger.write_runs([run("r2"), run("r1")])  # r1 exists: the whole batch fails
    assert [r.id for r in ledger.runs()] == ["r1"]
    assert ledger.info().events == 4


def test_runs_of_a_campaign_never_started_are_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match=r"campaign\(s\) 'nope' that were never started"):
        ledger.write_runs([run("r1", campaign_id="nope")])
    assert ledger.runs() == []


def test_a_run_with_an_unknown_end_state_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="end_state 'done' is not one of succeeded"):
        ledger.write_runs([run("r1", campaign_id=None, end_state="done")])


def test_missing_records_raise_usage_errors_naming_the_id(ledger: Ledger) -> None:
    for call, text in (
        (lambda: ledger.run("r404"), "no run with id 'r404'"),
        (lambda: ledger.campaign("c404"), "no campaign with id 'c404'"),
        (lambda: ledger.inbox_item("i404"), "no inbox item with id 'i404'"),
        (lambda: ledger.finish_campaign("c404", status="completed", wall_ended=T0), "c404"),
    ):
        with pytest.raises(LedgerError, match=text) as info:
            call()
        assert info.value.exit_code == 2


def test_campaigns_start_finish_and_resume(ledger: Ledger) -> None:
    ledger.start_campaign(campaign("c1"))
    ledger.finish_campaign("c1", status="interrupted", wall_ended=T0 + 5)
    stored = ledger.campaign("c1")
    assert (stored.status, stored.wall_ended, stored.versions) == ("interrupted", T0 + 5, {"harness": "0.1.0"})
    ledger.start_campaign(campaign("c1"))  # a rerun resumes it
    assert ledger.campaign("c1").status == "running"
    with pytest.raises(LedgerError, match="already belongs to flow 'deal_won'"):
        ledger.start_campaign(campaign("c1", flow="refund"))
    assert [c.id for c in ledger.campaigns(flow="deal_won")] == ["c1"]


def test_dedupe_first_claim_wins_and_the_holder_is_named(ledger: Ledger) -> None:
    assert ledger.claim_dedupe("f", "deal:1", "r1", wall_now=T0, ttl=None) is None
    assert ledger.claim_dedupe("f", "deal:1", "r2", wall_now=T0 + 1, ttl=None) == "r1"
    assert ledger.claim_dedupe("f", "deal:1", "r1", wall_now=T0 + 1, ttl=None) is None  # own key
    assert ledger.claim_dedupe("other", "deal:1", "r3", wall_now=T0, ttl=None) is None  # per flow
    ledger.release_dedupe("f", "deal:1", "r2")  # not the holder: nothing happens
    assert ledger.claim_dedupe("f", "deal:1", "r2", wall_now=T0 + 2, ttl=None) == "r1"
    ledger.release_dedupe("f", "deal:1", "r1")
    assert ledger.claim_dedupe("f", "deal:1", "r2", wall_now=T0 + 3, ttl=None) is None


def test_an_expired_dedupe_claim_is_taken_over(ledger: Ledger) -> None:
    assert ledger.claim_dedupe("f", "k", "r1", wall_now=T0, ttl=60) is None
    assert ledger.claim_dedupe("f", "k", "r2", wall_now=T0 + 59, ttl=60) == "r1"
    assert ledger.claim_dedupe("f", "k", "r2", wall_now=T0 + 61, ttl=60) is None
    assert ledger.claim_dedupe("f", "k", "r3", wall_now=T0 + 62, ttl=60) == "r2"


def test_concurrent_dedupe_claims_have_exactly_one_winner(ledger: Ledger) -> None:
    results: dict[str, str | None] = {}
    barrier = threading.Barrier(6)

    def claim(run_id: str) -> None:
        barrier.wait()
        results[run_id] = ledger.claim_dedupe("f", "deal:9", run_id, wall_now=T0, ttl=None)

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [rid for rid, holder in results.items() if holder is None]
    assert len(winners) == 1
    assert all(holder == winners[0] for rid, holder in results.items() if rid != winners[0])


def test_the_inbox_lists_acts_and_appends_an_event(ledger: Ledger) -> None:
    ledger.start_campaign(campaign())
    ledger.write_runs([run("r1"), run("r2")], inbox=[inbox_item("i1", "r1")])
    ledger.add_inbox_item(inbox_item("i2", "r2", wall=T0 + 1))
    # both runs belong to a campaign: tests, not work for a person, so hidden by default
    assert ledger.inbox() == [] and ledger.hidden_campaign_items() == 2
    assert ledger.inbox_campaigns(["r1", "r2", "r404"]) == {"r1": campaign().id, "r2": campaign().id}
    assert [i.id for i in ledger.inbox(campaigns=True)] == ["i1", "i2"]
    assert ledger.inbox_item("i1") == inbox_item("i1", "r1")
    done = ledger.act_on_inbox_item("i1", action="resolve", by="Dana Ops", note="fixed email",
                                    at=605.0, wall_at=T0 + 600)
    assert (done.status, done.resolution, done.resolved_by, done.resolved_at, done.note) == (
        "resolved", "resolve", "Dana Ops", 605.0, "fixed email")
    last = ledger.run("r1").events[-1]
    assert (last.kind, last.seq, last.outcome, last.detail["by"]) == ("inbox_action", 4, "resolved", "Dana Ops")
    assert [i.id for i in ledger.inbox(campaigns=True)] == ["i2"]
    assert [i.id for i in ledger.inbox(status=None, campaigns=True)] == ["i1", "i2"]
    assert [i.id for i in ledger.inbox(status="resolved", flow="deal_won", campaigns=True)] == ["i1"]
    with pytest.raises(LedgerError, match="'i1' is already resolved \\(by Dana Ops\\)"):
        ledger.act_on_inbox_item("i1", action="retry", by="Sam", note="", at=0, wall_at=T0)
    with pytest.raises(LedgerError, match="'escalate' is not one of resolve, discard, retry"):
        ledger.act_on_inbox_item("i2", action="escalate", by="Sam", note="", at=0, wall_at=T0)
    with pytest.raises(LedgerError, match="every resolution names a person"):
        ledger.act_on_inbox_item("i2", action="discard", by=" ", note="", at=0, wall_at=T0)
    with pytest.raises(LedgerError, match="write the run first"):
        ledger.add_inbox_item(inbox_item("i3", "r404"))


def test_findings_and_flow_changes_read_back(ledger: Ledger) -> None:
    ledger.start_campaign(campaign())
    finding = FindingRecord(
        id="f1", flow="deal_won", mode="bare", oracle="duplicate_effect",
        message="2 invoices for deal 1", scenario="deliver(deal 1)\ndeliver(deal 1) again",
        reproduce="harness replay deal_won --seed 7 --example 3", wall_created=T0,
        campaign_id="c1", seed=7, example=3,
        timeline=({"at": 0.0, "kind": "delivery"}, {"at": 1.0, "kind": "call", "status": 200}),
        detail={"invoices": ["in_1", "in_2"]},
    )
    ledger.write_findings([finding, FindingRecord(
        id="f2", flow="refund", mode="bare", oracle="silent_loss", message="m", scenario="s",
        reproduce="r", wall_created=T0 + 1)])
    assert ledger.findings(flow="deal_won") == [finding]
    assert [f.id for f in ledger.findings()] == ["f1", "f2"]
    assert [f.id for f in ledger.findings(campaign_id="c1")] == ["f1"]
    change = FlowChange(flow="deal_won", wall_at=T0, kind="contract", description="email required", by="Ana")
    ledger.record_change(change)
    assert ledger.changes(flow="deal_won") == [change]
    assert ledger.changes(since=T0 + 1) == []


def test_info_prune_and_export(ledger: Ledger, tmp_path: Path) -> None:
    day = 86400.0
    ledger.start_campaign(campaign())
    ledger.write_runs([run("old", wall=T0 - 200 * day), run("new", wall=T0)],
                      inbox=[inbox_item("i-old", "old", wall=T0 - 200 * day)])
    ledger.claim_dedupe("deal_won", "k-old", "old", wall_now=T0 - 200 * day, ttl=None)
    info = ledger.info()
    assert (info.runs, info.events, info.inbox_open, info.flows) == (2, 8, 1, ("deal_won",))
    assert info.first_wall == T0 - 200 * day
    assert ledger.prune(older_than=180 * day, wall_now=T0) == 1
    info = ledger.info()
    assert (info.runs, info.events, info.inbox_open, info.campaigns) == (1, 4, 0, 1)
    assert ledger.claim_dedupe("deal_won", "k-old", "new", wall_now=T0, ttl=None) is None
    paths = ledger.export_csv(tmp_path / "export")
    assert {p.name for p in paths} >= {"runs.csv", "events.csv", "campaigns.csv", "inbox_items.csv"}
    with (tmp_path / "export" / "runs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["new"] and rows[0]["segment"] == "new customer"


def test_an_in_memory_ledger_works_across_threads() -> None:
    with Ledger.open("sqlite://") as ledger:
        ledger.start_campaign(campaign())

        def write(n: int) -> None:
            for i in range(5):
                ledger.write_runs([run(f"t{n}-{i}")])

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert ledger.info().runs == 20 and ledger.info().size_bytes is None


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"flow": "deal_won", "since": T0, "until": T0 + 86400}, "ix_runs_flow_wall"),
        ({"since": T0, "until": T0 + 86400}, "ix_runs_wall"),
        ({"campaign_id": "c1"}, "ix_runs_campaign"),
    ],
)
def test_window_reads_use_an_index_not_a_scan(
    sqlite_ledger: Ledger, filters: dict[str, object], index: str
) -> None:
    """A small window must not read the whole history: SQLite searches an index."""
    stmt = sqlite_ledger._runs_query(run_filter(**filters), None)  # type: ignore[arg-type]
    compiled = stmt.compile(sqlite_ledger.engine, compile_kwargs={"literal_binds": True})
    with sqlite_ledger.engine.connect() as conn:
        plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert f"USING INDEX {index}" in plan, plan
    assert "SCAN runs" not in plan, plan


def test_only_one_of_several_people_acting_at_once_wins(ledger: Ledger) -> None:
    ledger.start_campaign(campaign())
    ledger.write_runs([run("r1")], inbox=[inbox_item("i1", "r1")])
    barrier = threading.Barrier(4)
    outcomes: dict[str, str] = {}

    def act(person: str) -> None:
        barrier.wait()
        try:
            ledger.act_on_inbox_item("i1", action="resolve", by=person, note="", at=1.0, wall_at=T0)
            outcomes[person] = "won"
        except LedgerError as exc:
            outcomes[person] = str(exc)

    threads = [threading.Thread(target=act, args=(f"person {n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [p for p, o in outcomes.items() if o == "won"]
    assert len(winners) == 1 and ledger.inbox_item("i1").resolved_by == winners[0]
    assert all("already resolved" in o or "someone else" in o for o in outcomes.values() if o != "won")
    actions = [e for e in ledger.run("r1").events if e.kind == "inbox_action"]
    assert len(actions) == 1 and actions[0].detail["by"] == winners[0]
