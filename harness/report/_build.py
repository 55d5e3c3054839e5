"""Gather everything a report shows from the ledger's aggregates, once.

:func:`build_report` validates the request (unknown flow, unknown campaign),
runs the SQL aggregates, shapes the small frames with pandas and returns a
:class:`ReportData` that every output format (HTML, JSON, CSV, JUnit) renders
from.  Strings that came from the ledger are scrubbed of secrets here; the
HTML template escapes them on output.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.errors import UsageError, did_you_mean
from harness.ledger import aggregates as agg
from harness.ledger.aggregates import RunFilter
from harness.report._scrub import scrub, scrub_value
from harness.report.metrics import MetricFrames, Metrics, load_frames, metrics_from_frames
from harness.report.pilot import Pilot, Thresholds
from harness.report.verdict import Maintenance, Verdict, decide

__all__ = ["ContractLine", "Coverage", "ReportData", "build_report"]

DAY = 86400.0
WEEK = 7 * DAY
#: the longest window charted as is (ten years of weekly buckets); longer ones are cut to the runs
MAX_TREND_SPAN = 520 * WEEK

#: the order in which a mode is chosen as the verdict's subject when the pilot names none
SUBJECT_ORDER = ("production", "orchestrated", "bare")

#: recovery-time histogram bins (upper edges, seconds) and their labels
RECOVERY_BINS: tuple[tuple[float, str], ...] = (
    (1.0, "< 1 s"),
    (10.0, "1–10 s"),
    (60.0, "10 s–1 min"),
    (300.0, "1–5 min"),
    (900.0, "5–15 min"),
    (3600.0, "15 min–1 h"),
    (4 * 3600.0, "1–4 h"),
    (DAY, "4–24 h"),
    (math.inf, "> 1 day"),
)

if TYPE_CHECKING:
    from harness.ledger import Ledger

ContractLine = tuple[str, str, str]
"""A contract field as the caller describes it: ``(field, meaning, rule sentence)``."""


@dataclass(frozen=True)
class Trend:
    """Per-bucket series (weekly or daily) of the four metrics and their companions."""

    bucket_seconds: float
    labels: tuple[str, ...]
    series: Mapping[str, Mapping[str, tuple[float | None, ...]]]  # metric -> mode -> values
    failures_by_class: Mapping[str, tuple[float, ...]]  # class -> values (subject mode)
    maintenance: Mapping[str, tuple[float, ...]]  # inbox items, person hours, changes
    first_label: str
    last_label: str
    comparison: tuple[Mapping[str, Any], ...]  # rows: segment, metric, first, last, change
    answer: str  # "better", "worse", "mixed", "only older", "too little data"
    answer_text: str


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows; built once, rendered to any format."""

    title: str
    kind: str  # pilot | review | report
    flow: str | None
    since: float | None
    until: float | None
    first_wall: float | None
    last_wall: float | None
    generated_wall: float
    ledger_url: str
    accepted_runs: int
    _: KW_ONLY
    empty_message: str = ""
    scope: tuple[tuple[str, str], ...] = ()
    modes: tuple[str, ...] = ()
    subject_mode: str | None = None
    metrics: Mapping[str, Metrics] = field(default_factory=dict)
    verdict: Verdict | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    thresholds_from: str = "defaults"
    maintenance: Maintenance = field(default_factory=Maintenance)
    trend: Trend | None = None
    recovery_histogram: Mapping[str, Mapping[str, tuple[int, ...]]] = field(default_factory=dict)
    finding_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    findings: tuple[Mapping[str, Any], ...] = ()
    faults: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    delivery_kinds: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    coverage: Coverage | None = None
    examples: Mapping[str, int] = field(default_factory=dict)
    contract: tuple[Mapping[str, Any], ...] = ()
    owners: tuple[Mapping[str, Any], ...] = ()
    aging: tuple[Mapping[str, Any], ...] = ()
    attention_total: int = 0
    attention: tuple[Mapping[str, Any], ...] = ()
    campaigns: tuple[Mapping[str, Any], ...] = ()
    changes: tuple[Mapping[str, Any], ...] = ()
    known_flows: tuple[str, ...] = ()
    synthetic: str = ""  # the label of a synthetic campaign in scope, shown as a banner

    @property
    def empty(self) -> bool:
        return self.accepted_runs == 0

    @property
    def subject(self) -> Metrics | None:
        return self.metrics.get(self.subject_mode or "")


