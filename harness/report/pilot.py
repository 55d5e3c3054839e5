"""The pilot file: which flow, which window, which scope, which thresholds.

A pilot is a flow run for a defined window over a defined scope, ending in one
verdict.  The file is TOML::

    flow = "deal_won"                  # required
    title = "Billing pilot, Q3"        # optional
    owner = "revops@example.com"       # optional: shown with the verdict
    runbook = "https://wiki.example.com/runbooks/deal_won"

    [window]                           # required: start, and end or days
    start = 2026-09-01                 # a TOML date/datetime or an ISO string
    end = 2026-09-15                   # exclusive; or: days = 14 (from start)

    [scope]                            # optional
    segments = ["new"]                 # only these segments (default: all)
    mode = "orchestrated"              # the mode the verdict judges (default:
                                       # production, else orchestrated, else bare)
    campaigns = ["c-..."]              # only these campaigns (default: all)
    sample = 0.25                      # share of traffic routed through the flow;
                                       # the ledger holds exactly that sample, so this
                                       # is shown, not used to filter

    [thresholds]                       # optional, each with a default
    max_duplicate_effects_escaped = 0
    max_silent_losses = 0
    max_failed_run_rate = 0.05
    max_manual_fallback_frequency = 0.10
    max_inbox_past_due = 0
    max_person_hours_per_100_runs = 2.0
    max_flow_changes = 5
    max_ttr_p90_seconds = 3600
    min_duplicate_prevention_success = 0.99
    min_runs_per_segment = 30
    expand_margin = 0.5

Every mistake is one :class:`~harness.errors.ConfigError` naming the file, the
key, the bad value and what was expected (with "did you mean" for unknown
keys).
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, did_you_mean

__all__ = ["Pilot", "Thresholds", "load_pilot", "parse_pilot"]


@dataclass(kw_only=True, frozen=True)
class Thresholds:
    """The numbers the verdict rules compare against (see :mod:`harness.report.verdict`)."""

    max_duplicate_effects_escaped: int = 0
    max_silent_losses: int = 0
    max_failed_run_rate: float = 0.05
    max_manual_fallback_frequency: float = 0.10
    max_inbox_past_due: int = 0
    max_person_hours_per_100_runs: float = 2.0
    max_flow_changes: int = 5
    max_ttr_p90_seconds: float = 3600.0
    min_duplicate_prevention_success: float = 0.99
    min_runs_per_segment: int = 30
    expand_margin: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value < 0:
                raise ConfigError(
                    f"must be >= 0, got {value!r}", key=f"thresholds.{f.name}", value=value
                )
        for name in (
            "max_failed_run_rate",
            "max_manual_fallback_frequency",
            "min_duplicate_prevention_success",
            "expand_margin",
        ):
            value = getattr(self, name)
            if value > 1:
                raise ConfigError(
                    f"is a fraction between 0 and 1, got {value!r} (write 5 % as 0.05)",
                    key=f"thresholds.{name}",
                    value=value,
                )


@dataclass(frozen=True)
class Pilot:
    """A parsed pilot file.  ``since`` inclusive, ``until`` exclusive (wall epoch seconds)."""

    flow: str
    since: float
    until: float
    _: KW_ONLY
    title: str = ""
    owner: str = ""
    runbook: str = ""
    segments: tuple[str, ...] = ()
    mode: str | None = None
    campaigns: tuple[str, ...] = ()
    sample: float | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    path: str = ""


_TOP = ("flow", "title", "owner", "runbook", "window", "scope", "thresholds")
_WINDOW = ("start", "end", "days")
_SCOPE = ("segments", "mode", "campaigns", "sample")
_MODES = ("bare", "orchestrated", "production")


def load_pilot(path: str | Path) -> Pilot:
    """Read and validate the pilot file at ``path``."""
    p = Path(path)
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "pilot file not found; pass the path of a TOML file (see 'harness report --help')",
            path=where,
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the pilot file: {exc}", path=where) from None
    return parse_pilot(text, path=where)


def parse_pilot(text: str, *, path: str = "<pilot>") -> Pilot:
    """Parse pilot TOML ``text``; ``path`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from None
    _known(data, _TOP, "", path)

    flow = data.get("flow")
    if flow is None:
        raise ConfigError(
            "missing; name the flow the pilot judges, e.g. flow = \"deal_won\"",
            path=path,
            key="flow",
        )
    flow = _str(flow, "flow", path, nonempty=True)

    since, until = _window(data, path)
    segments, campaigns, mode, sample = _scope(data, path)
    thresholds = _thresholds(data, path)

    return Pilot(
        flow=flow,
        since=since,
        until=until,
        title=_str(data.get("title", ""), "title", path),
        owner=_str(data.get("owner", ""), "owner", path),
        runbook=_str(data.get("runbook", ""), "runbook", path),
        segments=segments,
        mode=mode,
        campaigns=campaigns,
        sample=sample,
        thresholds=thresholds,
        path=path,
    )


def _window(data: Mapping[str, Any], path: str) -> tuple[float, float]:
    """``window``: its start and its end (given as ``end`` or as ``days``)."""
    window = _table(data.get("window"), "window", path, required=True)
    _known(window, _WINDOW, "window.", path)
    if "start" not in window:
        raise ConfigError(
            "missing; give the first day of the pilot, e.g. start = 2026-09-01",
            path=path,
            key="window.start",
        )
    since = _time(window["start"], "window.start", path)
    if "end" in window and "days" in window:
        raise ConfigError(
            "give either 'end' or 'days', not both", path=path, key="window", value=window
        )
    if "end" in window:
        until = _time(window["end"], "window.end", path)
    elif "days" in window:
        days = _number(window["days"], "window.days", path)
        if days <= 0:
            raise ConfigError(f"must be > 0, got {days!r}", path=path, key="window.days", value=days)
        until = since + days * 86400.0
    else:
        raise ConfigError(
            "missing; give the end of the pilot (end = 2026-09-15) or its length (days = 14)",
            path=path,
            key="window.end",
        )
    if until <= since:
        raise ConfigError(
            f"must be after window.start ({_iso(since)}), got {_iso(until)}",
            path=path,
            key="window.end",
            value=until,
        )
    return since, until


def _scope(
    data: Mapping[str, Any], path: str
) -> tuple[tuple[str, ...], tuple[str, ...], str | None, float | None]:
    """``scope``: segments, campaigns, mode and the share of traffic sampled."""
    scope = _table(data.get("scope"), "scope", path, required=False)
    _known(scope, _SCOPE, "scope.", path)
    segments = _str_list(scope.get("segments", []), "scope.segments", path)
    campaigns = _str_list(scope.get("campaigns", []), "scope.campaigns", path)
    mode = scope.get("mode")
    if mode is not None:
        mode = _str(mode, "scope.mode", path)
        if mode not in _MODES:
            raise ConfigError(
                f"unknown mode {mode!r}{did_you_mean(mode, _MODES)}; expected one of "
                f"{', '.join(_MODES)}",
                path=path,
                key="scope.mode",
                value=mode,
            )
    sample = scope.get("sample")
    if sample is not None:
        sample = _number(sample, "scope.sample", path)
        if not 0 < sample <= 1:
            raise ConfigError(
                f"is the share of traffic in (0, 1], got {sample!r}",
                path=path,
                key="scope.sample",
                value=sample,
            )
    return segments, campaigns, mode, sample


def _thresholds(data: Mapping[str, Any], path: str) -> Thresholds:
    """``thresholds``: each a number of the field's type, checked by :class:`Thresholds`."""
    raw = _table(data.get("thresholds"), "thresholds", path, required=False)
    names = tuple(f.name for f in fields(Thresholds))
    _known(raw, names, "thresholds.", path)
    values: dict[str, Any] = {}
    for f in fields(Thresholds):
        if f.name in raw:
            key = f"thresholds.{f.name}"
            number = _number(raw[f.name], key, path)
            if f.type in ("int", int):
                if number != int(number):
                    raise ConfigError(
                        f"must be a whole number, got {number!r}", path=path, key=key, value=number
                    )
                number = int(number)
            values[f.name] = number
    try:
        thresholds = Thresholds(**values)
    except ConfigError as exc:
        raise ConfigError(str(exc), path=path, key=None, value=exc.value) from None
    return thresholds


def _known(table: Mapping[str, Any], allowed: tuple[str, ...], prefix: str, path: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"unknown key{did_you_mean(key, allowed)}; expected one of {', '.join(allowed)}",
                path=path,
                key=f"{prefix}{key}",
                value=table[key],
            )


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _table(value: Any, key: str, path: str, *, required: bool) -> dict[str, Any]:
    if value is None:
        if required:
            raise ConfigError(
                f"missing; add a [{key}] table (see 'harness report --help')", path=path, key=key
            )
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            f"must be a table ([{key}]), got {_type_name(value)}: {value!r}",
            path=path,
            key=key,
            value=value,
        )
    return value


def _str(value: Any, key: str, path: str, *, nonempty: bool = False) -> str:
    if not isinstance(value, str) or (nonempty and not value.strip()):
        raise ConfigError(
            f"must be a {'non-empty ' if nonempty else ''}string, got {_type_name(value)}: {value!r}",
            path=path,
            key=key,
            value=value,
        )
    return value


def _str_list(value: Any, key: str, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(
            f"must be an array of non-empty strings, got {value!r}", path=path, key=key, value=value
        )
    return tuple(value)


def _number(value: Any, key: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            f"must be a number, got {_type_name(value)}: {value!r}", path=path, key=key, value=value
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"must be finite, got {value!r}", path=path, key=key, value=value)
    return value


def _time(value: Any, key: str, path: str) -> float:
    """A TOML date, datetime or ISO string as UTC epoch seconds (naive means UTC)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"not a date: {value!r}; expected a date such as 2026-09-01 or "
                "2026-09-01T08:00:00Z",
                path=path,
                key=key,
                value=value,
            ) from None
    if isinstance(value, dt.datetime):
        when = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return when.timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp()
    raise ConfigError(
        f"must be a date such as 2026-09-01, got {_type_name(value)}: {value!r}",
        path=path,
        key=key,
        value=value,
    )


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat(timespec="seconds")
