"""Gather everything a report shows from the ledger's aggregates, once.

:func:`build_report` validates the request (unknown flow, unknown campaign),
runs the SQL aggregates, shapes the small frames with pandas and returns a
:class:`ReportData` that every output format (HTML, JSON, CSV, JUnit) renders
from.  Strings that came from the ledger are scrubbed of secrets here; the
HTML template escapes them on output.
"""

from __future__ import annotations

import datetime as dt
import json
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


def _loads(text: Any, default: Any) -> Any:
    if not isinstance(text, str):
        return default if text is None else text
    try:
        return json.loads(text)
    except ValueError:
        return default


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
    segments: tuple[str, ...] = ()
    thresholds = Thresholds()
    thresholds_from = "defaults"
    scope: list[tuple[str, str]] = []
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
            scope.append(("sample", f"{pilot.sample * 100:g} % of traffic routed through the flow"))
    elif since is not None:
        kind = "review"
    campaign_ids = tuple(campaign_ids or ())

    # one index seek for a known flow; the full list only to explain an unknown one
    known: tuple[str, ...] = ()
    if flow is not None and not agg.has_flow(ledger, flow):
        known = agg.flows(ledger)
        listing = ", ".join(known[:20]) if known else "none yet"
        raise UsageError(
            f"unknown flow {flow!r}{did_you_mean(flow, known)}; the ledger {ledger.url} "
            f"has runs of: {listing}"
        )
    if campaign_ids:
        found = {
            row[0] for row in agg.campaign_rows(ledger, RunFilter(campaign_ids=campaign_ids)).rows
        }
        missing = [c for c in campaign_ids if c not in found]
        if missing:
            latest = [r[0] for r in agg.campaign_rows(ledger, RunFilter(flow=flow), limit=5).rows]
            raise UsageError(
                f"unknown campaign {missing[0]!r} in the ledger {ledger.url}; "
                f"latest campaigns: {', '.join(latest) or 'none'} (see 'harness ledger info')"
            )

    scope[:0] = [
        ("flow", flow or "all flows"),
        ("window", f"{iso_time(since) if since else 'start'} → {iso_time(until) if until else 'now'}"),
        ("segments", ", ".join(segments) or "all"),
    ]
    if campaign_ids:
        scope.append(("campaigns", ", ".join(campaign_ids)))
    flt = RunFilter(flow=flow, campaign_ids=campaign_ids, segments=segments, since=since, until=until)
    count, first, last = agg.window_bounds(ledger, flt)
    default_title = {
        "pilot": f"Pilot report: {pilot.title if pilot and pilot.title else flow}",
        "review": f"Review: {flow or 'all flows'}",
        "report": f"Reliability report: {flow or 'all flows'}",
    }[kind]
    base: dict[str, Any] = {
        "title": scrub(title or default_title),
        "kind": kind,
        "flow": flow,
        "since": since,
        "until": until,
        "first_wall": first,
        "last_wall": last,
        "generated_wall": now,
        "ledger_url": scrub(str(getattr(ledger, "url", ""))),
        "accepted_runs": count,
        "scope": tuple((k, scrub(v)) for k, v in scope),
        "thresholds": thresholds,
        "thresholds_from": thresholds_from,
        "known_flows": known,
    }
    if count == 0:
        base["known_flows"] = known or agg.flows(ledger)
        everything, efirst, elast = agg.window_bounds(ledger, RunFilter(flow=flow))
        where = f"flow {flow!r}" if flow else "the ledger"
        if everything:
            hint = (
                f"{where} has {everything:,} runs between {iso_day(efirst)} and {iso_day(elast)}, "
                "none in this window and scope; widen --since or check the pilot window"
            )
        else:
            hint = f"{where} has no runs at all yet; run 'harness check' or route traffic through the flow"
        return ReportData(**base, empty_message=f"No runs in this window. {hint}.")

    start = since if since is not None else float(first or 0.0)
    end = until if until is not None else float(last or 0.0) + 1.0
    if end - start > MAX_TREND_SPAN and first is not None and last is not None:
        # a window of centuries (--until 9999-01-01) would chart thousands of empty
        # weeks: the trend then covers the runs' own span, which holds the same runs
        start, end = max(start, float(first)), min(end, float(last) + 1.0)
    span = end - start
    bucket = WEEK if span >= 21 * DAY else DAY if span >= 2 * DAY else None
    # the window's bounds made explicit (the same runs) so the queries can be sliced by time
    frames = load_frames(
        ledger, replace(flt, since=start, until=end), bucket_seconds=bucket, origin=start,
        wall_now=now,
    )
    modes = frames.modes
    subject_mode = pilot.mode if pilot is not None and pilot.mode else None
    if subject_mode is None:
        subject_mode = next((m for m in SUBJECT_ORDER if m in modes), modes[0])
    metrics = {
        m: metrics_from_frames(frames.select(modes=(m,)), flow=flow, mode=m) for m in modes
    }
    subject = metrics.get(subject_mode) or metrics_from_frames(
        frames.select(modes=(subject_mode,)), flow=flow, mode=subject_mode
    )

    counts_rows, latest_rows = agg.finding_rows(ledger, flt, limit=20)
    finding_counts: dict[str, dict[str, int]] = {}
    for mode, oracle, n in counts_rows.rows:
        finding_counts.setdefault(str(mode), {})[str(oracle)] = int(n)
    findings = tuple(
        {
            "id": r["id"],
            "mode": r["mode"],
            "oracle": scrub(str(r["oracle"])),
            "message": scrub(str(r["message"])),
            "scenario": scrub(str(r["scenario"])),
            "reproduce": scrub(str(r["reproduce"])),
            "seed": r["seed"],
            "example": r["example"],
            "campaign_id": r["campaign_id"],
            "timeline": tuple(
                scrub_value(e) for e in _loads(r["timeline"], []) if isinstance(e, Mapping)
            ),
        }
        for r in latest_rows.dicts()
    )
    silent_findings = finding_counts.get(subject_mode, {}).get("silent_loss", 0)

    change_rows = agg.flow_change_rows(ledger, flow=flow, since=since, until=until).dicts()
    changes = tuple(
        {
            "flow": r["flow"],
            "when": iso_time(r["wall_at"]),
            "wall_at": r["wall_at"],
            "kind": scrub(str(r["kind"])),
            "description": scrub(str(r["description"])),
            "by": scrub(str(r["by"])),
        }
        for r in change_rows
    )
    maintenance = Maintenance(
        inbox_items=subject.inbox_items,
        person_seconds=subject.inbox_person_seconds,
        flow_changes=len(changes),
    )
    verdict = decide(
        subject, thresholds, maintenance=maintenance, silent_loss_findings=silent_findings
    )

    trend = (
        _trend(frames, subject_mode, start, bucket, end, changes, flow)
        if bucket is not None
        else None
    )

    # Faults are injected by campaigns only: production traffic meets real
    # faults, which the failures above already count (and counting faulted
    # calls is a walk over every call event, the largest part of the ledger).
    faults: dict[str, dict[str, int]] = {}
    injected_modes = tuple(m for m in modes if m != "production")
    if injected_modes:
        fault_flt = RunFilter(
            flow=flow, modes=injected_modes, campaign_ids=campaign_ids, segments=segments,
            since=since, until=until,
        )
        for mode, fault, n in agg.fault_counts(ledger, fault_flt).rows:
            faults.setdefault(str(mode), {})[scrub(str(fault))] = int(n)
        coverage: Coverage | None = _coverage(agg.call_coverage(ledger, fault_flt))
    else:
        # production only: no fault was injected, and the walk over every call event that
        # coverage needs is the largest part of a 90-day ledger (see above)
        coverage = None
    delivery_kinds: dict[str, dict[str, int]] = {}
    columns = [f"delivery_{k}" for k in (*agg.DELIVERY_KINDS, "other")]
    for mode, sums in frames.summary.groupby("mode")[columns].sum().iterrows():
        delivery_kinds[str(mode)] = {
            c.removeprefix("delivery_"): int(v) for c, v in sums.items() if int(v)
        }
    campaign_list = agg.campaign_rows(
        ledger, RunFilter(flow=flow, campaign_ids=campaign_ids, since=since, until=until), limit=20
    ).dicts()
    examples: dict[str, int] = {}
    for c in campaign_list:
        if c["examples"] is not None:
            examples[str(c["mode"])] = examples.get(str(c["mode"]), 0) + int(c["examples"])
    campaigns = tuple(
        {
            "id": c["id"],
            "mode": c["mode"],
            "seed": c["seed"],
            "examples": c["examples"],
            "command": scrub(str(c["command"] or "")),
            "versions": scrub_value(_loads(c["versions"], {})),
            "status": c["status"],
            "started": iso_time(c["wall_started"]),
            "ended": iso_time(c["wall_ended"]),
            "synthetic": bool(c["synthetic"]),
            "label": scrub(str(c["label"] or "")),
        }
        for c in campaign_list
    )

    synthetic = next((c["label"] or "synthetic data" for c in campaigns if c["synthetic"]), "")
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
        delivery_kinds=delivery_kinds,
        coverage=coverage,
        examples=examples,
        contract=_contract(ledger, flt, contract),
        owners=_owners(frames, pilot, owners, aging := _aging(ledger, flt)),
        aging=aging,
        attention_total=int(frames.summary["attention"].sum()),
        attention=tuple(
            {
                **r,
                "id": scrub(str(r["id"])),
                "segment": scrub(str(r["segment"])),
                "when": iso_time(r["wall_started"]),
            }
            for r in agg.attention_runs(ledger, flt, limit=limit_runs, count=False)[1].dicts()
        ),
        campaigns=campaigns,
        changes=changes,
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
    n = max(1, math.ceil((end - start) / bucket))
    weekly = bucket >= WEEK
    labels = tuple(
        ("wk " if weekly else "") + iso_day(start + i * bucket)[5:] for i in range(n)
    )
    series: dict[str, dict[str, tuple[float | None, ...]]] = {
        k: {}
        for k in (
            "accepted_runs",
            "failed_run_rate",
            "time_to_recovery_p50",
            "time_to_recovery_p90",
            "duplicate_prevention_success",
            "manual_fallback_frequency",
            "inbox_past_due",
        )
    }
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
            if key == "failed_run_rate":
                values = tuple(m.failed_run_rate for m in per)
            else:
                values = tuple(getattr(m, key) for m in per)
            series[key][str(mode)] = tuple(
                None if v is None else float(v) for v in values
            )
    subj = frames.select(modes=(subject_mode,))
    failures: dict[str, tuple[float, ...]] = {}
    if not subj.failed.empty:
        grouped = subj.failed.groupby(["error_class", "bucket"])["runs"].sum()
        for cls in sorted({str(c) for c in subj.failed["error_class"]}):
            failures[cls] = tuple(float(grouped.get((cls, i), 0)) for i in range(n))
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
    maintenance = {
        "inbox items": tuple(float(items.get(i, 0)) for i in range(n)),
        "person hours": tuple(float(hours.get(i, 0.0)) for i in range(n)),
        "flow changes": tuple(change_counts),
    }

    k = max(1, min(4, n // 3))
    first_b, last_b = tuple(range(k)), tuple(range(n - k, n))
    unit = "week" if weekly else "day"
    first_label = f"first {k} {unit}{'s' if k > 1 else ''}"
    last_label = f"last {k} {unit}{'s' if k > 1 else ''}"
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
    better, worse = verdicts.count("better"), verdicts.count("worse")
    if n < 2 or all(v == "n/a" for v in verdicts):
        answer, text = "too little data", "Too few periods with runs to compare."
    elif better and not worse:
        answer, text = "better", f"Better: {better} of 4 metrics improved from the {first_label} to the {last_label}, none got worse."
    elif worse and not better:
        answer, text = "worse", f"Worse: {worse} of 4 metrics got worse from the {first_label} to the {last_label}, none improved."
    elif better and worse:
        answer, text = "mixed", f"Mixed: {better} metric(s) improved and {worse} got worse from the {first_label} to the {last_label}."
    else:
        answer, text = "only older", f"Only older: no metric moved between the {first_label} and the {last_label}."
    return Trend(
        bucket_seconds=bucket,
        labels=labels,
        series=series,
        failures_by_class=failures,
        maintenance=maintenance,
        first_label=first_label,
        last_label=last_label,
        comparison=tuple(comparison),
        answer=answer,
        answer_text=text,
    )


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
