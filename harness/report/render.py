"""Render a :class:`~harness.report._build.ReportData` as HTML, JSON, CSV or JUnit XML.

HTML is one self-contained file: inline CSS, hand-made SVG, no script, no
font, no network request.  jinja2 runs with autoescape on and a ``finalize``
hook that scrubs every printed string of secrets and of control characters;
charts are built here with their text escaped (see :mod:`._svg`).

JSON and CSV carry the metrics (per mode and segment, and the trend), the
verdict and its rules.  JUnit XML has one test case per verdict rule and one
per finding class, so a CI system shows broken rules as failed tests.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.errors import RunBrokenError
from harness.report import _svg
from harness.report._build import RECOVERY_BINS, ReportData, Trend, iso_day, iso_time
from harness.report._scrub import scrub, scrub_value

__all__ = ["FORMATS", "render", "render_csv", "render_html", "render_json", "render_junit"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _CONTROL.sub("\ufffd", text)


def pct(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x * 100:.{digits}f} %"


def secs(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x < 1:
        return f"{x * 1000:.0f} ms"
    if x < 120:
        return f"{x:.1f} s" if x < 10 else f"{x:.0f} s"
    if x < 7200:
        return f"{x / 60:.1f} min"
    if x < 3 * 86400:
        return f"{x / 3600:.1f} h"
    return f"{x / 86400:.1f} d"


def num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.2f}"
    return f"{int(x):,}"


def _pct_tick(x: float) -> str:
    """An axis tick as a percentage, with a decimal when the axis is below 10 %."""
    return pct(x, 0 if x == 0 or x >= 0.1 else 1)


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return _clean(scrub(value))
    return value


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,  # every value escaped, whatever the template's name
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=pct, secs=secs, num=num, day=iso_day, time=iso_time)
    return env


_ENV: jinja2.Environment | None = None


def _charts(data: ReportData) -> dict[str, Any]:
    """Every chart of the page, as escaped SVG markup."""
    charts: dict[str, Any] = dict.fromkeys(
        ("failures", "recovery", "faults", "trend", "trend_failures", "trend_maintenance")
    )
    charts.update(funnels={}, timelines=[])
    if data.subject is None:
        return charts
    classes = sorted({c for m in data.metrics.values() for c in m.failed_runs_by_class})
    if classes:
        charts["failures"] = _svg.column_chart(
            classes,
            [(mode, [float(m.failed_runs_by_class.get(c, 0)) for c in classes])
             for mode, m in data.metrics.items()],
            title="Runs with errors, by error class and mode",
        )
    labels = [label for _, label in RECOVERY_BINS]
    hist = data.recovery_histogram.get(data.subject_mode or "", {})
    if hist:
        charts["recovery"] = _svg.column_chart(
            labels,
            [(kind, [float(v) for v in hist.get(kind, (0,) * len(labels))])
             for kind in ("automatic", "manual") if kind in hist],
            title=f"Time to recovery distribution ({data.subject_mode})",
            width=640,
        )
    charts["funnels"] = _funnels(data)
    charts["faults"] = _faults_chart(data)
    if data.trend is not None:
        charts.update(_trend_charts(data.trend, data.subject_mode))
    charts["timelines"] = [
        _svg.timeline(f["timeline"], title=f"Timeline of finding {f['oracle']}")
        if f["timeline"] else None
        for f in data.findings
    ]
    return charts


def _funnels(data: ReportData) -> dict[str, Markup]:
    """The dedupe funnel of each mode that met a duplicate delivery (or let an effect escape)."""
    funnels = {}
    for mode, m in data.metrics.items():
        if m.duplicate_deliveries or m.duplicate_effects_escaped:
            funnels[mode] = _svg.funnel(
                [
                    ("duplicate deliveries", float(m.duplicate_deliveries), ""),
                    ("effects prevented", float(m.duplicates_prevented),
                     pct(m.duplicate_prevention_success)),
                    ("effects escaped", float(m.duplicate_effects_escaped), ""),
                ],
                title=f"Dedupe funnel ({mode})",
                bad=(2,) if m.duplicate_effects_escaped else (),
            )
    return funnels


def _faults_chart(data: ReportData) -> Markup | None:
    """Faults injected by kind over every mode, then the delivery kinds other than original."""
    faults: dict[str, int] = {}
    for per_mode in data.faults.values():
        for fault, n in per_mode.items():
            faults[fault] = faults.get(fault, 0) + n
    kinds: dict[str, int] = {}
    for per_mode in data.delivery_kinds.values():
        for k, n in per_mode.items():
            if k != "original":
                kinds[f"delivery: {k}"] = kinds.get(f"delivery: {k}", 0) + n
    injected = sorted(faults.items(), key=lambda kv: -kv[1]) + sorted(kinds.items())
    if not injected:
        return None
    return _svg.bar_chart([(k, float(v)) for k, v in injected], title="Faults injected, by kind")


def _trend_charts(trend: Trend, subject_mode: str | None) -> dict[str, Any]:
    """The trend's line charts: the four metrics and runs, failures by class, maintenance."""
    x = list(trend.labels)

    def line(key: str, title: str, fmt: Callable[[float], str], y_max: float | None = None) -> Markup:
        return _svg.line_chart(
            x, [(mode, list(vs)) for mode, vs in trend.series[key].items()],
            title=title, fmt=fmt, y_max=y_max,
        )

    charts: dict[str, Any] = {
        "trend": {
            "failed_run_rate": line("failed_run_rate", "Failed-run rate", _pct_tick),
            "time_to_recovery_p50": line("time_to_recovery_p50", "Time to recovery p50", secs),
            "duplicate_prevention_success": line(
                "duplicate_prevention_success", "Duplicate prevention success",
                _pct_tick, y_max=1.0,
            ),
            "manual_fallback_frequency": line(
                "manual_fallback_frequency", "Manual fallback frequency", _pct_tick
            ),
            "accepted_runs": line("accepted_runs", "Accepted runs", num),
        },
    }
    if trend.failures_by_class:
        charts["trend_failures"] = _svg.line_chart(
            x, [(c, list(v)) for c, v in trend.failures_by_class.items()],
            title=f"Runs with errors by class ({subject_mode})",
        )
    charts["trend_maintenance"] = _svg.line_chart(
        x, [(k, list(v)) for k, v in trend.maintenance.items()],
        title="Maintenance: inbox items, person hours, flow changes",
    )
    return charts


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    template = _ENV.get_template("report.html.j2")
    classes = sorted({c for m in data.metrics.values() for c in m.failed_runs_by_class})
    return template.render(d=data, charts=_charts(data), classes=classes)