@dataclass(kw_only=True, frozen=True)
class Coverage:
    """What the runs in scope reached, and which faults they tried where.

    ``systems`` are the faked systems called, each with its calls and its
    endpoints (``endpoint, calls, faults`` where ``faults`` maps a fault kind to
    the calls it met); ``unfaked`` are hosts the harness refused because no
    fake serves them, with the refused calls; ``kinds`` the transport fault
    kinds injected anywhere in scope; ``tried`` the (endpoint, kind) pairs met
    at least once out of ``possible`` = endpoints x kinds.
    """

    systems: tuple[Mapping[str, Any], ...] = ()
    unfaked: tuple[tuple[str, int], ...] = ()
    kinds: tuple[str, ...] = ()
    tried: int = 0
    possible: int = 0

    @property
    def ratio(self) -> float | None:
        return self.tried / self.possible if self.possible else None


def _coverage(rows: agg.Rows) -> Coverage:
    systems: dict[str, dict[str, dict[str, int]]] = {}
    calls: dict[str, int] = {}
    unfaked: dict[str, int] = {}
    kinds: dict[str, None] = {}
    for system, step, fault, n in rows.rows:
        name, n = scrub(str(system or "?")), int(n)
        if fault == "unfaked_host":
            unfaked[name] = unfaked.get(name, 0) + n
            continue
        calls[name] = calls.get(name, 0) + n
        by_fault = systems.setdefault(name, {}).setdefault(
            scrub(str(step or "(endpoint not recorded)")), {}
        )
        key = "" if fault is None else scrub(str(fault))
        by_fault[key] = by_fault.get(key, 0) + n
        if fault is not None:
            kinds[key] = None
    ordered = tuple(sorted(kinds))
    out, tried, possible = [], 0, 0
    for name in sorted(systems):
        endpoints = []
        for endpoint, by_fault in sorted(systems[name].items()):
            faults = {k: v for k, v in by_fault.items() if k}
            tried += sum(1 for k in ordered if k in faults)
            possible += len(ordered)
            endpoints.append(
                {"endpoint": endpoint, "calls": sum(by_fault.values()), "faults": faults}
            )
        out.append({"system": name, "calls": calls[name], "endpoints": tuple(endpoints)})
    return Coverage(
        systems=tuple(out),
        unfaked=tuple(sorted(unfaked.items(), key=lambda kv: (-kv[1], kv[0]))),
        kinds=ordered,
        tried=tried,
        possible=possible,
    )


def iso_day(epoch: float | None) -> str:
    if epoch is None:
        return "–"
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%d")


def iso_time(epoch: float | None) -> str:
    if epoch is None:
        return "–"
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class _Scope:
    """What a report covers, after the pilot file (if any) has had its say."""

    kind: str  # pilot | review | report
    flow: str | None
    since: float | None
    until: float | None
    segments: tuple[str, ...]
    campaign_ids: tuple[str, ...]
    thresholds: Thresholds
    thresholds_from: str
    lines: tuple[tuple[str, str], ...]  # the scope as shown: (what, value)

    @property
    def runs(self) -> RunFilter:
        return RunFilter(
            flow=self.flow, campaign_ids=self.campaign_ids, segments=self.segments,
            since=self.since, until=self.until,
        )


