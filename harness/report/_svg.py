"""Hand-made SVG charts for the self-contained report (no JavaScript, no fonts).

Each function returns :class:`markupsafe.Markup`; every piece of text placed in
the SVG is scrubbed of secrets and escaped here, because jinja2 does not
escape a ``Markup`` value again.  Colours come from CSS classes (``s0`` ..
``s5``) defined in the page's inline stylesheet, so the charts follow the
page's print and dark styles.  Every chart has a ``<title>`` and an
``aria-label`` and the report prints the same numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from harness.report._scrub import scrub

__all__ = ["bar_chart", "column_chart", "funnel", "line_chart", "timeline"]

Fmt = Callable[[float], str]


def _t(value: Any) -> str:
    return str(escape(scrub(str(value))))


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _default_fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 or x == int(x) else f"{x:.1f}"


def _open(width: int, height: int, title: str, cls: str) -> str:
    return (
        f'<svg class="chart {cls}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_t(title)}" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{_t(title)}</title>'
    )


def _nice_max(value: float) -> float:
    """The smallest "round" number >= ``value`` whose quarters are round too."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 8, 10):
        if value <= step * magnitude * (1 + 1e-9):
            return step * magnitude
    return 10 * magnitude


def _legend(names: Sequence[str], x: float, y: float) -> str:
    parts = []
    for i, name in enumerate(names):
        xi = x + i * 140
        parts.append(
            f'<rect class="s{i % 6}" x="{_num(xi)}" y="{_num(y - 9)}" width="10" height="10" rx="2"/>'
            f'<text class="lg" x="{_num(xi + 14)}" y="{_num(y)}">{_t(name)}</text>'
        )
    return "".join(parts)


def _heading(title: str, names: Sequence[str]) -> str:
    """The chart's visible title and, under it, the legend."""
    return f'<text class="tt" x="4" y="15">{_t(title)}</text>' + _legend(names, 8, 36)


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    fmt: Fmt = _default_fmt,
    width: int = 560,
    height: int = 220,
    y_max: float | None = None,
) -> Markup:
    """Lines over the same x positions; ``None`` values leave a gap."""
    left, right, top, bottom = 56, 30, 46, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    top_value = y_max if y_max is not None else _nice_max(max(values, default=0.0))
    n = max(len(x_labels), 1)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h - plot_h * min(max(v / top_value, 0.0), 1.0)

    out = [_open(width, height, title, "line")]
    for k in range(5):
        v = top_value * k / 4
        y = py(v)
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}"/>'
            f'<text class="ax" x="{left - 6}" y="{_num(y + 4)}" text-anchor="end">{_t(fmt(v))}</text>'
        )
    step = max(1, (n + 6) // 7)
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            out.append(
                f'<text class="ax" x="{_num(px(i))}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{_t(label)}</text>'
            )
    for si, (name, vs) in enumerate(series):
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(vs):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((px(i), py(value)))
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in run)
                out.append(f'<polyline class="ln l{si % 6}" points="{pts}"/>')
            for x, y in run:
                out.append(
                    f'<circle class="s{si % 6}" cx="{_num(x)}" cy="{_num(y)}" r="3">'
                    f"<title>{_t(name)}</title></circle>"
                )
    out.append(_heading(title, [name for name, _ in series]))
    out.append("</svg>")
    return Markup("".join(out))


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    fmt: Fmt = _default_fmt,
    width: int = 560,
    bar: int = 22,
) -> Markup:
    """Horizontal bars, one per item, labelled with the value."""
    label_w, right = 170, 70
    height = max(len(items), 1) * (bar + 8) + 10
    top_value = max((v for _, v in items), default=0.0) or 1.0
    out = [_open(width, height, title, "bars")]
    if not items:
        out.append(f'<text class="ax" x="4" y="20">{_t("nothing to show")}</text>')
    for i, (label, value) in enumerate(items):
        y = 6 + i * (bar + 8)
        w = (width - label_w - right) * max(value, 0) / top_value
        out.append(
            f'<text class="lb" x="{label_w - 8}" y="{y + bar * 0.7:.1f}" text-anchor="end">'
            f"{_t(label)}</text>"
            f'<rect class="s0" x="{label_w}" y="{y}" width="{_num(max(w, 1.5))}" height="{bar}" rx="3"/>'
            f'<text class="lb" x="{_num(label_w + w + 6)}" y="{y + bar * 0.7:.1f}">{_t(fmt(value))}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def column_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    fmt: Fmt = _default_fmt,
    width: int = 560,
    height: int = 220,
) -> Markup:
    """Vertical grouped columns: one group per category, one column per series."""
    left, right, top, bottom = 48, 8, 46, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, vs in series for v in vs), default=0.0))
    n = max(len(categories), 1)
    group_w = plot_w / n
    col_w = max(2.0, (group_w - 8) / max(len(series), 1))
    out = [_open(width, height, title, "cols")]
    for k in range(5):
        v = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}"/>'
            f'<text class="ax" x="{left - 6}" y="{_num(y + 4)}" text-anchor="end">{_t(fmt(v))}</text>'
        )
    for ci, cat in enumerate(categories):
        gx = left + ci * group_w + 4
        for si, (name, vs) in enumerate(series):
            v = vs[ci] if ci < len(vs) else 0.0
            h = plot_h * max(v, 0) / top_value
            out.append(
                f'<rect class="s{si % 6}" x="{_num(gx + si * col_w)}" y="{_num(top + plot_h - h)}" '
                f'width="{_num(col_w - 1)}" height="{_num(max(h, 0.5))}">'
                f"<title>{_t(name)} · {_t(cat)}: {_t(fmt(v))}</title></rect>"
            )
        out.append(
            f'<text class="ax" x="{_num(gx + group_w / 2 - 4)}" y="{height - bottom + 15}" '
            f'text-anchor="middle">{_t(cat)}</text>'
        )
    out.append(_heading(title, [name for name, _ in series]))
    out.append("</svg>")
    return Markup("".join(out))