def _verdict_json(data: ReportData) -> dict[str, Any] | None:
    v = data.verdict
    if v is None:
        return None
    return {
        "decision": v.decision,
        "reason": v.reason,
        "mode": v.mode,
        "rules": [
            {"rule": r.rule, "leads_to": r.leads_to, "sentence": r.sentence, "observed": r.observed,
             "limit": r.limit, "ok": r.ok, "segment": r.segment}
            for r in v.rules
        ],
    }


def render_json(data: ReportData) -> str:
    """The metrics, verdict, trend and generation health as JSON."""
    doc: dict[str, Any] = {
        "title": data.title,
        "kind": data.kind,
        "flow": data.flow,
        "window": {"since": data.since, "until": data.until,
                   "first_run": data.first_wall, "last_run": data.last_wall},
        "generated": data.generated_wall,
        "ledger": data.ledger_url,
        "accepted_runs": data.accepted_runs,
        "empty": data.empty,
        "message": data.empty_message,
        "scope": dict(data.scope),
        "subject_mode": data.subject_mode,
        "verdict": _verdict_json(data),
        "thresholds": {k: getattr(data.thresholds, k) for k in data.thresholds.__dataclass_fields__},
        "thresholds_from": data.thresholds_from,
        "metrics": {mode: m.to_json() for mode, m in data.metrics.items()},
        "maintenance": {
            "inbox_items": data.maintenance.inbox_items,
            "person_hours": data.maintenance.person_seconds / 3600.0,
            "flow_changes": data.maintenance.flow_changes,
        },
        "findings": {"counts": data.finding_counts, "latest": [
            {k: v for k, v in f.items() if k != "timeline"} | {"timeline": list(f["timeline"])}
            for f in data.findings
        ]},
        "generation": {"faults": data.faults, "delivery_kinds": data.delivery_kinds,
                       "examples": data.examples},
        "coverage": None if data.coverage is None else {
            "systems": [
                {**sys, "endpoints": [dict(e) for e in sys["endpoints"]]}
                for sys in data.coverage.systems
            ],
            "unfaked_hosts": dict(data.coverage.unfaked),
            "fault_kinds": list(data.coverage.kinds),
            "tried": data.coverage.tried,
            "possible": data.coverage.possible,
        },
        "contract": [dict(r) for r in data.contract],
        "owners": [dict(r) for r in data.owners],
        "inbox_aging": [dict(r) for r in data.aging],
        "flow_changes": [dict(r) for r in data.changes],
        "campaigns": [dict(r) for r in data.campaigns],
    }
    if data.trend is not None:
        t = data.trend
        doc["trend"] = {
            "bucket_seconds": t.bucket_seconds,
            "labels": list(t.labels),
            "series": {k: {m: list(v) for m, v in s.items()} for k, s in t.series.items()},
            "failures_by_class": {k: list(v) for k, v in t.failures_by_class.items()},
            "maintenance": {k: list(v) for k, v in t.maintenance.items()},
            "comparison": [dict(r) for r in t.comparison],
            "answer": t.answer,
            "answer_text": t.answer_text,
        }
    return json.dumps(scrub_value(doc), indent=2, sort_keys=False, allow_nan=False, default=str) + "\n"


