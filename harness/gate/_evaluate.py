"""Measure what the campaigns did and judge it against a :class:`Gate`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

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
                Check(name, spec.key, spec.label, float(limit), measured, ok, spec.unit, note)
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
    """
    # the report room brings pandas; a gate read from a file or judged from a
    # campaign result never needs it
    from harness.report import compute_metrics

    ids = list(dict.fromkeys(campaign_ids))
    metrics: dict[str, list[MetricsLike]] = {}
    findings: dict[str, list[FindingLike]] = {}
    examples: dict[str, int] = {}
    ignored: list[str] = list(notes)
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
        metrics.setdefault(record.flow, []).append(compute_metrics(ledger, campaign_id=cid))
        findings.setdefault(record.flow, []).extend(ledger.findings(campaign_id=cid))
        # examples actually run: the distinct example numbers of the campaign's runs (the
        # campaign record holds the number asked for; an interrupted campaign ran fewer)
        ran = {r.example for r in ledger.iter_runs(campaign_id=cid) if r.example is not None}
        examples[record.flow] = examples.get(record.flow, 0) + len(ran)
        if record.status != "completed":
            # a killed campaign stays "running" in the ledger: say what it did not finish
            ignored.append(
                f"campaign {cid} is incomplete (status {record.status}): ran {len(ran)} of "
                f"{record.examples if record.examples is not None else '?'} examples"
            )
    return evaluate(gate, metrics, findings, examples, campaigns=ids, notes=ignored)
