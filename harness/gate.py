"""The CI reliability gate: thresholds per flow, judged from the ledger.

A gate file is TOML.  Each ``[flows.NAME]`` table names a flow (its
``Flow.name``) and the thresholds its campaigns must meet::

    [flows.deal_won]
    mode = "orchestrated"                 # which mode's runs and findings are judged
    min_examples = 50                     # examples actually run, summed over campaigns
    min_duplicate_prevention_success = 1.0
    max_duplicate_effects_escaped = 0
    max_manual_fallback_frequency = 0.3
    max_time_to_recovery_p90 = 600        # seconds, in the run's clock
    max_runs_failed = 0
    max_failed_run_rate = 0.05            # runs ended failed / accepted runs
    [flows.deal_won.max_findings]
    duplicate_effect = 0
    silent_loss = 0

Every threshold is optional; a flow table with none of them requires that
the flow ran and that it has no finding of a silent class (``duplicate_effect``,
``silent_loss``, ``bad_value``: harm nobody sees when it happens); a
``max_findings`` entry for such a class (or for ``total``) replaces that
default.  ``partial_effect`` (a loud failure that left effects behind) and the
other loud classes are judged only when named.  :func:`load_gate` parses the file into a frozen
:class:`Gate` and rejects a typo or a wrong type with a
:class:`~harness.errors.ConfigError` naming the file, the key, the bad value
and the valid choices.  :func:`evaluate` is pure: it takes what was measured
(metrics, findings, examples per flow) and returns a :class:`GateResult` that
renders itself as terminal text, Markdown and JUnit properties.
:func:`evaluate_ledger` measures the given campaigns from a ledger first.

How campaigns combine when a flow ran several (several tests, several xdist
workers): examples, escaped duplicate effects and failed runs are summed;
duplicate prevention success and manual fallback frequency are recomputed
from the summed counts (prevented / duplicate deliveries, manual runs /
accepted runs); the p90 time to recovery is the worst campaign's p90, because
percentiles cannot be merged and a gate must not hide a bad campaign.
A metric that was not measured (no duplicate delivery, no recovery) passes
and is shown as ``n/a``; ``min_examples`` guards against a campaign that did
not run.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from harness._oracle_registry import BUILTIN_ORACLES, oracle_names
from harness.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from harness.ledger import Ledger

__all__ = [
    "FINDING_CLASSES",
    "GATE_MODES",
    "THRESHOLDS",
    "Check",
    "FlowGate",
    "FlowMeasures",
    "Gate",
    "GateResult",
    "evaluate",
    "evaluate_ledger",
    "load_gate",
    "measure",
]

#: the modes a gate can judge
GATE_MODES: tuple[str, ...] = ("bare", "orchestrated")

#: the built-in finding classes; every registered one (``register_oracle``) is valid too
FINDING_CLASSES: tuple[str, ...] = BUILTIN_ORACLES

#: classes whose harm goes unseen (``harness.oracles.SILENT_CLASSES``): a flow table that
#: names neither the class nor ``total`` under ``max_findings`` allows none of them
SILENT_DEFAULTS: tuple[str, ...] = ("duplicate_effect", "silent_loss", "bad_value")

#: a ``max_findings`` key counting every finding of the flow, whatever its class
_TOTAL = "total"


@dataclass(frozen=True, slots=True)
class _Threshold:
    key: str
    label: str  # how the measured value is named in messages
    kind: type  # int or float
    bound: str  # "min" or "max"
    low: float = 0.0
    high: float | None = None  # inclusive upper limit of a valid threshold
    unit: str = ""


_SPECS: tuple[_Threshold, ...] = (
    _Threshold("min_examples", "examples run", int, "min"),
    _Threshold(
        "min_duplicate_prevention_success", "duplicate prevention success", float, "min", high=1.0
    ),
    _Threshold("max_duplicate_effects_escaped", "duplicate effects escaped", int, "max"),
    _Threshold("max_manual_fallback_frequency", "manual fallback frequency", float, "max", high=1.0),
    _Threshold("max_time_to_recovery_p90", "time to recovery p90", float, "max", unit="s"),
    _Threshold("max_runs_failed", "runs ended failed", int, "max"),
    _Threshold("max_failed_run_rate", "failed run rate", float, "max", high=1.0),
)
_BY_KEY = {spec.key: spec for spec in _SPECS}

#: every key a ``[flows.NAME]`` table accepts
THRESHOLDS: tuple[str, ...] = (*(s.key for s in _SPECS), "max_findings")
_FLOW_KEYS: tuple[str, ...] = ("mode", *THRESHOLDS)
_TOP_KEYS: tuple[str, ...] = ("flows",)


@dataclass(frozen=True)
class FlowGate:
    """The thresholds of one flow; ``None`` means "not judged"."""

    flow: str
    mode: str = "orchestrated"
    min_examples: int | None = None
    min_duplicate_prevention_success: float | None = None
    max_duplicate_effects_escaped: int | None = None
    max_manual_fallback_frequency: float | None = None
    max_time_to_recovery_p90: float | None = None
    max_runs_failed: int | None = None
    max_failed_run_rate: float | None = None
    max_findings: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Gate:
    """A parsed gate file: one :class:`FlowGate` per flow name, in file order."""

    path: str
    flows: Mapping[str, FlowGate]

    def flow(self, name: str) -> FlowGate:
        """The thresholds of ``name``; :class:`ConfigError` listing the gate's flows if absent."""
        try:
            return self.flows[name]
        except KeyError:
            names = ", ".join(self.flows) or "none"
            raise ConfigError(
                f"flow {name!r} is not in the gate{did_you_mean(name, self.flows)}; flows "
                f"in the gate: {names}; add a [flows.{name}] table",
                path=self.path,
            ) from None