def build_report(
    ledger: Ledger,
    *,
    flow: str | None = None,
    since: float | None = None,
    until: float | None = None,
    pilot: Pilot | None = None,
    campaign_ids: Sequence[str] | Mapping[str, str] | None = None,
    title: str | None = None,
    contract: Sequence[ContractLine] | None = None,
    owners: Sequence[tuple[str, str]] | None = None,
    wall_now: float | None = None,
    limit_runs: int = 100,
) -> ReportData:
    """Collect the report's data; a :class:`UsageError` for an unknown flow or campaign.

    ``campaign_ids`` may be a mapping (mode -> campaign id, as a
    ``CampaignResult`` holds them): its values are used.
    """
    if isinstance(campaign_ids, Mapping):
        campaign_ids = list(campaign_ids.values())
    now = time.time() if wall_now is None else wall_now
    scope = _scope(flow, since, until, pilot, campaign_ids)
    _check_request(ledger, scope)
    flt = scope.runs
    count, first, last = agg.window_bounds(ledger, flt)
    base = _heading(ledger, scope, title or _default_title(scope, pilot), (count, first, last), now)
    if count == 0:
        return _empty_report(ledger, scope, base)

    start, end, bucket = _window(scope, first, last)
    # the window's bounds made explicit (the same runs) so the queries can be sliced by time
    frames = load_frames(
        ledger, replace(flt, since=start, until=end), bucket_seconds=bucket, origin=start,
        wall_now=now,
    )
    modes = frames.modes
    metrics, subject_mode, subject = _metrics(frames, scope.flow, pilot)
    finding_counts, findings = _findings(ledger, flt)
    changes = _changes(ledger, scope)
    maintenance, verdict = _verdict(subject, subject_mode, scope, finding_counts, changes)
    trend = (
        _trend(frames, subject_mode, start, bucket, end, changes, scope.flow)
        if bucket is not None
        else None
    )
    faults, coverage = _faults_and_coverage(ledger, scope, modes)
    examples, campaigns = _campaigns(ledger, scope)
    synthetic = next((c["label"] or "synthetic data" for c in campaigns if c["synthetic"]), "")
    aging = _aging(ledger, flt)
    return ReportData(
        **base,
        synthetic=synthetic,
        modes=modes,
        subject_mode=subject_mode,
        metrics=metrics,
        verdict=verdict,
        maintenance=maintenance,
        trend=trend,
        recovery_histogram=_histogram(frames),
        finding_counts=finding_counts,
        findings=findings,
        faults=faults,
        delivery_kinds=_delivery_kinds(frames),
        coverage=coverage,
        examples=examples,
        contract=_contract(ledger, flt, contract),
        owners=_owners(frames, pilot, owners, aging),
        aging=aging,
        attention_total=int(frames.summary["attention"].sum()),
        attention=_attention(ledger, flt, limit_runs),
        campaigns=campaigns,
        changes=changes,
    )


def _heading(
    ledger: Any,
    scope: _Scope,
    title: str,
    bounds: tuple[int, float | None, float | None],
    now: float,
) -> dict[str, Any]:
    """What every report shows, an empty one too: title, scope, window, runs, thresholds."""
    count, first, last = bounds
    return {
        "title": scrub(title),
        "kind": scope.kind,
        "flow": scope.flow,
        "since": scope.since,
        "until": scope.until,
        "first_wall": first,
        "last_wall": last,
        "generated_wall": now,
        "ledger_url": scrub(str(getattr(ledger, "url", ""))),
        "accepted_runs": count,
        "scope": tuple((k, scrub(v)) for k, v in scope.lines),
        "thresholds": scope.thresholds,
        "thresholds_from": scope.thresholds_from,
    }


def _verdict(
    subject: Metrics,
    subject_mode: str,
    scope: _Scope,
    finding_counts: Mapping[str, Mapping[str, int]],
    changes: Sequence[Mapping[str, Any]],
) -> tuple[Maintenance, Verdict]:
    """The subject's upkeep and the verdict on it (silent-loss findings weigh in)."""
    maintenance = Maintenance(
        inbox_items=subject.inbox_items,
        person_seconds=subject.inbox_person_seconds,
        flow_changes=len(changes),
    )
    silent_findings = finding_counts.get(subject_mode, {}).get("silent_loss", 0)
    verdict = decide(
        subject, scope.thresholds, maintenance=maintenance, silent_loss_findings=silent_findings
    )
    return maintenance, verdict


def _metrics(
    frames: MetricFrames, flow: str | None, pilot: Pilot | None
) -> tuple[dict[str, Metrics], str, Metrics]:
    """The metrics of each mode, and the subject's: the pilot's mode, else the first of
    :data:`SUBJECT_ORDER` that ran."""
    modes = frames.modes
    subject_mode = pilot.mode if pilot is not None and pilot.mode else None
    if subject_mode is None:
        subject_mode = next((m for m in SUBJECT_ORDER if m in modes), modes[0])
    metrics = {m: metrics_from_frames(frames.select(modes=(m,)), flow=flow, mode=m) for m in modes}
    subject = metrics.get(subject_mode) or metrics_from_frames(
        frames.select(modes=(subject_mode,)), flow=flow, mode=subject_mode
    )
    return metrics, subject_mode, subject


