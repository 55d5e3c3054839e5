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

#: one colour per mode in every chart (the series classes s0..s5 of the stylesheet), so a
#: reader who learnt "orange is bare" on one chart can trust it on the next
MODE_CLASS = {"orchestrated": 0, "bare": 1, "production": 2}


def _series(name: str, index: int) -> int:
    """The colour class of a series: its mode's colour, else its position after the modes'."""
    return MODE_CLASS.get(name, (len(MODE_CLASS) + index) % 6)


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
    # int ** int is an int for values >= 1 (labels print without ".0"), a float below
    magnitude: int | float = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 8, 10):
        if value <= step * magnitude * (1 + 1e-9):
            return step * magnitude
    return 10 * magnitude


def _legend(names: Sequence[str], x: float, y: float) -> str:
    parts = []
    for i, name in enumerate(names):
        xi = x + i * 140
        parts.append(
            f'<rect class="s{_series(name, i)}" x="{_num(xi)}" y="{_num(y - 9)}" width="10" height="10" rx="2"/>'
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
                out.append(f'<polyline class="ln l{_series(name, si)}" points="{pts}"/>')
            for x, y in run:
                out.append(
                    f'<circle class="s{_series(name, si)}" cx="{_num(x)}" cy="{_num(y)}" r="3">'
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
                f'<rect class="s{_series(name, si)}" x="{_num(gx + si * col_w)}" y="{_num(top + plot_h - h)}" '
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


def _caption(e: Mapping[str, Any]) -> str:
    """What one timeline entry says: ``POST /v1/invoices → 503 (server_error)``, never cut."""
    kind = str(_pick(e, _LABEL_KEYS) or "event")
    method, path = e.get("method") or "", e.get("path") or e.get("url") or ""
    fault = e.get("fault")
    if method or path:
        status = e.get("status")
        seen = str(status) if status not in (None, "") else str(e.get("outcome") or "no answer")
        text = f"{method} {path} → {seen}".strip()
    else:
        head = f"{kind} {e.get('delivery') or ''}".strip()
        detail = str(e.get("detail") or "")
        outcome = e.get("outcome") or e.get("end_state")
        text = head + (f" ({detail})" if detail and len(detail) <= 40 else "")
        text += f": {outcome}" if outcome else ""
        if detail and len(detail) > 40:
            text += f" · {detail[:160]}"
    if fault:
        text += f" [{fault}]"
    return text


def _bad(e: Mapping[str, Any]) -> bool:
    return bool(e.get("fault")) or any(
        str(e.get(k, "")).lower() in ("error", "timeout", "failed", "5xx", "reset", "unknown", "manual")
        for k in ("outcome", "kind", "status")
    )


def timeline(entries: Sequence[Mapping[str, Any]], *, title: str, width: int = 640) -> Markup:
    """A Jepsen-style timeline: one column per system, one row per event, in order.

    Rows follow the order events happened, so calls made at the same instant
    (virtual time that did not advance) are spread out instead of stacked on
    one dot; the time of each row is printed at its left, a gap in time is
    shown as ``+12.0 s``.  Each caption is written whole to the right of the
    lanes and the drawing grows as wide as its longest caption (the page
    scrolls it sideways rather than shrinking the text), so no label is cut.
    Entries are mappings with the usual keys (``at``, ``system``, ``kind``,
    ``method``, ``path``, ``status``, ``fault``, ``outcome``, ``detail``).
    """
    rows = [e for e in entries if isinstance(e, Mapping)][:80]
    lanes: list[str] = []
    for e in rows:
        lane = str(_pick(e, _LANE_KEYS) or "trigger")
        if lane not in lanes:
            lanes.append(lane)
    times: list[float | None] = []
    for e in rows:
        t = _pick(e, _TIME_KEYS)
        try:
            times.append(float(t) if t is not None else None)
        except (TypeError, ValueError):
            times.append(None)
    captions = [_caption(e) for e in rows]
    row_h, top, time_w, lane_w = 20, 34, 64, 78
    text_x = time_w + len(lanes) * lane_w + 8
    # ~6.6 px per character at the 11px caption size, plus a margin
    longest = max((len(c) for c in captions), default=10)
    width = max(width, int(text_x + 6.8 * longest + 16))
    height = top + max(len(rows), 1) * row_h + 8
    # explicit size: the page shows it at its natural size and scrolls it, never scales it
    out = [_open(width, height, title, "timeline").replace(
        "<svg ", f'<svg width="{width}" height="{height}" ', 1
    )]
    for li, lane in enumerate(lanes):
        x = time_w + li * lane_w + lane_w / 2
        out.append(
            f'<text class="lb" x="{_num(x)}" y="14" text-anchor="middle">{_t(lane[:12])}</text>'
            f'<line class="grid" x1="{_num(x)}" x2="{_num(x)}" y1="22" y2="{height - 4}"/>'
        )
    previous: float | None = None
    for i, e in enumerate(rows):
        y = top + i * row_h + row_h / 2
        lane = str(_pick(e, _LANE_KEYS) or "trigger")
        x = time_w + lanes.index(lane) * lane_w + lane_w / 2
        t = times[i]
        if t is not None and (previous is None or t != previous):
            stamp = f"{_default_fmt(t)} s" if previous is None else f"+{_default_fmt(t - previous)} s"
            out.append(f'<text class="ax" x="4" y="{_num(y + 4)}">{_t(stamp)}</text>')
        if t is not None:
            previous = t
        note = _pick(e, _NOTE_KEYS)
        out.append(
            f'<circle class="{"bad" if _bad(e) else "s0"}" cx="{_num(x)}" cy="{_num(y)}" r="5">'
            f"<title>{_t(t if t is not None else i)}: {_t(lane)} {_t(captions[i])}"
            f"{(' · ' + _t(note)) if note is not None else ''}</title></circle>"
            f'<text class="ax" x="{text_x}" y="{_num(y + 4)}">{_t(captions[i])}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))