# ---------------------------------------------------------------------------
# loading


def load_gate(path: str | Path) -> Gate:
    """Parse the gate file at ``path``.

    Raises :class:`ConfigError` when the file is missing or not TOML, a key is
    unknown (with the valid choices and the closest one), a threshold has the
    wrong type or is out of range, or the file names no flow.
    """
    where = str(path)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("gate file not found", path=where) from None
    except IsADirectoryError:
        raise ConfigError("is a directory; give the gate's .toml file", path=where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the gate file: {exc}", path=where) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=where) from None
    return parse_gate(data, path=where)


def parse_gate(data: Mapping[str, Any], *, path: str = "<gate>") -> Gate:
    """Build a :class:`Gate` from already-parsed TOML ``data`` (see :func:`load_gate`)."""
    _unknown_keys(data, _TOP_KEYS, path=path, prefix="", what="key")
    flows_raw = data.get("flows")
    if flows_raw is None:
        raise ConfigError(
            "the gate names no flow; add a [flows.NAME] table with thresholds, e.g. "
            "[flows.deal_won] min_examples = 50",
            path=path,
        )
    if not isinstance(flows_raw, Mapping) or not flows_raw:
        raise ConfigError(
            f"expected one table per flow ([flows.NAME]), got {_show(flows_raw)}",
            path=path,
            key="flows",
            value=flows_raw,
        )
    flows: dict[str, FlowGate] = {}
    for name, table in flows_raw.items():
        flows[name] = _parse_flow(name, table, path=path)
    return Gate(path=path, flows=flows)


def _parse_flow(name: str, table: Any, *, path: str) -> FlowGate:
    prefix = f"flows.{name}"
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"expected a table of thresholds ([{prefix}]), got {_show(table)}",
            path=path,
            key=prefix,
            value=table,
        )
    _unknown_keys(table, _FLOW_KEYS, path=path, prefix=prefix, what="threshold")
    mode = table.get("mode", "orchestrated")
    if mode not in GATE_MODES:
        raise ConfigError(
            f"expected one of {', '.join(map(repr, GATE_MODES))}, got {_show(mode)}"
            f"{did_you_mean(str(mode), GATE_MODES)}",
            path=path,
            key=f"{prefix}.mode",
            value=mode,
        )
    values: dict[str, Any] = {}
    for spec in _SPECS:
        if spec.key in table:
            values[spec.key] = _number(table[spec.key], spec, path=path, key=f"{prefix}.{spec.key}")
    max_findings: dict[str, int] = {}
    raw = table.get("max_findings", {})
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "expected a table of finding class = maximum count "
            f"([{prefix}.max_findings] duplicate_effect = 0), got {_show(raw)}",
            path=path,
            key=f"{prefix}.max_findings",
            value=raw,
        )
    for cls, limit in raw.items():
        key = f"{prefix}.max_findings.{cls}"
        classes = oracle_names()
        if not (cls in classes or cls == _TOTAL):
            raise ConfigError(
                f"unknown finding class{did_you_mean(cls, (*classes, _TOTAL))}; "
                f"valid: {', '.join(classes)} (an effect the flow declares), "
                f"{_TOTAL} (every class)",
                path=path,
                key=key,
                value=cls,
            )
        max_findings[cls] = _count(limit, path=path, key=key)
    return FlowGate(flow=name, mode=mode, max_findings=max_findings, **values)


def _unknown_keys(
    table: Mapping[str, Any], valid: Sequence[str], *, path: str, prefix: str, what: str
) -> None:
    for key in table:
        if key not in valid:
            raise ConfigError(
                f"unknown {what}{did_you_mean(key, valid)}; valid: {', '.join(valid)}",
                path=path,
                key=f"{prefix}.{key}" if prefix else key,
                value=key,
            )


