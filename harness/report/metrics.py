"""The four metrics, computed from the ledger's SQL aggregates.

Definitions (DESIGN.md, "The four metrics"), applied to the runs a filter
selects:

* **failed runs by class**: distinct runs with at least one ``error`` event of
  that class (``events.error_class``), also per system and step; and
  ``runs_failed``, the runs whose end state is ``failed``.
* **time to recovery**, for runs that met a first error: automatic =
  ``recovered_at - first_error_at`` for runs that succeeded; manual =
  ``resolved_at - first_error_at`` of the run's resolved inbox item.  Median
  and p90 (linear interpolation) over both, each apart, and per class
  (``runs.error_class``).  Seconds in the run's clock.
* **duplicate prevention success**: duplicate deliveries (``is_duplicate``)
  whose effects were prevented (``duplicate_effects = 0``, or NULL with end
  state ``suppressed``) / duplicate deliveries; plus the duplicate effects
  that escaped (sum of ``duplicate_effects`` over every run).
* **manual fallback frequency**: runs that ended ``manual`` / accepted runs
  (every run row is an accepted delivery); plus open inbox items past their
  due time (virtual clock: compared with the window's last ``ended_at``; wall
  clock: with now).

Activity (calls, attempts, retries) is kept apart from these outcomes.  The
grouping happens in SQL (:mod:`harness.ledger.aggregates`); pandas only
shapes the small frames that come back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.ledger import aggregates as agg
from harness.ledger.aggregates import RunFilter

if TYPE_CHECKING:
    from harness.ledger import Ledger

__all__ = [
    "FailurePlace",
    "MetricFrames",
    "Metrics",
    "compute_metrics",
    "load_frames",
    "metrics_from_frames",
]

Percentiles = tuple[float | None, float | None]


@dataclass(frozen=True)
class FailurePlace:
    """Runs that failed with ``error_class`` at one system and step."""

    error_class: str
    system: str | None
    step: str | None
    runs: int


@dataclass(kw_only=True, frozen=True)
class Metrics:
    """The four metrics (and the activity beside them) over one set of runs.

    ``by_segment`` holds the same metrics per segment (empty inside a
    segment).  Rates are ``None`` when their denominator is zero: "no
    duplicates were delivered" is not "100 % prevented".
    """

    accepted_runs: int = 0
    failed_runs_by_class: Mapping[str, int] = field(default_factory=dict)
    runs_failed: int = 0
    end_states: Mapping[str, int] = field(default_factory=dict)
    time_to_recovery_p50: float | None = None
    time_to_recovery_p90: float | None = None
    time_to_recovery_by_class: Mapping[str, Percentiles] = field(default_factory=dict)
    time_to_recovery_automatic: Percentiles = (None, None)
    time_to_recovery_manual: Percentiles = (None, None)
    recoveries_automatic: int = 0
    recoveries_manual: int = 0
    duplicate_deliveries: int = 0
    duplicates_prevented: int = 0
    duplicate_prevention_success: float | None = None
    duplicate_effects_escaped: int = 0
    #: of ``duplicate_effects_escaped``, those made by duplicate deliveries (the rest came from
    #: retries and redeliveries inside runs that were not duplicates themselves)
    duplicate_effects_on_duplicates: int = 0
    manual_runs: int = 0
    manual_fallback_frequency: float | None = None
    inbox_items: int = 0
    inbox_open: int = 0
    inbox_past_due: int = 0
    inbox_person_seconds: float = 0.0
    silent_failures: int = 0
    runs_with_errors: int = 0
    failed_runs_by_place: tuple[FailurePlace, ...] = ()
    calls: int = 0
    attempts: int = 0
    retries: int = 0
    flow: str | None = None
    mode: str | None = None
    segment: str | None = None
    by_segment: Mapping[str, Metrics] = field(default_factory=dict)

    @property
    def failed_run_rate(self) -> float | None:
        """Runs that ended ``failed`` / accepted runs."""
        return _ratio(self.runs_failed, self.accepted_runs)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (``by_segment`` nested, tuples as lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "by_segment":
                out[f.name] = {k: v.to_json() for k, v in sorted(value.items())}
            elif f.name == "failed_runs_by_place":
                out[f.name] = [
                    {"error_class": p.error_class, "system": p.system, "step": p.step, "runs": p.runs}
                    for p in value
                ]
            elif f.name == "time_to_recovery_by_class":
                out[f.name] = {k: {"p50": v[0], "p90": v[1]} for k, v in sorted(value.items())}
            elif f.name in ("time_to_recovery_automatic", "time_to_recovery_manual"):
                out[f.name] = {"p50": value[0], "p90": value[1]}
            elif isinstance(value, Mapping):
                out[f.name] = dict(sorted(value.items()))
            else:
                out[f.name] = value
        out["failed_run_rate"] = self.failed_run_rate
        return out


def _ratio(num: float, den: float) -> float | None:
    return None if not den else float(num) / float(den)


def _frame(rows: agg.Rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows.rows), columns=list(rows.columns))


@dataclass(frozen=True)
class MetricFrames:
    """The aggregated frames metrics are computed from (small: grouped rows).

    ``select`` narrows every frame to some modes, a segment or a bucket
    without going back to the database.
    """

    summary: pd.DataFrame
    failed: pd.DataFrame
    places: pd.DataFrame
    recovery: pd.DataFrame
    inbox: pd.DataFrame

    def select(
        self,
        *,
        modes: tuple[str, ...] | None = None,
        segment: str | None = None,
        buckets: Collection[int] | None = None,
    ) -> MetricFrames:
        """The frames restricted to ``modes``, ``segment`` and ``buckets`` (``None``: all)."""

        def narrow(df: pd.DataFrame) -> pd.DataFrame:
            mask = pd.Series(True, index=df.index)
            if modes is not None and "mode" in df.columns:
                mask &= df["mode"].isin(list(modes))
            if segment is not None and "segment" in df.columns:
                mask &= df["segment"] == segment
            if buckets is not None and "bucket" in df.columns:
                mask &= df["bucket"].isin(list(buckets))
            return df[mask]

        return MetricFrames(
            summary=narrow(self.summary),
            failed=narrow(self.failed),
            places=narrow(self.places),
            recovery=narrow(self.recovery),
            inbox=narrow(self.inbox),
        )

    def split(self, column: str) -> dict[Any, MetricFrames]:
        """One :class:`MetricFrames` per value of ``column`` (``mode``, ``segment``, ``bucket``).

        One ``groupby`` per frame instead of a boolean mask per value: the
        weekly trend cuts the frames into a few dozen parts.  A frame without
        the column (``places`` has no bucket) is shared by every part.
        """
        parts: dict[str, dict[Any, pd.DataFrame]] = {}
        keys: set[Any] = set()
        for name in ("summary", "failed", "places", "recovery", "inbox"):
            df = getattr(self, name)
            if column in df.columns:
                # not dict(groupby): a GroupBy has a `keys` attribute, so dict() takes it for a mapping
                parts[name] = {k: g for k, g in df.groupby(column, dropna=False)}  # noqa: C416
                keys.update(parts[name])
        out = {}
        for key in keys:
            values = {}
            for name in ("summary", "failed", "places", "recovery", "inbox"):
                df = getattr(self, name)
                values[name] = parts[name].get(key, df.iloc[0:0]) if name in parts else df
            out[key] = MetricFrames(**values)
        return out

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(sorted(str(m) for m in self.summary["mode"].unique()))

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(sorted(str(s) for s in self.summary["segment"].unique()))


def _slices(
    flt: RunFilter, bucket_seconds: float | None, origin: float, parts: int
) -> list[RunFilter]:
    """``flt`` cut into about ``parts`` time slices along bucket boundaries.

    A GROUP BY over a million runs is mostly one sort; sorting slices on
    several connections at once uses every core, and since the bucket is a
    group key the slices' rows never overlap.
    """
    if parts < 2 or not bucket_seconds or flt.since is None or flt.until is None:
        return [flt]
    first = math.floor((flt.since - origin) / bucket_seconds)
    last = math.ceil((flt.until - origin) / bucket_seconds)
    n = last - first
    if n < 2:
        return [flt]
    step = math.ceil(n / min(parts, n))
    out = []
    for b in range(first, last, step):
        lo = max(flt.since, origin + b * bucket_seconds)
        hi = min(flt.until, origin + (b + step) * bucket_seconds)
        if hi > lo:
            out.append(replace(flt, since=lo, until=hi))
    return out


def load_frames(
    ledger: Ledger,
    flt: RunFilter,
    *,
    bucket_seconds: float | None = None,
    origin: float = 0.0,
    wall_now: float | None = None,
) -> MetricFrames:
    """Run the aggregate queries for ``flt`` (concurrently) and wrap their results as frames."""
    workers = agg.concurrency(ledger)
    buckets: dict[str, Any] = {"bucket_seconds": bucket_seconds, "origin": origin}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # the biggest query first, in slices, so that no core idles at the end
        summaries = [
            pool.submit(agg.run_summary, ledger, part, **buckets)
            for part in _slices(flt, bucket_seconds, origin, 2 * workers if workers > 1 else 1)
        ]
        failed = pool.submit(agg.failed_by_class, ledger, flt, **buckets)
        places = pool.submit(agg.failed_by_place, ledger, flt)
        recovery = pool.submit(agg.recovery_durations, ledger, flt, **buckets)
        parts = [f.result() for f in summaries]
        summary = _frame(agg.Rows(parts[0].columns, tuple(r for p in parts for r in p.rows)))
        last_virtual = pd.to_numeric(summary["last_virtual_ended_at"], errors="coerce").dropna()
        virtual_now = None if last_virtual.empty else float(last_virtual.max())
        inbox = pool.submit(
            agg.inbox_summary,
            ledger,
            flt,
            virtual_now=virtual_now,
            wall_now=time.time() if wall_now is None else wall_now,
            **buckets,
        )
        return MetricFrames(
            summary=summary,
            failed=_frame(failed.result()),
            places=_frame(places.result()),
            recovery=_frame(recovery.result()),
            inbox=_frame(inbox.result()),
        )


def _percentiles(values: pd.Series) -> Percentiles:
    clean = pd.to_numeric(values, errors="coerce").dropna()
    if clean.empty:
        return (None, None)
    p50, p90 = (float(x) for x in clean.quantile([0.5, 0.9]).tolist())
    return (p50, p90)


def _int(value: Any) -> int:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0
    return int(value)


def _counts(df: pd.DataFrame, key: str, value: str) -> dict[str, int]:
    if df.empty:
        return {}
    grouped = df.groupby(key, dropna=False)[value].sum()
    return {str(k): _int(v) for k, v in sorted(grouped.items(), key=lambda kv: str(kv[0]))}


def metrics_from_frames(
    frames: MetricFrames,
    *,
    flow: str | None = None,
    mode: str | None = None,
    segment: str | None = None,
    split_segments: bool = True,
) -> Metrics:
    """The :class:`Metrics` of ``frames`` (already narrowed by the caller).

    With ``split_segments`` the result carries ``by_segment``, one
    :class:`Metrics` per segment present in the frames.
    """
    s = frames.summary
    accepted = _int(s["runs"].sum()) if not s.empty else 0
    end_states = _counts(s, "end_state", "runs")
    manual_runs = end_states.get("manual", 0)
    by_segment: dict[str, Metrics] = {}
    if split_segments:
        for seg, part in sorted(frames.split("segment").items(), key=lambda kv: str(kv[0])):
            by_segment[str(seg)] = metrics_from_frames(
                part,
                flow=flow,
                mode=mode,
                segment=str(seg),
                split_segments=False,
            )
    return Metrics(
        accepted_runs=accepted,
        failed_runs_by_class=_counts(frames.failed, "error_class", "runs"),
        runs_failed=end_states.get("failed", 0),
        end_states=end_states,
        **_recovery_fields(frames.recovery),
        **_duplicate_fields(s),
        manual_runs=manual_runs,
        manual_fallback_frequency=_ratio(manual_runs, accepted),
        **_inbox_fields(frames.inbox),
        silent_failures=_int(s["silent"].sum()) if not s.empty else 0,
        runs_with_errors=_int(s["with_error"].sum()) if not s.empty else 0,
        failed_runs_by_place=_failure_places(frames.places),
        calls=_int(s["calls"].sum()) if not s.empty else 0,
        attempts=_int(s["attempts"].sum()) if not s.empty else 0,
        retries=_int(s["retries"].sum()) if not s.empty else 0,
        flow=flow,
        mode=mode,
        segment=segment,
        by_segment=by_segment,
    )


def _recovery_fields(rec: pd.DataFrame) -> dict[str, Any]:
    """Time to recovery: overall, per error class, automatic (retry) and manual (inbox)."""
    auto = rec[rec["kind"] == "automatic"] if not rec.empty else rec
    manual = rec[rec["kind"] == "manual"] if not rec.empty else rec
    by_class: dict[str, Percentiles] = {}
    if not rec.empty:
        for cls, group in rec.groupby("error_class", dropna=False):
            by_class[str(cls)] = _percentiles(group["seconds"])
    p50, p90 = _percentiles(rec["seconds"]) if not rec.empty else (None, None)
    return {
        "time_to_recovery_p50": p50,
        "time_to_recovery_p90": p90,
        "time_to_recovery_by_class": by_class,
        "time_to_recovery_automatic": _percentiles(auto["seconds"]) if not auto.empty else (None, None),
        "time_to_recovery_manual": _percentiles(manual["seconds"]) if not manual.empty else (None, None),
        "recoveries_automatic": len(auto),
        "recoveries_manual": len(manual),
    }


def _duplicate_fields(s: pd.DataFrame) -> dict[str, Any]:
    """Duplicate deliveries, how many were prevented, and the duplicate effects that escaped."""
    deliveries = _int(s["duplicates"].sum()) if not s.empty else 0
    prevented = _int(s["duplicates_prevented"].sum()) if not s.empty else 0
    return {
        "duplicate_deliveries": deliveries,
        "duplicates_prevented": prevented,
        "duplicate_prevention_success": _ratio(prevented, deliveries),
        "duplicate_effects_escaped": _int(s["duplicate_effects"].sum()) if not s.empty else 0,
        "duplicate_effects_on_duplicates": (
            _int(s["duplicate_effects_on_duplicates"].sum())
            if not s.empty and "duplicate_effects_on_duplicates" in s
            else 0
        ),
    }


def _inbox_fields(inbox: pd.DataFrame) -> dict[str, Any]:
    """Inbox items: made, still open, past their due time, and the person time spent."""
    return {
        "inbox_items": _int(inbox["items"].sum()) if not inbox.empty else 0,
        "inbox_open": _int(inbox[inbox["status"] == "open"]["items"].sum()) if not inbox.empty else 0,
        "inbox_past_due": _int(inbox["past_due"].sum()) if not inbox.empty else 0,
        "inbox_person_seconds": float(inbox["person_seconds"].sum()) if not inbox.empty else 0.0,
    }


def _failure_places(frame: pd.DataFrame) -> tuple[FailurePlace, ...]:
    """Failed runs per (error class, system, step), most first."""
    places: list[FailurePlace] = []
    if not frame.empty:
        grouped = frame.groupby(["error_class", "system", "step"], dropna=False)["runs"].sum()
        for (cls, system, step), n in grouped.items():
            places.append(
                FailurePlace(
                    error_class=str(cls),
                    system=None if pd.isna(system) else str(system),
                    step=None if pd.isna(step) else str(step),
                    runs=_int(n),
                )
            )
        places.sort(key=lambda p: (-p.runs, p.error_class, p.system or "", p.step or ""))
    return tuple(places)


def compute_metrics(
    ledger: Ledger,
    *,
    flow: str | None = None,
    mode: str | None = None,
    campaign_id: str | None = None,
    since: float | None = None,
    until: float | None = None,
    segment: str | None = None,
    campaign_ids: Sequence[str] = (),
) -> Metrics:
    """The four metrics over the runs of ``ledger`` the arguments select.

    ``campaign_ids`` selects the runs of several campaigns as one (the shards
    of a campaign), besides ``campaign_id``.

    ``since``/``until`` bound ``runs.wall_started`` (epoch seconds, ``since``
    inclusive).  ``mode`` and ``segment`` narrow to one mode or segment;
    without ``segment`` the result's ``by_segment`` splits every metric by
    segment.  An empty selection gives zero counts and ``None`` rates.
    """
    flt = RunFilter(
        flow=flow,
        modes=(mode,) if mode else (),
        campaign_ids=((campaign_id,) if campaign_id else ()) + tuple(campaign_ids),
        segments=(segment,) if segment else (),
        since=since,
        until=until,
    )
    frames = load_frames(ledger, flt)
    return metrics_from_frames(
        frames, flow=flow, mode=mode, segment=segment, split_segments=segment is None
    )
