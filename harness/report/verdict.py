"""The pilot verdict: keep, expand, simplify or stop, and the rules that decided it.

The rules are checked in this order; the first level with a broken rule
decides, and every rule's outcome is shown in the report:

**stop** (the automation does harm) when, over the whole scope,

1. duplicate effects escaped > ``max_duplicate_effects_escaped`` (default 0);
2. silent losses (runs that ended ``failed`` with neither alert nor inbox
   item, plus ``silent_loss`` findings) > ``max_silent_losses`` (default 0);
3. failed-run rate (end state ``failed`` / accepted) > ``max_failed_run_rate``
   (default 5 %).

**simplify** (it works but costs people too much) when

4. manual fallback frequency > ``max_manual_fallback_frequency`` (default 10 %);
5. inbox items past due > ``max_inbox_past_due`` (default 0);
6. hours people spent resolving inbox items per 100 runs >
   ``max_person_hours_per_100_runs`` (default 2);
7. contract or rule changes recorded in the window > ``max_flow_changes``
   (default 5).

**expand** when no rule above is broken and, in *every* segment (a flow can
help one case and confuse another),

8. there are at least ``min_runs_per_segment`` runs (default 30: enough
   evidence), and the failed-run rate, manual fallback frequency and time to
   recovery p90 are within their limit times ``1 - expand_margin`` (default
   margin 50 %), and duplicate prevention success, where duplicates were
   delivered, is at least ``min_duplicate_prevention_success`` (default 99 %).

**keep** otherwise: the thresholds are met, without the margin or the
evidence to widen the scope.

A limit is met when the value is *at most* the maximum (or at least the
minimum): a value equal to its threshold passes.  An empty scope gives no
verdict (``decision == "none"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

from harness.report.metrics import Metrics
from harness.report.pilot import Thresholds

__all__ = ["DECISIONS", "Maintenance", "RuleResult", "Verdict", "decide"]

DECISIONS: tuple[str, ...] = ("stop", "simplify", "expand", "keep")


@dataclass(kw_only=True, frozen=True)
class Maintenance:
    """What keeping the flow running cost people in the window."""

    inbox_items: int = 0
    person_seconds: float = 0.0
    flow_changes: int = 0


@dataclass(frozen=True)
class RuleResult:
    """One rule checked: its sentence, the observed value and limit, and whether it held."""

    rule: str  # short name, e.g. "duplicate_effects_escaped"
    leads_to: str  # the decision the rule forces when broken
    sentence: str  # the rule in words, e.g. "Duplicate effects that escaped: at most 0"
    observed: str
    limit: str
    ok: bool
    _: KW_ONLY
    segment: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The decision, a one-line reason, and every rule checked."""

    decision: str  # stop | simplify | expand | keep | none
    reason: str
    rules: tuple[RuleResult, ...]
    _: KW_ONLY
    mode: str | None = None

    @property
    def decisive(self) -> tuple[RuleResult, ...]:
        """The rules that decided: the broken ones at the deciding level (for expand/keep, those checked for expand)."""
        if self.decision in ("stop", "simplify"):
            return tuple(r for r in self.rules if r.leads_to == self.decision and not r.ok)
        if self.decision in ("expand", "keep"):
            return tuple(r for r in self.rules if r.leads_to == "expand" and (not r.ok or self.decision == "expand"))
        return ()


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f} %"