def _count(value: Any, *, path: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"expected a whole number >= 0, got {_show(value)}", path=path, key=key, value=value
        )
    return value


def _number(value: Any, spec: _Threshold, *, path: str, key: str) -> int | float:
    if spec.kind is int:
        return _count(value, path=path, key=key)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and not math.isfinite(value):
        ok = False
    if ok and (value < spec.low or (spec.high is not None and value > spec.high)):
        ok = False
    if not ok:
        if spec.high is not None:
            expected = f"a number from {spec.low:g} to {spec.high:g} (a fraction, 0.95 = 95%)"
        else:
            expected = f"a number >= {spec.low:g}" + (" (seconds)" if spec.unit == "s" else "")
        raise ConfigError(f"expected {expected}, got {_show(value)}", path=path, key=key, value=value)
    return float(value)


def _show(value: Any) -> str:
    kind = {
        bool: "boolean",
        str: "string",
        int: "integer",
        float: "float",
        list: "array",
        dict: "table",
    }.get(type(value), type(value).__name__)
    return f"{kind} {value!r}" if not isinstance(value, Mapping) else "a table"


# ---------------------------------------------------------------------------
# measuring


class MetricsLike(Protocol):
    """The fields of :class:`harness.report.Metrics` the gate reads."""

    @property
    def accepted_runs(self) -> int: ...
    @property
    def runs_failed(self) -> int: ...
    @property
    def duplicate_deliveries(self) -> int: ...
    @property
    def duplicates_prevented(self) -> int: ...
    @property
    def duplicate_effects_escaped(self) -> int: ...
    @property
    def manual_fallback_frequency(self) -> float | None: ...
    @property
    def time_to_recovery_p90(self) -> float | None: ...


