"""Measure what the campaigns did and judge it against a :class:`Gate`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.errors import did_you_mean
from harness.gate._file import _SPECS, _TOTAL, SILENT_DEFAULTS, Gate
from harness.gate._measure import FindingLike, FlowMeasures, MetricsLike, measure
from harness.gate._result import Check, GateResult

if TYPE_CHECKING:
    from harness.ledger import Ledger


def evaluate(
    gate: Gate,
    metrics_by_flow: Mapping[str, Sequence[MetricsLike]],
    findings_by_flow: Mapping[str, Sequence[FindingLike]],
    examples_by_flow: Mapping[str, int],
    *,
    campaigns: Iterable[str] = (),
    notes: Iterable[str] = (),
) -> GateResult:
    """Judge every flow of ``gate`` against what was measured.

    ``metrics_by_flow`` maps a flow name to the metrics of its campaigns in
    the gate's mode for that flow; ``findings_by_flow`` to its findings (only
    those of that mode count); ``examples_by_flow`` to the examples run.  A
    flow of the gate that nothing measured fails with ``examples run = 0``.
    """
    checks: list[Check] = []
    measures: list[FlowMeasures] = []
    for name, fg in gate.flows.items():
        metrics = list(metrics_by_flow.get(name, ()))
        examples = int(examples_by_flow.get(name, 0))
        m = measure(name, fg.mode, metrics, examples)
        measures.append(m)
        if not metrics and examples == 0:
            checks.append(
                Check(
                    name,
                    "min_examples",
                    "examples run",
                    float(fg.min_examples or 1),
                    0.0,
                    False,
                    note=f"no {fg.mode} campaign of flow {name!r} was judged",
                )
            )
            continue
        for spec in _SPECS:
            limit = getattr(fg, spec.key)
            if limit is None:
                continue
            measured = _measured(m, spec.key)
            if measured is None:
                ok = True
                note = _NOT_MEASURED[spec.key]
            else:
                ok = measured >= limit if spec.bound == "min" else measured <= limit
                note = ""
            checks.append(
                Check(name, spec.key, spec.label, float(limit), measured, ok, unit=spec.unit, note=note)
            )
        judged = [f for f in findings_by_flow.get(name, ()) if f.mode == fg.mode]
        limits = dict(fg.max_findings)
        if _TOTAL not in limits:
            # silent harm fails a gate unless the file allows it (shown only when it fails)
            for cls in SILENT_DEFAULTS:
                if cls not in limits and any(f.oracle == cls for f in judged):
                    limits[cls] = 0
        for cls, limit in limits.items():
            counted = judged if cls == _TOTAL else [f for f in judged if f.oracle == cls]
            ok = len(counted) <= limit
            checks.append(
                Check(
                    name,
                    f"max_findings.{cls}",
                    "findings" if cls == _TOTAL else f"{cls} findings",
                    float(limit),
                    float(len(counted)),
                    ok,
                    reproduce=() if ok else _unique(f.reproduce for f in counted),
                )
            )
    return GateResult(
        path=gate.path,
        checks=tuple(checks),
        measures=tuple(measures),
        campaigns=tuple(campaigns),
        notes=tuple(notes),
    )


_NOT_MEASURED = {
    "min_examples": "",
    "min_duplicate_prevention_success": "not measured: no duplicate delivery",
    "max_duplicate_effects_escaped": "",
    "max_manual_fallback_frequency": "not measured: no accepted run",
    "max_time_to_recovery_p90": "not measured: no run met an error and recovered",
    "max_runs_failed": "",
    "max_failed_run_rate": "not measured: no accepted run",
}


def _measured(m: FlowMeasures, key: str) -> float | None:
    value = {
        "min_examples": m.examples,
        "min_duplicate_prevention_success": m.duplicate_prevention_success,
        "max_duplicate_effects_escaped": m.duplicate_effects_escaped,
        "max_manual_fallback_frequency": m.manual_fallback_frequency,
        "max_time_to_recovery_p90": m.time_to_recovery_p90,
        "max_runs_failed": m.runs_failed,
        "max_failed_run_rate": m.failed_run_rate,
    }[key]
    return None if value is None else float(value)


def _unique(lines: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for line in lines:
        if line:
            seen.setdefault(line, None)
    return tuple(seen)


def evaluate_ledger(
    gate: Gate, ledger: Ledger, campaign_ids: Iterable[str], *, notes: Iterable[str] = ()
) -> GateResult:
    """Measure ``campaign_ids`` from ``ledger`` and :func:`evaluate` the gate over them.

    Examples run are the distinct example numbers among a campaign's runs.

    Each campaign counts for its own flow and mode; campaigns of a flow or mode
    the gate does not judge are ignored.  Metrics come from
    :func:`harness.report.compute_metrics`, findings from the ledger.

    A campaign recorded as one shard of a campaign group (``harness check
    --shard I/N``) is judged with its sibling shards as one campaign: the
    metrics over the union of their runs, and for each oracle class the
    finding of the lowest example (the one the unsharded campaign reports;
    every shard shrinks its own first one).  Of a shard recorded several
    times, the latest completed one counts.  A shard that has not landed (or
    did not complete) fails the gate with a ``min_shards`` check naming it: a
    partial campaign is never judged as a whole one.
    """
    ids = list(dict.fromkeys(campaign_ids))
    metrics: dict[str, list[MetricsLike]] = {}
    findings: dict[str, list[FindingLike]] = {}
    examples: dict[str, int] = {}
    ignored: list[str] = list(notes)
    shard_checks: list[Check] = []
    groups_seen: set[tuple[str, str, str]] = set()
    judged: list[str] = []
    for cid in ids:
        record = ledger.campaign(cid)
        fg = gate.flows.get(record.flow)
        if fg is None:
            ignored.append(
                f"campaign {cid} not judged: its flow {record.flow!r} is not in the gate"
                f"{did_you_mean(record.flow, gate.flows)}"
            )
            continue
        if record.mode != fg.mode:
            # the other mode of a "both" campaign: expected, not worth a line
            continue
        group = record.versions.get("campaign_group")
        members = [record]
        if group:
            key = (record.flow, record.mode, group)
            if key in groups_seen:
                continue
            groups_seen.add(key)
            members, check = _shards(ledger, record, group)
            if check is not None:
                shard_checks.append(check)
            if not members:
                continue
        member_ids = [m.id for m in members]
        judged.extend(member_ids)
        _measure_members(
            ledger, record, member_ids, grouped=bool(group),
            metrics=metrics, findings=findings, examples=examples, notes=ignored,
        )
    result = evaluate(
        gate, metrics, findings, examples,
        campaigns=list(dict.fromkeys([*ids, *judged])), notes=ignored,
    )
    if shard_checks:
        result = dataclasses.replace(result, checks=(*shard_checks, *result.checks))
    return result


def _measure_members(
    ledger: Ledger,
    record: Any,
    member_ids: list[str],
    *,
    grouped: bool,
    metrics: dict[str, list[MetricsLike]],
    findings: dict[str, list[FindingLike]],
    examples: dict[str, int],
    notes: list[str],
) -> None:
    """Add the metrics, findings and examples run of ``member_ids`` to ``record``'s flow.

    Of a campaign group (``grouped``), only the lowest example's finding per
    oracle class counts; an ungrouped campaign that did not complete adds a note.
    """
    # the report room brings pandas; a gate read from a file or judged from a
    # campaign result never needs it
    from harness.report import compute_metrics

    metrics.setdefault(record.flow, []).append(compute_metrics(ledger, campaign_ids=member_ids))
    found = [f for m in member_ids for f in ledger.findings(campaign_id=m)]
    findings.setdefault(record.flow, []).extend(_first_per_class(found) if grouped else found)
    # examples actually run: the distinct example numbers of the campaign's runs (the
    # campaign record holds the number asked for; an interrupted campaign ran fewer)
    ran = {
        r.example for m in member_ids for r in ledger.iter_runs(campaign_id=m)
        if r.example is not None
    }
    examples[record.flow] = examples.get(record.flow, 0) + len(ran)
    if record.status != "completed" and not grouped:
        # a killed campaign stays "running" in the ledger: say what it did not finish
        notes.append(
            f"campaign {record.id} is incomplete (status {record.status}): ran {len(ran)} of "
            f"{record.examples if record.examples is not None else '?'} examples"
        )


def _shards(ledger: Ledger, record: Any, group: str) -> tuple[list[Any], Check | None]:
    """The completed shards of ``record``'s campaign group (latest per shard), and what is missing."""
    count = _shard_count(record.versions.get("shard", ""))
    latest: dict[int, Any] = {}
    unfinished: dict[int, str] = {}
    for c in ledger.campaigns(flow=record.flow):
        if c.mode != record.mode or c.versions.get("campaign_group") != group:
            continue
        index = _shard_index(c.versions.get("shard", ""))
        if index is None or _shard_count(c.versions.get("shard", "")) != count:
            continue
        if c.status == "completed":
            latest[index] = c  # oldest first: the last one wins
            unfinished.pop(index, None)
        elif index not in latest:
            unfinished[index] = c.status
    missing = [i for i in range(1, count + 1) if i not in latest]
    members = [latest[i] for i in sorted(latest)]
    if not missing:
        return members, None
    said = ", ".join(
        f"{i}/{count}" + (f" ({unfinished[i]})" if i in unfinished else " (not in the ledger)")
        for i in missing
    )
    return members, Check(
        record.flow,
        "min_shards",
        f"shards of campaign group {group} ({record.mode}) landed",
        float(count),
        float(count - len(missing)),
        False,
        note=f"missing shard {said}; the gate judges a sharded campaign only once every "
        "`harness check --shard I/N` of it completed into this ledger",
    )


def _shard_index(text: str) -> int | None:
    head, _, _ = text.partition("/")
    return int(head) if head.isdigit() else None


def _shard_count(text: str) -> int:
    _, _, tail = text.partition("/")
    return int(tail) if tail.isdigit() else 1


def _first_per_class(found: Sequence[Any]) -> list[Any]:
    """Of each (mode, class), the finding of the lowest example: what one process would report."""
    best: dict[tuple[str, str], Any] = {}
    for f in found:
        key = (f.mode, f.oracle)
        example = f.example if f.example is not None else math.inf
        known = best.get(key)
        if known is None or example < (known.example if known.example is not None else math.inf):
            best[key] = f
    return list(best.values())
