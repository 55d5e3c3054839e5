"""Turn a finished scenario into the ledger's :class:`RunRecord` s.

Bare runs are built here from the world's call log and the automation's
outcome; orchestrated runs come from the orchestrator and are completed with
what only the fakes know (``duplicate_effects``) and the fault each call met.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from harness._shared.redact import redact_text, redact_url
from harness.chaos._effects import is_primary
from harness.chaos._faults import endpoint_in
from harness.chaos._runner import DeliveryResult, ScenarioRun
from harness.ledger.records import ErrorClass, EventRecord, InboxItem, RunRecord
from harness.orchestrator import classify

__all__ = ["escaped_effects", "run_records"]


def escaped_effects(run: ScenarioRun) -> dict[str, int]:
    """Per delivery tag: records it created beyond what the reference run created for its object.

    Ground truth from the fakes' write log: the first ``n`` creates of a kind
    for an object are expected (``n`` from the reference run), every later
    one escaped, and is charged to the delivery that made it.
    """
    by_tag = run.delivery_by_tag()
    seen: dict[tuple[str, str, str], int] = {}
    total: dict[tuple[str, str], int] = {}
    total_ref: dict[tuple[str, str], int] = {}
    for counts in run.reference.creates.values():
        for k, n in counts.items():
            total_ref[k] = total_ref.get(k, 0) + n
    escaped = dict.fromkeys(by_tag, 0)
    for w in run.world.writes:
        d = by_tag.get(w.tag or "")
        if d is None or not is_primary(w):
            continue
        key = (d.object_key, w.system, w.kind)
        seen[key] = seen.get(key, 0) + 1
        total[(w.system, w.kind)] = total.get((w.system, w.kind), 0) + 1
        # beyond both the object's and the scenario's reference count (see the oracles)
        if seen[key] > run.reference.creates.get(d.object_key, {}).get(
            (w.system, w.kind), 0
        ) and total[(w.system, w.kind)] > total_ref.get((w.system, w.kind), 0):
            escaped[d.tag] += 1
    return escaped


def _classify(exc: BaseException, run: ScenarioRun) -> ErrorClass:
    return classify(exc, run.flow.policy)


def _error_text(exc: BaseException) -> str:
    return redact_text(f"{type(exc).__name__}: {exc}")[:500]


def run_records(
    run: ScenarioRun, *, campaign_id: str | None, example: int | None
) -> tuple[list[RunRecord], list[InboxItem]]:
    """The runs of ``run`` ready for ``Ledger.write_runs``, and the inbox items to add."""
    escaped = escaped_effects(run)
    calls_by_tag: dict[str, list[Any]] = {}
    for c in run.world.calls:
        if c.tag is not None:
            calls_by_tag.setdefault(c.tag, []).append(c)
    records: list[RunRecord] = []
    items: list[InboxItem] = []
    for d in run.deliveries:
        calls = calls_by_tag.get(d.tag, [])
        if d.run is not None:
            records.append(_complete(d, run, calls, escaped[d.tag]))
            if d.inbox_item is not None:
                items.append(d.inbox_item)
        else:
            records.append(_bare(d, run, calls, escaped[d.tag], campaign_id, example))
    return records, items


def _endpoint(world: Any, system: str | None, detail: Mapping[str, Any]) -> str | None:
    url, method = detail.get("url"), detail.get("method")
    if not isinstance(url, str) or not isinstance(method, str):
        return None
    return endpoint_in(world, system or "", method, urlsplit(url).path or "/")


def _call_event(seq: int, c: Any, d: DeliveryResult, wall: float, world: Any) -> EventRecord:
    return EventRecord(
        seq=seq,
        kind="call",
        at=c.started_at,
        wall_at=wall,
        system=c.system,
        step=endpoint_in(world, c.system, c.method, c.request.path),
        fault=c.fault,
        status=c.status,
        outcome=c.outcome,
        detail={
            "method": c.method,
            "path": redact_url(c.request.path),
            "latency": c.latency,
            "timeout": c.timeout,
            "error": c.error,
            "executed": c.executed,
            "is_duplicate": d.is_duplicate,
            "delivery_kind": d.delivery_kind,
        },
    )


def _bare(
    d: DeliveryResult,
    run: ScenarioRun,
    calls: list[Any],
    escaped: int,
    campaign_id: str | None,
    example: int | None,
) -> RunRecord:
    """The run record of one bare delivery: its calls, its error (if any) and its end."""
    events, error_class, first_error_at, recovered_at = _bare_events(d, run, calls)
    okey = d.object_key
    try:
        dedupe = run.flow.key_for(d.event)
    except Exception:
        dedupe = None
    return RunRecord(
        id=f"r-{uuid.uuid4().hex[:16]}",
        flow=run.flow.name,
        mode="bare",
        end_state=d.end_state,
        started_at=d.started_at,
        ended_at=d.ended_at,
        wall_started=d.wall_started,
        wall_ended=d.wall_ended,
        campaign_id=campaign_id,
        segment=d.segment,
        seed=run.scenario.seed,
        example=example,
        delivery=d.index,
        event_id=_event_id(d, run),
        object_key=okey,
        dedupe_key=dedupe,
        delivery_kind=d.delivery_kind,
        is_duplicate=d.is_duplicate,
        error_class=error_class,
        attempts=1,
        errors=1 if d.explicit_failure else 0,
        calls=len(calls),
        retries=0,
        first_error_at=first_error_at,
        recovered_at=recovered_at,
        clock="virtual",
        duplicate_effects=escaped,
        detail={"tag": d.tag, "faults": sorted({c.fault for c in calls if c.fault})},
        events=tuple(events),
    )


def _bare_events(
    d: DeliveryResult, run: ScenarioRun, calls: list[Any]
) -> tuple[list[EventRecord], ErrorClass | None, float | None, float | None]:
    """A bare delivery's events, error class, first error and recovery (its own retries)."""
    wall = d.wall_started
    events: list[EventRecord] = [
        EventRecord(
            seq=1, kind="delivery", at=d.started_at, wall_at=wall,
            detail={
                "event_id": _event_id(d, run),
                "delivery_kind": d.delivery_kind,
                "is_duplicate": d.is_duplicate,
            },
        ),
        EventRecord(seq=2, kind="attempt", at=d.started_at, wall_at=wall, detail={"number": 1}),
    ]
    for c in calls:
        events.append(_call_event(len(events) + 1, c, d, wall, run.world))
    error_class: ErrorClass | None = None
    first_error_at = next((c.started_at + c.latency for c in calls if c.outcome != "ok"), None)
    recovered_at = None
    if d.error is not None:
        error_class = _classify(d.error, run)
        events.append(
            EventRecord(
                seq=len(events) + 1, kind="error", at=d.ended_at, wall_at=d.wall_ended,
                error_class=error_class,
                detail={"type": type(d.error).__name__, "message": _error_text(d.error)},
            )
        )
        first_error_at = first_error_at if first_error_at is not None else d.ended_at
    elif not d.ok:
        error_class = "logical"
        events.append(
            EventRecord(
                seq=len(events) + 1, kind="error", at=d.ended_at, wall_at=d.wall_ended,
                error_class=error_class,
                detail={"type": "reported_failure", "message": redact_text(repr(d.value))[:500]},
            )
        )
        first_error_at = first_error_at if first_error_at is not None else d.ended_at
    elif first_error_at is not None:
        # the automation's own retries got it through
        recovered_at = d.ended_at
    events.append(
        EventRecord(
            seq=len(events) + 1, kind="end", at=d.ended_at, wall_at=d.wall_ended,
            detail={"end_state": d.end_state},
        )
    )
    return events, error_class, first_error_at, recovered_at


def _event_id(d: DeliveryResult, run: ScenarioRun) -> str | None:
    return run.flow.trigger.event_id(d.event)


def _complete(d: DeliveryResult, run: ScenarioRun, calls: list[Any], escaped: int) -> RunRecord:
    """The orchestrator's record, with the ground truth only the fakes know filled in.

    The orchestrator's hook already puts the injected fault on each ``call``
    event (it reads the world's call log); chaos adds how the delivery relates
    to earlier ones and how many of its effects escaped.
    """
    record: RunRecord = d.run
    events = []
    for ev in record.events:
        if ev.kind == "call":
            detail: Mapping[str, Any] = {
                **ev.detail,
                "is_duplicate": d.is_duplicate,
                "delivery_kind": d.delivery_kind,
            }
            # the endpoint, as bare runs record it, so coverage counts both modes alike
            step = ev.step or _endpoint(run.world, ev.system, detail)
            ev = dataclasses.replace(ev, detail=detail, step=step)
        events.append(ev)
    return dataclasses.replace(
        record,
        duplicate_effects=escaped,
        events=tuple(events),
        detail={**record.detail, "tag": d.tag},
    )
