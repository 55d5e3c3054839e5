"""Builders of ledger records for the ledger tests (and anyone who wants them)."""

from __future__ import annotations

from typing import Any

from harness.ledger import CampaignRecord, EndState, EventRecord, InboxItem, RunRecord

T0 = 1_780_000_000.0  # a fixed wall time (2026-05-28) so tests do not depend on today


def campaign(cid: str = "c1", *, flow: str = "deal_won", mode: str = "orchestrated") -> CampaignRecord:
    return CampaignRecord(
        id=cid,
        flow=flow,
        mode=mode,
        wall_started=T0,
        seed=7,
        examples=10,
        command=f"harness check {flow} --seed 7",
        versions={"harness": "0.1.0"},
    )


def events(n: int, *, wall: float = T0) -> tuple[EventRecord, ...]:
    """``n`` events: a delivery, calls, an end; the calls carry faults and details."""
    out = [EventRecord(seq=0, kind="delivery", at=0.0, wall_at=wall, detail={"event_id": "e1"})]
    for i in range(1, max(n - 1, 1)):
        out.append(
            EventRecord(
                seq=i,
                kind="call",
                at=float(i),
                wall_at=wall + i / 1000,
                system="stripe",
                step="create_invoice",
                fault="timeout_after" if i % 2 else None,
                status=200 if i % 2 == 0 else None,
                outcome="ok" if i % 2 == 0 else "timeout",
                detail={"method": "POST", "path": "/v1/invoices", "latency": 0.25 * i},
            )
        )
    if n > 1:
        out.append(
            EventRecord(seq=n - 1, kind="end", at=float(n), wall_at=wall + 1, detail={"end_state": "succeeded"})
        )
    return tuple(out[:n])


def run(
    rid: str,
    *,
    flow: str = "deal_won",
    mode: str = "orchestrated",
    campaign_id: str | None = "c1",
    wall: float = T0,
    segment: str = "new customer",
    end_state: EndState = "succeeded",
    n_events: int = 4,
    **extra: Any,
) -> RunRecord:
    return RunRecord(
        id=rid,
        flow=flow,
        mode=mode,
        end_state=end_state,
        started_at=0.0,
        ended_at=12.5,
        wall_started=wall,
        wall_ended=wall + 0.5,
        campaign_id=campaign_id,
        segment=segment,
        seed=7,
        example=1,
        event_id=f"evt-{rid}",
        object_key=f"deal:{rid}",
        dedupe_key=f"deal_won:{rid}",
        detail={"note": "written by a test", "nested": {"a": [1, 2]}},
        events=events(n_events, wall=wall),
        **extra,
    )


def inbox_item(iid: str, run_id: str, *, flow: str = "deal_won", wall: float = T0) -> InboxItem:
    return InboxItem(
        id=iid,
        run_id=run_id,
        flow=flow,
        reason="contract violation: properties.email is required",
        created_at=5.0,
        wall_created=wall,
        due_at=3605.0,
        owner="ops@example.com",
        error_class="logical",
        segment="new customer",
        context={"event": {"objectId": 1}, "attempts": [{"n": 1}]},
    )