def _scope(
    flow: str | None,
    since: float | None,
    until: float | None,
    pilot: Pilot | None,
    campaign_ids: Sequence[str] | None,
) -> _Scope:
    """The report's scope: the pilot file's when there is one (a differing ``--flow`` is an error)."""
    segments: tuple[str, ...] = ()
    thresholds = Thresholds()
    thresholds_from = "defaults"
    extra: list[tuple[str, str]] = []
    kind = "report"
    if pilot is not None:
        if flow is not None and flow != pilot.flow:
            raise UsageError(
                f"--flow {flow!r} differs from the pilot file's flow {pilot.flow!r} "
                f"({pilot.path}); drop --flow or fix the pilot file"
            )
        flow = pilot.flow
        since, until = pilot.since, pilot.until
        segments = pilot.segments
        campaign_ids = list(pilot.campaigns) or list(campaign_ids or ())
        thresholds = pilot.thresholds
        thresholds_from = pilot.path or "pilot file"
        kind = "pilot"
        if pilot.sample is not None:
            extra.append(("sample", f"{pilot.sample * 100:g} % of traffic routed through the flow"))
    elif since is not None:
        kind = "review"
    ids = tuple(campaign_ids or ())
    lines = [
        ("flow", flow or "all flows"),
        ("window", f"{iso_time(since) if since else 'start'} → {iso_time(until) if until else 'now'}"),
        ("segments", ", ".join(segments) or "all"),
        *extra,
    ]
    if ids:
        lines.append(("campaigns", ", ".join(ids)))
    return _Scope(
        kind=kind, flow=flow, since=since, until=until, segments=segments, campaign_ids=ids,
        thresholds=thresholds, thresholds_from=thresholds_from, lines=tuple(lines),
    )


def _check_request(ledger: Any, scope: _Scope) -> None:
    """A :class:`UsageError` for an unknown flow or campaign."""
    # one index seek for a known flow; the full list only to explain an unknown one
    flow = scope.flow
    if flow is not None and not agg.has_flow(ledger, flow):
        known = agg.flows(ledger)
        listing = ", ".join(known[:20]) if known else "none yet"
        raise UsageError(
            f"unknown flow {flow!r}{did_you_mean(flow, known)}; the ledger {ledger.url} "
            f"has runs of: {listing}"
        )
    if scope.campaign_ids:
        found = {c.id for c in agg.campaign_records(ledger, RunFilter(campaign_ids=scope.campaign_ids))}
        missing = [c for c in scope.campaign_ids if c not in found]
        if missing:
            latest = [c.id for c in agg.campaign_records(ledger, RunFilter(flow=flow), limit=5)]
            raise UsageError(
                f"unknown campaign {missing[0]!r} in the ledger {ledger.url}; "
                f"latest campaigns: {', '.join(latest) or 'none'} (see 'harness ledger info')"
            )


def _default_title(scope: _Scope, pilot: Pilot | None) -> str:
    flow = scope.flow
    return {
        "pilot": f"Pilot report: {pilot.title if pilot and pilot.title else flow}",
        "review": f"Review: {flow or 'all flows'}",
        "report": f"Reliability report: {flow or 'all flows'}",
    }[scope.kind]


def _empty_report(ledger: Any, scope: _Scope, base: dict[str, Any]) -> ReportData:
    """The report of a window without runs: what the ledger does hold, and where to look."""
    base["known_flows"] = agg.flows(ledger)
    everything, efirst, elast = agg.window_bounds(ledger, RunFilter(flow=scope.flow))
    where = f"flow {scope.flow!r}" if scope.flow else "the ledger"
    if everything:
        hint = (
            f"{where} has {everything:,} runs between {iso_day(efirst)} and {iso_day(elast)}, "
            "none in this window and scope; widen --since or check the pilot window"
        )
    else:
        hint = f"{where} has no runs at all yet; run 'harness check' or route traffic through the flow"
    return ReportData(**base, empty_message=f"No runs in this window. {hint}.")