class FindingLike(Protocol):
    """The fields of a finding (:class:`harness.oracles.Finding` or a ledger record) the gate reads."""

    @property
    def oracle(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def reproduce(self) -> str: ...


@dataclass(frozen=True)
class FlowMeasures:
    """What was measured for one flow in one mode, combined over its campaigns."""

    flow: str
    mode: str
    campaigns: int
    examples: int
    accepted_runs: int
    runs_failed: int
    duplicate_deliveries: int
    duplicates_prevented: int
    duplicate_prevention_success: float | None
    duplicate_effects_escaped: int
    manual_runs: float
    manual_fallback_frequency: float | None
    time_to_recovery_p90: float | None
    failed_run_rate: float | None = None


def measure(
    flow: str, mode: str, metrics: Sequence[MetricsLike], examples: int
) -> FlowMeasures:
    """Combine the metrics of a flow's campaigns (see the module docstring for how)."""
    accepted = sum(m.accepted_runs for m in metrics)
    deliveries = sum(m.duplicate_deliveries for m in metrics)
    prevented = sum(m.duplicates_prevented for m in metrics)
    manual = sum((m.manual_fallback_frequency or 0.0) * m.accepted_runs for m in metrics)
    p90s = [m.time_to_recovery_p90 for m in metrics if m.time_to_recovery_p90 is not None]
    return FlowMeasures(
        flow=flow,
        mode=mode,
        campaigns=len(metrics),
        examples=examples,
        accepted_runs=accepted,
        runs_failed=sum(m.runs_failed for m in metrics),
        duplicate_deliveries=deliveries,
        duplicates_prevented=prevented,
        duplicate_prevention_success=(prevented / deliveries) if deliveries else None,
        duplicate_effects_escaped=sum(m.duplicate_effects_escaped for m in metrics),
        manual_runs=manual,
        manual_fallback_frequency=(manual / accepted) if accepted else None,
        time_to_recovery_p90=max(p90s) if p90s else None,
        failed_run_rate=(sum(m.runs_failed for m in metrics) / accepted) if accepted else None,
    )


# ---------------------------------------------------------------------------
# evaluating


@dataclass(frozen=True)
class Check:
    """One threshold of one flow, judged.

    ``measured`` is ``None`` when the metric could not be measured (it then
    passes, shown as ``n/a``).  ``reproduce`` lists the reproduce lines of the
    findings a ``max_findings`` check counted.
    """

    flow: str
    threshold: str  # the gate file's key, e.g. "max_findings.silent_loss"
    label: str
    limit: float
    measured: float | None
    passed: bool
    unit: str = ""
    note: str = ""
    reproduce: tuple[str, ...] = ()

    @property
    def sentence(self) -> str:
        """``"flows.deal_won.max_findings.silent_loss: silent_loss findings = 2, allowed <= 0"``."""
        op = ">=" if self.threshold.startswith("min_") else "<="
        measured = "n/a" if self.measured is None else _fmt(self.measured, self.unit)
        text = (
            f"flows.{self.flow}.{self.threshold}: {self.label} = {measured}, "
            f"{'required' if op == '>=' else 'allowed'} {op} {_fmt(self.limit, self.unit)}"
        )
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict over a set of campaigns, with every check made."""

    path: str
    checks: tuple[Check, ...]
    measures: tuple[FlowMeasures, ...]
    campaigns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # e.g. why a given campaign was not judged, one line each

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def broken(self) -> tuple[Check, ...]:
        """The checks that failed, in gate-file order."""
        return tuple(c for c in self.checks if not c.passed)

    def render_text(self) -> str:
        """Plain text for a terminal: the verdict, each broken threshold, its findings."""
        lines = [f"harness gate {self.path}: {'PASSED' if self.passed else 'FAILED'}"]
        for m in self.measures:
            lines.append(
                f"  {m.flow} ({m.mode}): {m.campaigns} campaign(s), {m.examples} examples, "
                f"{m.accepted_runs} runs"
            )
        lines.extend(f"  note: {note}" for note in self.notes)
        broken = self.broken
        if broken:
            lines.append(f"{len(broken)} threshold(s) broken:")
            for c in broken:
                lines.append(f"  {c.sentence}")
                lines.extend(f"    reproduce: {line}" for line in c.reproduce)
        else:
            lines.append(f"all {len(self.checks)} threshold(s) met")
        return "\n".join(lines)

    def render_markdown(self) -> str:
        """GitHub-flavoured Markdown (for ``$GITHUB_STEP_SUMMARY``): a table of every check."""
        verdict = "passed" if self.passed else "failed"
        icon = ":white_check_mark:" if self.passed else ":x:"
        out = [f"### {icon} harness gate `{_md(self.path)}` {verdict}", ""]
        out.append("| flow | threshold | measured | limit | result |")
        out.append("| --- | --- | --- | --- | --- |")
        for c in self.checks:
            op = ">=" if c.threshold.startswith("min_") else "<="
            measured = "n/a" if c.measured is None else _fmt(c.measured, c.unit)
            out.append(
                f"| {_md(c.flow)} | `{_md(c.threshold)}` | {measured} | {op} "
                f"{_fmt(c.limit, c.unit)} | {'pass' if c.passed else '**FAIL**'} |"
            )
        repro = [(c, line) for c in self.broken for line in c.reproduce]
        if repro:
            out += ["", "Reproduce the findings:", "", "```sh"]
            out += [line for _, line in repro]
            out.append("```")
        return "\n".join(out) + "\n"

    def junit_properties(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs for the JUnit XML ``<properties>`` of the test suite."""
        props = [
            ("harness_gate", "passed" if self.passed else "failed"),
            ("harness_gate_file", self.path),
        ]
        for c in self.checks:
            props.append(
                (
                    f"harness_gate.{c.flow}.{c.threshold}",
                    ("n/a" if c.measured is None else _fmt(c.measured, c.unit))
                    + (" ok" if c.passed else " BROKEN"),
                )
            )
        return props


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


def _fmt(value: float, unit: str = "") -> str:
    text = f"{int(value)}" if float(value).is_integer() else f"{value:.3f}".rstrip("0")
    return f"{text}{unit}"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


# ---------------------------------------------------------------------------
# from the ledger


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
    from harness.report import compute_metrics

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
        metrics.setdefault(record.flow, []).append(
            compute_metrics(ledger, campaign_ids=member_ids)
        )
        found = [f for m in member_ids for f in ledger.findings(campaign_id=m)]
        findings.setdefault(record.flow, []).extend(_first_per_class(found) if group else found)
        # examples actually run: the distinct example numbers of the campaign's runs (the
        # campaign record holds the number asked for; an interrupted campaign ran fewer)
        ran = {
            r.example for m in member_ids for r in ledger.iter_runs(campaign_id=m)
            if r.example is not None
        }
        examples[record.flow] = examples.get(record.flow, 0) + len(ran)
        if record.status != "completed" and not group:
            # a killed campaign stays "running" in the ledger: say what it did not finish
            ignored.append(
                f"campaign {cid} is incomplete (status {record.status}): ran {len(ran)} of "
                f"{record.examples if record.examples is not None else '?'} examples"
            )
    result = evaluate(
        gate, metrics, findings, examples,
        campaigns=list(dict.fromkeys([*ids, *judged])), notes=ignored,
    )
    if shard_checks:
        result = dataclasses.replace(result, checks=(*shard_checks, *result.checks))
    return result


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
