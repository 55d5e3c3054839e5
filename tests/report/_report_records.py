"""Builders for the report tests: a small ledger whose metrics are known by hand (fixtures re-exported by conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.ledger import (
    CampaignRecord,
    EndState,
    ErrorClass,
    EventRecord,
    FindingRecord,
    FlowChange,
    InboxItem,
    Ledger,
    RunRecord,
)

T0 = 1_780_000_000.0  # a fixed wall time: 2026-05-28


def run(
    rid: str,
    *,
    end_state: EndState = "succeeded",
    mode: str = "orchestrated",
    segment: str = "new",
    flow: str = "deal_won",
    wall: float = T0,
    errors: tuple[tuple[ErrorClass, str | None, str | None], ...] = (),
    first_error_at: float | None = None,
    recovered_at: float | None = None,
    is_duplicate: bool = False,
    delivery_kind: str = "original",
    duplicate_effects: int | None = None,
    extra_events: tuple[EventRecord, ...] = (),
    campaign_id: str | None = "c-orch",
    ended_at: float = 100.0,
    clock: str = "virtual",
) -> RunRecord:
    """A run with one ``error`` event per ``(class, system, step)`` in ``errors``."""
    evs = [EventRecord(seq=0, kind="delivery", at=0.0, wall_at=wall)]
    for i, (cls, system, step) in enumerate(errors, start=1):
        evs.append(
            EventRecord(
                seq=i, kind="error", at=float(i), wall_at=wall, system=system, step=step,
                error_class=cls, detail={"type": "X", "message": "boom"},
            )
        )
    for e in extra_events:
        evs.append(EventRecord(**{**{f: getattr(e, f) for f in e.__slots__}, "seq": len(evs)}))
    evs.append(EventRecord(seq=len(evs), kind="end", at=ended_at, wall_at=wall, detail={"end_state": end_state}))
    return RunRecord(
        id=rid, flow=flow, mode=mode, end_state=end_state, started_at=0.0, ended_at=ended_at,
        wall_started=wall, wall_ended=wall + 1, campaign_id=campaign_id, segment=segment,
        seed=7, example=int(rid.strip("rbx") or 0) if rid.strip("rbx").isdigit() else None,
        delivery_kind=delivery_kind, is_duplicate=is_duplicate,
        error_class=errors[0][0] if errors else None, attempts=1 + len(errors), errors=len(errors),
        calls=2, retries=len(errors), first_error_at=first_error_at, recovered_at=recovered_at,
        clock=clock, duplicate_effects=duplicate_effects, events=tuple(evs),
    )


def populate(ledger: Any) -> None:
    """Eight orchestrated runs and one bare run; see test_metrics for the expected values."""
    ledger.start_campaign(
        CampaignRecord(id="c-orch", flow="deal_won", mode="orchestrated", wall_started=T0, seed=7,
                       examples=8, command="harness check deal_won --seed 7",
                       versions={"harness": "0.1.0", "python": "3.11"}, status="completed",
                       wall_ended=T0 + 60)
    )
    ledger.start_campaign(
        CampaignRecord(id="c-bare", flow="deal_won", mode="bare", wall_started=T0, seed=7,
                       examples=1, status="completed", wall_ended=T0 + 60)
    )
    violation = EventRecord(seq=0, kind="contract_violation", at=0.0, wall_at=T0,
                            detail={"field": "properties.email", "value": None, "rule": "required; an email address"})
    fault = EventRecord(seq=0, kind="call", at=1.0, wall_at=T0, system="stripe", fault="timeout_after",
                        status=None, outcome="timeout")
    ledger.write_runs([
        run("r1"),
        run("r2", errors=(("transient", "stripe", "create_invoice"),), first_error_at=10.0,
            recovered_at=40.0, extra_events=(fault,)),
        run("r3", end_state="manual", errors=(("logical", "hubspot", "read_deal"),),
            first_error_at=5.0, extra_events=(violation,)),
        run("r4", end_state="failed", segment="existing",
            errors=(("transient", "zendesk", "create_ticket"), ("transient", "zendesk", "create_ticket")),
            first_error_at=3.0),
        run("r5", end_state="suppressed", segment="existing", is_duplicate=True, delivery_kind="duplicate"),
        run("r6", segment="existing", is_duplicate=True, delivery_kind="redelivery", duplicate_effects=1),
        run("r7", is_duplicate=True, delivery_kind="duplicate", duplicate_effects=0),
        run("r8", end_state="manual", segment="existing", errors=(("logical", "hubspot", "read_deal"),),
            first_error_at=2.0, ended_at=1000.0),
        run("b1", mode="bare", end_state="failed", errors=(("transient", "stripe", "create_invoice"),),
            first_error_at=1.0, campaign_id="c-bare"),
    ])
    ledger.add_inbox_item(InboxItem(id="i3", run_id="r3", flow="deal_won", reason="contract violation",
                                    created_at=6.0, wall_created=T0, due_at=3600.0, owner="ops@example.com",
                                    error_class="logical", segment="new", status="resolved",
                                    resolved_at=605.0, resolved_by="ana", resolution="resolve"))
    ledger.add_inbox_item(InboxItem(id="i8", run_id="r8", flow="deal_won", reason="deal missing",
                                    created_at=3.0, wall_created=T0, due_at=50.0, owner="ops@example.com",
                                    error_class="logical", segment="existing",
                                    context={"runbook": "https://wiki.example.com/runbooks/deal_won"}))
    ledger.write_findings([
        FindingRecord(
            id="f1", flow="deal_won", mode="bare", oracle="duplicate_effect",
            message="2 Stripe invoices for deal 42 (expected 1)",
            scenario="deliver deal 42\ntimeout after stripe POST /v1/invoices\nredeliver deal 42",
            reproduce="harness replay deal_won --seed 7 --example 3", wall_created=T0, campaign_id="c-bare",
            seed=7, example=3,
            timeline=({"at": 0.0, "system": "trigger", "kind": "delivery"},
                      {"at": 1.0, "system": "stripe", "kind": "call", "fault": "timeout_after"},
                      {"at": 2.5, "system": "trigger", "kind": "delivery", "note": "redelivery"}),
        )
    ])
    ledger.record_change(FlowChange(flow="deal_won", wall_at=T0, kind="contract",
                                    description="email became required", by="ana"))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Any]:
    """A fresh SQLite ledger filled by :func:`populate`."""
    led = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    populate(led)
    yield led
    led.close()


@pytest.fixture
def ledger_url(ledger: Any) -> str:
    """The URL of the :func:`ledger` fixture's file, for the CLI."""
    return str(ledger.url)


@pytest.fixture
def empty_ledger(tmp_path: Path) -> Iterator[Any]:
    led = Ledger.open(f"sqlite:///{tmp_path / 'empty.db'}")
    yield led
    led.close()