def funnel(
    steps: Sequence[tuple[str, float, str]],
    *,
    title: str,
    width: int = 560,
    bad: Sequence[int] = (),
) -> Markup:
    """Centred bars narrowing from the first step: ``(label, value, note)``.

    Steps whose index is in ``bad`` are drawn in the alarm colour.
    """
    bar, gap, label_w = 26, 10, 230
    height = max(len(steps), 1) * (bar + gap) + 6
    first = max((v for _, v, _ in steps), default=0.0) or 1.0
    area = width - label_w - 8
    out = [_open(width, height, title, "funnel")]
    for i, (label, value, note) in enumerate(steps):
        w = max(area * max(value, 0) / first, 2.0)
        x = label_w + (area - w) / 2
        y = 4 + i * (bar + gap)
        out.append(
            f'<text class="lb" x="{label_w - 10}" y="{y + 17}" text-anchor="end">'
            f"{_t(label)}: {_t(_default_fmt(value))}{(' · ' + _t(note)) if note else ''}</text>"
            f'<rect class="{"bad" if i in bad else f"s{i % 6}"}" x="{_num(x)}" y="{y}" '
            f'width="{_num(w)}" height="{bar}" rx="4"/>'
        )
    out.append("</svg>")
    return Markup("".join(out))


_TIME_KEYS = ("at", "t", "time", "clock", "virtual_at")
_LANE_KEYS = ("system", "lane", "process", "actor", "who", "host")
_LABEL_KEYS = ("kind", "event", "label", "type", "what", "step", "action")
_NOTE_KEYS = ("status", "outcome", "fault", "message", "detail", "note", "end_state")


def _pick(entry: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if key in entry and entry[key] not in (None, ""):
            return entry[key]
    return None


def timeline(entries: Sequence[Mapping[str, Any]], *, title: str, width: int = 640) -> Markup:
    """A Jepsen-style timeline: one lane per system, one mark per event, in order.

    Entries are mappings; the time, lane, label and note are read from the
    first present key of a few usual names (``at``/``t``, ``system``/``lane``,
    ``kind``/``event``, ``status``/``fault``/``message``).  Without times the
    marks are spaced evenly in order.
    """
    rows = [e for e in entries if isinstance(e, Mapping)][:60]
    lanes: list[str] = []
    for e in rows:
        lane = str(_pick(e, _LANE_KEYS) or "run")
        if lane not in lanes:
            lanes.append(lane)
    lane_h, left, top = 40, 96, 14
    height = top + max(len(lanes), 1) * lane_h + 24
    times: list[float] = []
    for i, e in enumerate(rows):
        t = _pick(e, _TIME_KEYS)
        try:
            times.append(float(t) if t is not None else float(i))
        except (TypeError, ValueError):
            times.append(float(i))
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    span = (t1 - t0) or 1.0
    plot_w = width - left - 16
    out = [_open(width, height, title, "timeline")]
    for li, lane in enumerate(lanes):
        y = top + li * lane_h + lane_h / 2
        out.append(
            f'<text class="lb" x="{left - 8}" y="{_num(y + 4)}" text-anchor="end">{_t(lane)}</text>'
            f'<line class="grid" x1="{left}" x2="{width - 16}" y1="{_num(y)}" y2="{_num(y)}"/>'
        )
    for i, e in enumerate(rows):
        lane = str(_pick(e, _LANE_KEYS) or "run")
        y = top + lanes.index(lane) * lane_h + lane_h / 2
        x = left + plot_w * (times[i] - t0) / span
        label = _pick(e, _LABEL_KEYS) or "event"
        note = _pick(e, _NOTE_KEYS)
        bad = any(
            str(e.get(k, "")).lower() in ("error", "timeout", "failed", "5xx", "reset")
            or (k == "fault" and e.get(k))
            for k in ("outcome", "fault", "kind", "status")
        )
        caption = str(label) + (f" {note}" if note is not None else "")
        if len(caption) > 22:
            caption = caption[:21] + "…"
        out.append(
            f'<circle class="{"bad" if bad else "s0"}" cx="{_num(x)}" cy="{_num(y)}" r="5">'
            f"<title>{_t(times[i])}: {_t(lane)} {_t(label)}{(' · ' + _t(note)) if note is not None else ''}"
            f"</title></circle>"
            # captions alternate above and below the lane so neighbours overlap less
            f'<text class="ax" x="{_num(x)}" y="{_num(y - 8 if i % 2 else y + 15)}" '
            f'text-anchor="middle">{_t(caption)}</text>'
        )
    out.append(
        f'<text class="ax" x="{left}" y="{height - 6}">{_t(_default_fmt(t0))} s</text>'
        f'<text class="ax" x="{width - 16}" y="{height - 6}" text-anchor="end">{_t(_default_fmt(t1))} s</text>'
    )
    out.append("</svg>")
    return Markup("".join(out))