def _window(
    scope: _Scope, first: float | None, last: float | None
) -> tuple[float, float, float | None]:
    """``(start, end, bucket)``: the charted window and its trend bucket (``None``: no trend)."""
    start = scope.since if scope.since is not None else float(first or 0.0)
    end = scope.until if scope.until is not None else float(last or 0.0) + 1.0
    if end - start > MAX_TREND_SPAN and first is not None and last is not None:
        # a window of centuries (--until 9999-01-01) would chart thousands of empty
        # weeks: the trend then covers the runs' own span, which holds the same runs
        start, end = max(start, float(first)), min(end, float(last) + 1.0)
    span = end - start
    bucket = WEEK if span >= 21 * DAY else DAY if span >= 2 * DAY else None
    return start, end, bucket


def _findings(
    ledger: Any, flt: RunFilter
) -> tuple[dict[str, dict[str, int]], tuple[Mapping[str, Any], ...]]:
    """Findings per mode and class, and the latest twenty as shown (scrubbed)."""
    counts_rows, latest = agg.finding_rows(ledger, flt, limit=20)
    counts: dict[str, dict[str, int]] = {}
    for mode, oracle, n in counts_rows.rows:
        counts.setdefault(str(mode), {})[str(oracle)] = int(n)
    shown = tuple(
        {
            "id": f.id,
            "mode": f.mode,
            "oracle": scrub(f.oracle),
            "message": scrub(f.message),
            "scenario": scrub(f.scenario),
            "reproduce": scrub(f.reproduce),
            "seed": f.seed,
            "example": f.example,
            "campaign_id": f.campaign_id,
            "timeline": tuple(scrub_value(e) for e in f.timeline if isinstance(e, Mapping)),
        }
        for f in latest
    )
    return counts, shown


def _changes(ledger: Any, scope: _Scope) -> tuple[Mapping[str, Any], ...]:
    """The flow changes recorded in the window, as shown (scrubbed)."""
    return tuple(
        {
            "flow": c.flow,
            "when": iso_time(c.wall_at),
            "wall_at": c.wall_at,
            "kind": scrub(str(c.kind)),
            "description": scrub(str(c.description)),
            "by": scrub(str(c.by)),
        }
        for c in agg.flow_change_records(ledger, flow=scope.flow, since=scope.since, until=scope.until)
    )


def _faults_and_coverage(
    ledger: Any, scope: _Scope, modes: tuple[str, ...]
) -> tuple[dict[str, dict[str, int]], Coverage | None]:
    """Injected faults per mode and the campaign's coverage (``None`` for production only).

    Faults are injected by campaigns only: production traffic meets real
    faults, which the failures already count (and counting faulted calls is
    a walk over every call event, the largest part of a 90-day ledger).
    """
    faults: dict[str, dict[str, int]] = {}
    injected_modes = tuple(m for m in modes if m != "production")
    if not injected_modes:
        return faults, None
    fault_flt = replace(scope.runs, modes=injected_modes)
    for mode, fault, n in agg.fault_counts(ledger, fault_flt).rows:
        faults.setdefault(str(mode), {})[scrub(str(fault))] = int(n)
    return faults, _coverage(agg.call_coverage(ledger, fault_flt))


def _delivery_kinds(frames: MetricFrames) -> dict[str, dict[str, int]]:
    """Deliveries per mode and kind (original, duplicate, ...), the kinds that occurred."""
    delivery_kinds: dict[str, dict[str, int]] = {}
    columns = [f"delivery_{k}" for k in (*agg.DELIVERY_KINDS, "other")]
    for mode, sums in frames.summary.groupby("mode")[columns].sum().iterrows():
        delivery_kinds[str(mode)] = {
            c.removeprefix("delivery_"): int(v) for c, v in sums.items() if int(v)
        }
    return delivery_kinds


def _campaigns(
    ledger: Any, scope: _Scope
) -> tuple[dict[str, int], tuple[Mapping[str, Any], ...]]:
    """Scenarios run per mode, and the latest twenty campaigns in scope as shown (scrubbed)."""
    campaign_list = agg.campaign_records(
        ledger,
        RunFilter(flow=scope.flow, campaign_ids=scope.campaign_ids, since=scope.since, until=scope.until),
        limit=20,
    )
    examples: dict[str, int] = {}
    for c in campaign_list:
        if c.examples is not None:
            examples[str(c.mode)] = examples.get(str(c.mode), 0) + int(c.examples)
    campaigns = tuple(
        {
            "id": c.id,
            "mode": c.mode,
            "seed": c.seed,
            "examples": c.examples,
            "command": scrub(c.command or ""),
            "versions": scrub_value(c.versions),
            "status": c.status,
            "started": iso_time(c.wall_started),
            "ended": iso_time(c.wall_ended),
            "synthetic": c.synthetic,
            "label": scrub(c.label or ""),
        }
        for c in campaign_list
    )
    return examples, campaigns