def _secs(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x < 120:
        return f"{x:.0f} s"
    if x < 7200:
        return f"{x / 60:.1f} min"
    return f"{x / 3600:.1f} h"


def _at_most(value: float | None, limit: float) -> bool:
    return value is None or value <= limit


def decide(
    metrics: Metrics,
    thresholds: Thresholds,
    *,
    maintenance: Maintenance | None = None,
    silent_loss_findings: int = 0,
) -> Verdict:
    """Apply the documented rules to ``metrics`` (one mode, with ``by_segment``).

    A broken ``stop`` rule stops the flow; else a broken ``simplify`` rule
    simplifies it; else it expands when every segment meets the thresholds
    with margin on enough runs, and is kept otherwise.
    """
    if metrics.accepted_runs == 0:
        return Verdict("none", "No runs in the scope: there is nothing to judge.", (), mode=metrics.mode)
    rules = [
        *_outcome_rules(metrics, thresholds, silent_loss_findings),
        *_upkeep_rules(metrics, thresholds, maintenance or Maintenance()),
        *_expand_rules(metrics, thresholds),
    ]
    for level in ("stop", "simplify"):
        broken = [r for r in rules if r.leads_to == level and not r.ok]
        if broken:
            reason = "; ".join(f"{r.sentence}: {r.observed}, {r.limit}" for r in broken)
            return Verdict(level, f"{level.capitalize()}: {reason}.", tuple(rules), mode=metrics.mode)
    missed = [r for r in rules if r.leads_to == "expand" and not r.ok]
    if not missed:
        return Verdict(
            "expand",
            "Expand: every threshold is met with margin in every segment, on enough runs.",
            tuple(rules),
            mode=metrics.mode,
        )
    first = missed[0]
    return Verdict(
        "keep",
        "Keep: every threshold is met, but not with the margin and evidence to expand "
        f"({first.sentence} in segment {first.segment}: {first.observed}, {first.limit}).",
        tuple(rules),
        mode=metrics.mode,
    )


def _outcome_rules(metrics: Metrics, t: Thresholds, silent_loss_findings: int) -> list[RuleResult]:
    """The ``stop`` rules: harm that escaped (duplicate effects, silent losses, failed runs)."""
    silent = metrics.silent_failures + silent_loss_findings
    return [
        RuleResult(
            "duplicate_effects_escaped", "stop",
            "Duplicate effects that escaped to a system",
            str(metrics.duplicate_effects_escaped), f"at most {t.max_duplicate_effects_escaped}",
            metrics.duplicate_effects_escaped <= t.max_duplicate_effects_escaped,
        ),
        RuleResult(
            "silent_losses", "stop",
            "Silent losses (failed with nobody told, or silent_loss findings)",
            str(silent), f"at most {t.max_silent_losses}", silent <= t.max_silent_losses,
        ),
        RuleResult(
            "failed_run_rate", "stop", "Runs that ended failed / accepted runs",
            _pct(metrics.failed_run_rate), f"at most {_pct(t.max_failed_run_rate)}",
            _at_most(metrics.failed_run_rate, t.max_failed_run_rate),
        ),
    ]


def _upkeep_rules(metrics: Metrics, t: Thresholds, mnt: Maintenance) -> list[RuleResult]:
    """The ``simplify`` rules: what the flow costs people (manual runs, inbox, changes)."""
    hours_per_100 = mnt.person_seconds / 3600.0 * 100.0 / metrics.accepted_runs
    return [
        RuleResult(
            "manual_fallback_frequency", "simplify", "Runs handed to a person / accepted runs",
            _pct(metrics.manual_fallback_frequency), f"at most {_pct(t.max_manual_fallback_frequency)}",
            _at_most(metrics.manual_fallback_frequency, t.max_manual_fallback_frequency),
        ),
        RuleResult(
            "inbox_past_due", "simplify", "Inbox items open past their due time",
            str(metrics.inbox_past_due), f"at most {t.max_inbox_past_due}",
            metrics.inbox_past_due <= t.max_inbox_past_due,
        ),
        RuleResult(
            "person_hours_per_100_runs", "simplify",
            "Hours people spent resolving inbox items per 100 runs",
            f"{hours_per_100:.2f} h", f"at most {t.max_person_hours_per_100_runs:g} h",
            hours_per_100 <= t.max_person_hours_per_100_runs,
        ),
        RuleResult(
            "flow_changes", "simplify", "Contract or rule changes recorded in the window",
            str(mnt.flow_changes), f"at most {t.max_flow_changes}",
            mnt.flow_changes <= t.max_flow_changes,
        ),
    ]


def _expand_rules(metrics: Metrics, t: Thresholds) -> list[RuleResult]:
    """The ``expand`` rules, per segment: enough runs, and every threshold met with margin."""
    keep = 1.0 - t.expand_margin
    segments = dict(metrics.by_segment) or {metrics.segment or "all": metrics}
    expand_checks: list[tuple[str, str, Callable[[Metrics], tuple[str, str, bool]]]] = [
        ("min_runs", "Runs in the segment (evidence)",
         lambda m: (str(m.accepted_runs), f"at least {t.min_runs_per_segment}",
                    m.accepted_runs >= t.min_runs_per_segment)),
        ("failed_run_rate_margin", "Failed-run rate, with margin",
         lambda m: (_pct(m.failed_run_rate), f"at most {_pct(t.max_failed_run_rate * keep)}",
                    _at_most(m.failed_run_rate, t.max_failed_run_rate * keep))),
        ("manual_fallback_margin", "Manual fallback frequency, with margin",
         lambda m: (_pct(m.manual_fallback_frequency),
                    f"at most {_pct(t.max_manual_fallback_frequency * keep)}",
                    _at_most(m.manual_fallback_frequency, t.max_manual_fallback_frequency * keep))),
        ("ttr_p90_margin", "Time to recovery p90, with margin",
         lambda m: (_secs(m.time_to_recovery_p90), f"at most {_secs(t.max_ttr_p90_seconds * keep)}",
                    _at_most(m.time_to_recovery_p90, t.max_ttr_p90_seconds * keep))),
        ("duplicate_prevention", "Duplicate prevention success",
         lambda m: (_pct(m.duplicate_prevention_success),
                    f"at least {_pct(t.min_duplicate_prevention_success)}",
                    m.duplicate_prevention_success is None
                    or m.duplicate_prevention_success >= t.min_duplicate_prevention_success)),
    ]
    rules = []
    for name, seg_metrics in sorted(segments.items()):
        for rule, sentence, fn in expand_checks:
            observed, limit, ok = fn(seg_metrics)
            rules.append(RuleResult(rule, "expand", sentence, observed, limit, ok, segment=name))
    return rules
