"""Parse a gate file (TOML) into a frozen :class:`Gate`; every mistake is a :class:`ConfigError`."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any

from harness._oracle_registry import BUILTIN_ORACLES, SILENT_CLASSES, oracle_names
from harness.errors import ConfigError, did_you_mean

#: the modes a gate can judge
GATE_MODES: tuple[str, ...] = ("bare", "orchestrated")

#: the built-in finding classes; every registered one (``register_oracle``) is valid too
FINDING_CLASSES: tuple[str, ...] = BUILTIN_ORACLES

#: classes whose harm goes unseen (``harness.oracles.SILENT_CLASSES``): a flow table that
#: names neither the class nor ``total`` under ``max_findings`` allows none of them
SILENT_DEFAULTS: tuple[str, ...] = SILENT_CLASSES

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
    _: KW_ONLY
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