def _attention(ledger: Any, flt: RunFilter, limit: int) -> tuple[Mapping[str, Any], ...]:
    """The runs that need a person's attention, newest first, as shown (scrubbed)."""
    return tuple(
        {
            **r,
            "id": scrub(str(r["id"])),
            "segment": scrub(str(r["segment"])),
            "when": iso_time(r["wall_started"]),
        }
        for r in agg.attention_runs(ledger, flt, limit=limit, count=False)[1].dicts()
    )


def _histogram(frames: MetricFrames) -> dict[str, dict[str, tuple[int, ...]]]:
    """mode -> kind (automatic/manual) -> counts per :data:`RECOVERY_BINS` bin."""
    out: dict[str, dict[str, tuple[int, ...]]] = {}
    rec = frames.recovery
    if rec.empty:
        return out
    edges = [-math.inf] + [edge for edge, _ in RECOVERY_BINS]
    codes = pd.cut(pd.to_numeric(rec["seconds"], errors="coerce"), edges, right=False, labels=False)
    frame = rec.assign(bin=codes)
    for (mode, kind), group in frame.groupby(["mode", "kind"]):
        counts = group["bin"].value_counts()
        out.setdefault(str(mode), {})[str(kind)] = tuple(
            int(counts.get(i, 0)) for i in range(len(RECOVERY_BINS))
        )
    return out