_CSV_FIELDS = ("section", "mode", "segment", "period", "metric", "value")
_CSV_METRICS = (
    "accepted_runs", "runs_failed", "failed_run_rate", "time_to_recovery_p50",
    "time_to_recovery_p90", "duplicate_deliveries", "duplicates_prevented",
    "duplicate_prevention_success", "duplicate_effects_escaped", "manual_runs",
    "manual_fallback_frequency", "inbox_open", "inbox_past_due", "silent_failures",
    "calls", "attempts", "retries",
)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str):
        value = _clean(scrub(value))
        # a leading = + - @ would make a spreadsheet evaluate the cell as a formula
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            value = "'" + value
    return value


def render_csv(data: ReportData) -> str:
    """The metrics in long form: one row per (section, mode, segment, period, metric)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)

    def emit(section: str, mode: str, segment: str, period: str, metric: str, value: Any) -> None:
        writer.writerow([_csv_cell(v) for v in (section, mode, segment, period, metric,
                                                  "" if value is None else value)])

    for mode, m in data.metrics.items():
        for seg_name, sm in [("all", m), *sorted(m.by_segment.items())]:
            for key in _CSV_METRICS:
                value = sm.failed_run_rate if key == "failed_run_rate" else getattr(sm, key)
                emit("outcome" if key not in ("calls", "attempts", "retries") else "activity",
                     mode, seg_name, "window", key, value)
            for cls, n in sorted(sm.failed_runs_by_class.items()):
                emit("failed_runs_by_class", mode, seg_name, "window", cls, n)
            for cls, (p50, p90) in sorted(sm.time_to_recovery_by_class.items()):
                emit("time_to_recovery_by_class", mode, seg_name, "window", f"{cls}.p50", p50)
                emit("time_to_recovery_by_class", mode, seg_name, "window", f"{cls}.p90", p90)
    if data.trend is not None:
        for key, per_mode in data.trend.series.items():
            for mode, values in per_mode.items():
                for label, v in zip(data.trend.labels, values, strict=True):
                    emit("trend", mode, "all", label, key, v)
    if data.verdict is not None:
        emit("verdict", data.verdict.mode or "", "all", "window", "decision", data.verdict.decision)
    if data.empty:
        emit("report", "", "", "window", "message", data.empty_message)
    return buf.getvalue()


_XML_BAD = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: Any) -> str:
    return _XML_BAD.sub("\ufffd", scrub(str(text)))


def render_junit(data: ReportData) -> str:
    """JUnit XML: a test per verdict rule, one per finding class, and the empty-window case."""
    suites = ET.Element("testsuites", name=_x(data.title))
    suite = ET.SubElement(suites, "testsuite", name=_x(f"harness report {data.flow or 'all flows'}"))
    props = ET.SubElement(suite, "properties")
    subject = data.subject
    if subject is not None:
        for key in ("accepted_runs", "duplicate_prevention_success", "manual_fallback_frequency",
                    "time_to_recovery_p50", "time_to_recovery_p90", "duplicate_effects_escaped"):
            ET.SubElement(props, "property", name=key, value=_x(getattr(subject, key)))
        ET.SubElement(props, "property", name="failed_runs_by_class",
                      value=_x(json.dumps(dict(subject.failed_runs_by_class), sort_keys=True)))
    tests = failures = 0
    if data.empty:
        case = ET.SubElement(suite, "testcase", classname="harness.report", name="window has runs")
        ET.SubElement(case, "skipped", message=_x(data.empty_message))
        tests += 1
    if data.verdict is not None:
        for r in data.verdict.rules:
            name = r.rule + (f" [{r.segment}]" if r.segment else "")
            case = ET.SubElement(suite, "testcase", classname=f"harness.verdict.{r.leads_to}",
                                 name=_x(name))
            tests += 1
            text = f"{r.sentence}: {r.observed}, expected {r.limit}"
            if not r.ok:
                if r.leads_to == "expand":
                    ET.SubElement(case, "skipped", message=_x(f"not enough to expand: {text}"))
                else:
                    failures += 1
                    failure = ET.SubElement(case, "failure", message=_x(text), type=r.leads_to)
                    failure.text = _x(data.verdict.reason)
        case = ET.SubElement(suite, "testcase", classname="harness.verdict", name="verdict")
        tests += 1
        out = ET.SubElement(case, "system-out")
        out.text = _x(data.verdict.reason)
    for mode, counts in sorted(data.finding_counts.items()):
        for oracle, n in sorted(counts.items()):
            case = ET.SubElement(suite, "testcase", classname=f"harness.findings.{_x(mode)}",
                                 name=_x(oracle))
            tests += 1
            failures += 1
            examples = [f for f in data.findings if f["oracle"] == oracle and f["mode"] == mode]
            failure = ET.SubElement(case, "failure", message=_x(f"{n} finding(s) of class {oracle}"),
                                    type=_x(oracle))
            failure.text = _x("\n\n".join(f"{f['message']}\n{f['reproduce']}" for f in examples[:5]))
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


FORMATS: Mapping[str, Callable[[ReportData], str]] = {
    ".html": render_html,
    ".htm": render_html,
    ".json": render_json,
    ".csv": render_csv,
    ".xml": render_junit,
}


def render(data: ReportData, out: Path) -> Path:
    """Render ``data`` in the format of ``out``'s suffix and write it atomically."""
    renderer = FORMATS[out.suffix.lower()]
    text = renderer(data)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)  # nothing half-written: the file appears whole or not at all
    except OSError as exc:
        tmp.unlink(missing_ok=True)  # a full disk leaves no partial file behind
        raise RunBrokenError(
            f"cannot write the report {str(out)!r}: {exc.strerror or exc}; nothing was written "
            "(free space or fix permissions, then rerun)"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