def _trend(
    frames: MetricFrames,
    subject_mode: str,
    start: float,
    bucket: float,
    end: float,
    changes: Sequence[Mapping[str, Any]],
    flow: str | None,
) -> Trend:
    """The metrics per bucket, the subject's failures and upkeep, and first vs last periods."""
    n = max(1, math.ceil((end - start) / bucket))
    weekly = bucket >= WEEK
    labels = tuple(
        ("wk " if weekly else "") + iso_day(start + i * bucket)[5:] for i in range(n)
    )
    subj = frames.select(modes=(subject_mode,))
    k = max(1, min(4, n // 3))
    unit = "week" if weekly else "day"
    first_label = f"first {k} {unit}{'s' if k > 1 else ''}"
    last_label = f"last {k} {unit}{'s' if k > 1 else ''}"
    comparison, verdicts = _first_vs_last(subj, tuple(range(k)), tuple(range(n - k, n)))
    answer, text = _trend_answer(n, verdicts, first_label, last_label)
    return Trend(
        bucket_seconds=bucket,
        labels=labels,
        series=_trend_series(frames, n, flow),
        failures_by_class=_failures_by_bucket(subj, n),
        maintenance=_upkeep_by_bucket(subj, n, start, bucket, changes),
        first_label=first_label,
        last_label=last_label,
        comparison=tuple(comparison),
        answer=answer,
        answer_text=text,
    )


#: the metrics charted per bucket, in the order the report shows them
_SERIES = (
    "accepted_runs",
    "failed_run_rate",
    "time_to_recovery_p50",
    "time_to_recovery_p90",
    "duplicate_prevention_success",
    "manual_fallback_frequency",
    "inbox_past_due",
)


def _trend_series(
    frames: MetricFrames, n: int, flow: str | None
) -> dict[str, dict[str, tuple[float | None, ...]]]:
    """Each charted metric per mode and bucket (``None`` where a bucket has no value)."""
    series: dict[str, dict[str, tuple[float | None, ...]]] = {k: {} for k in _SERIES}
    for mode, mode_frames in frames.split("mode").items():
        by_bucket = mode_frames.split("bucket")
        empty = mode_frames.select(buckets=())
        per = [
            metrics_from_frames(
                by_bucket.get(i, empty), flow=flow, mode=str(mode), split_segments=False
            )
            for i in range(n)
        ]
        for key in series:
            values = tuple(getattr(m, key) for m in per)
            series[key][str(mode)] = tuple(None if v is None else float(v) for v in values)
    return series


def _failures_by_bucket(subj: MetricFrames, n: int) -> dict[str, tuple[float, ...]]:
    """The subject mode's failed runs per error class and bucket."""
    failures: dict[str, tuple[float, ...]] = {}
    if not subj.failed.empty:
        grouped = subj.failed.groupby(["error_class", "bucket"])["runs"].sum()
        for cls in sorted({str(c) for c in subj.failed["error_class"]}):
            failures[cls] = tuple(float(grouped.get((cls, i), 0)) for i in range(n))
    return failures


def _upkeep_by_bucket(
    subj: MetricFrames, n: int, start: float, bucket: float, changes: Sequence[Mapping[str, Any]]
) -> dict[str, tuple[float, ...]]:
    """Inbox items, person hours and flow changes per bucket (the flow's maintenance)."""
    inbox = subj.inbox
    items = inbox.groupby("bucket")["items"].sum() if not inbox.empty else pd.Series(dtype=float)
    hours = (
        inbox.groupby("bucket")["person_seconds"].sum() / 3600.0
        if not inbox.empty
        else pd.Series(dtype=float)
    )
    change_counts = [0.0] * n
    for c in changes:
        i = int((float(c["wall_at"]) - start) // bucket)
        if 0 <= i < n:
            change_counts[i] += 1
    return {
        "inbox items": tuple(float(items.get(i, 0)) for i in range(n)),
        "person hours": tuple(float(hours.get(i, 0.0)) for i in range(n)),
        "flow changes": tuple(change_counts),
    }


def _first_vs_last(
    subj: MetricFrames, first_b: tuple[int, ...], last_b: tuple[int, ...]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The compared metrics in the first and last periods, overall and per segment.

    Returns the comparison rows and the overall rows' changes (``better``,
    ``worse``, ``same``, ``n/a``).
    """
    comparison: list[dict[str, Any]] = []
    verdicts: list[str] = []
    for segment in (None, *subj.segments):
        part = subj if segment is None else subj.select(segment=segment)
        a = metrics_from_frames(part.select(buckets=first_b), split_segments=False)
        b = metrics_from_frames(part.select(buckets=last_b), split_segments=False)
        for name, key, lower_better in _COMPARED:
            va, vb = _value(a, key), _value(b, key)
            change = _change(va, vb, lower_better)
            comparison.append(
                {
                    "segment": "all segments" if segment is None else scrub(segment),
                    "metric": name,
                    "key": key,
                    "first": va,
                    "last": vb,
                    "change": change,
                    "runs_first": a.accepted_runs,
                    "runs_last": b.accepted_runs,
                }
            )
            if segment is None:
                verdicts.append(change)
    return comparison, verdicts


def _trend_answer(n: int, verdicts: list[str], first_label: str, last_label: str) -> tuple[str, str]:
    """The trend's one-word answer and its sentence."""
    better, worse = verdicts.count("better"), verdicts.count("worse")
    if n < 2 or all(v == "n/a" for v in verdicts):
        return "too little data", "Too few periods with runs to compare."
    if better and not worse:
        return "better", f"Better: {better} of 4 metrics improved from the {first_label} to the {last_label}, none got worse."
    if worse and not better:
        return "worse", f"Worse: {worse} of 4 metrics got worse from the {first_label} to the {last_label}, none improved."
    if better and worse:
        return "mixed", f"Mixed: {better} metric(s) improved and {worse} got worse from the {first_label} to the {last_label}."
    return "only older", f"Only older: no metric moved between the {first_label} and the {last_label}."


_COMPARED: tuple[tuple[str, str, bool], ...] = (
    ("failed-run rate", "failed_run_rate", True),
    ("time to recovery p50", "time_to_recovery_p50", True),
    ("duplicate prevention success", "duplicate_prevention_success", False),
    ("manual fallback frequency", "manual_fallback_frequency", True),
)


def _value(m: Metrics, key: str) -> float | None:
    value = m.failed_run_rate if key == "failed_run_rate" else getattr(m, key)
    return None if value is None else float(value)


def _change(a: float | None, b: float | None, lower_better: bool) -> str:
    """better / worse / same; a move under 10 % relative (or 0.5 point for rates) is "same"."""
    if a is None or b is None:
        return "n/a"
    tolerance = max(abs(a) * 0.10, 0.005)
    if abs(b - a) <= tolerance:
        return "same"
    improved = b < a if lower_better else b > a
    return "better" if improved else "worse"


def _contract(
    ledger: Ledger, flt: RunFilter, contract: Sequence[ContractLine] | None
) -> tuple[dict[str, Any], ...]:
    seen: dict[str, dict[str, Any]] = {}
    for mode, fname, rule, violations, nruns, samples in agg.contract_violations(ledger, flt).rows:
        key = str(fname) if fname is not None else "(unnamed field)"
        row = seen.setdefault(
            key,
            {"field": scrub(key), "meaning": "", "rule": scrub(str(rule or "")),
             "violations": 0, "runs": 0, "samples": [], "by_mode": {}},
        )
        row["violations"] += int(violations)
        row["runs"] += int(nruns)
        row["by_mode"][str(mode)] = row["by_mode"].get(str(mode), 0) + int(violations)
        for s in samples:
            shown = "(missing or null)" if s is None else scrub(s if len(s) <= 120 else s[:117] + "…")
            if shown not in row["samples"] and len(row["samples"]) < 3:
                row["samples"].append(shown)
    ordered: list[dict[str, Any]] = []
    for fname, meaning, rule in contract or ():
        row = seen.pop(
            str(fname),
            {"field": scrub(str(fname)), "violations": 0, "runs": 0, "samples": [], "by_mode": {}},
        )
        row["meaning"] = scrub(str(meaning))
        row["rule"] = scrub(str(rule))
        ordered.append(row)
    ordered.extend(seen[k] for k in sorted(seen))
    return tuple(ordered)


def _owners(
    frames: MetricFrames,
    pilot: Pilot | None,
    owners: Sequence[tuple[str, str]] | None,
    aging: Sequence[Mapping[str, Any]] = (),
) -> tuple[dict[str, Any], ...]:
    """Owners with their inbox load; the runbook declared, else the one the inbox items carry."""
    rows: dict[str, dict[str, Any]] = {}

    def row(owner: str) -> dict[str, Any]:
        return rows.setdefault(
            owner,
            {"owner": scrub(owner or "(no owner)"), "runbook": "", "items": 0, "open": 0,
             "past_due": 0, "person_hours": 0.0},
        )

    if not frames.inbox.empty:
        inbox = frames.inbox.assign(open=(frames.inbox["status"] == "open") * frames.inbox["items"])
        grouped = inbox.groupby("owner", dropna=False)[
            ["items", "open", "past_due", "person_seconds"]
        ].sum()
        for owner, values in grouped.iterrows():
            r = row("" if pd.isna(owner) else str(owner))
            r["items"] = int(values["items"])
            r["open"] = int(values["open"])
            r["past_due"] = int(values["past_due"])
            r["person_hours"] = float(values["person_seconds"]) / 3600.0
    declared = list(owners or ())
    if pilot is not None and (pilot.owner or pilot.runbook):
        declared.append((pilot.owner, pilot.runbook))
    for owner, runbook in declared:
        row(str(owner))["runbook"] = scrub(str(runbook))
    for item in aging:
        held = rows.get(str(item["owner"]))
        if held is not None and not held["runbook"] and item["runbook"]:
            held["runbook"] = item["runbook"]
    return tuple(sorted(rows.values(), key=lambda r: (-r["open"], -r["items"], r["owner"])))


def _aging(ledger: Ledger, flt: RunFilter) -> tuple[dict[str, Any], ...]:
    out = []
    for r in agg.oldest_open_items(ledger, flt, limit=20).dicts():
        out.append(
            {
                "id": scrub(str(r["id"])),
                "run_id": scrub(str(r["run_id"])),
                "mode": r["mode"],
                "owner": scrub(str(r["owner"] or "(no owner)")),
                "reason": scrub(str(r["reason"])),
                "error_class": r["error_class"],
                "segment": scrub(str(r["segment"])),
                "created": iso_time(r["wall_created"]),
                "due_within": (None if r["created_at"] is None else float(r["due_at"]) - float(r["created_at"])),
                "wall_created": r["wall_created"],
                "runbook": scrub(str(r["runbook"])),
            }
        )
    return tuple(out)
