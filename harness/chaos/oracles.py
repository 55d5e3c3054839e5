"""Oracles: checks over a finished scenario that need no declaration from the user.

Each oracle compares the fakes' state after a scenario (``World.writes``,
``World.calls``: ground truth, never what the automation says about itself)
with a reference run of the same objects without faults, per business object
(``Trigger.object_key``):

``duplicate_effect``
    a duplicate delivery, a redelivery or a retry created records the
    reference run did not;
``silent_loss``
    every delivery of an object returned success (or was suppressed) yet
    effects of the reference run are missing: nothing, or part (an invoice
    without its ticket).  A run that raised, reported failure or went to the
    inbox with its context is not silent; nor is an object whose event lost a
    field that makes it the trigger's event (``Trigger.defining``: ignoring
    an event that is no longer a won deal is right);
``bad_value``
    a write carries ``None``/``"None"``/``"null"``/``""``/NaN/0 where the
    reference's write *of the same meaning* (system, method, path template,
    target record, body keys; nested objects and arrays compared element by
    element) carried a real value, a fake rejected a write the reference got
    through while the automation reported success, or a write breaks a
    declared write contract;
``partial_effect``
    a vendor rejected a bad value, the automation failed loudly (raised or
    reported failure, not handed to a person with its context), and the
    effects it made before the rejection stay (a customer and an empty draft
    invoice): loud, so weighted below the silent classes;
``unbounded_wait``
    a call without an effective timeout met a stall, or a run passed the
    flow's run deadline;
``logical_retry``
    the same request (method, URL, body) sent three or more times in one run
    although it was answered with a non-retryable 4xx;
``transient_unrecovered``
    a run failed after a short transient burst: only transient faults, at
    most two in a row on any endpoint;
``effect``
    a declared :class:`~harness.Effect` (``exactly one invoice per deal``) was
    not met where the other oracles did not already say so.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

from harness._oracle_registry import (
    BUILTIN_ORACLES,
    SILENT_CLASSES,
    oracle_names,
    register_oracle,
    registered_oracles,
)
from harness._shared import wire
from harness._shared.redact import redact_text, redact_url
from harness.chaos._effects import count_creates, is_primary
from harness.chaos._faults import endpoint_in, get_fault
from harness.chaos._runner import ScenarioRun
from harness.chaos._scenario import SetValue
from harness.errors import UsageError
from harness.flow import Contract
from harness.systems import Call, Write

__all__ = [
    "CLASS_SEVERITY",
    "CLASS_WEIGHT",
    "ORACLE_CLASSES",
    "SILENT_CLASSES",
    "Finding",
    "Hit",
    "TimelineEntry",
    "judge",
    "oracle_names",
    "register_oracle",
    "timeline_of",
]

#: the built-in oracle classes, in the order findings are reported (every registered
#: one: :func:`harness.oracles.oracle_names`)
ORACLE_CLASSES: tuple[str, ...] = BUILTIN_ORACLES

#: ``silent`` (the harm goes unseen) or ``loud`` (the run failed visibly) per class
CLASS_SEVERITY: Mapping[str, str] = {
    name: ("silent" if name in SILENT_CLASSES or name == "effect" else "loud") for name in ORACLE_CLASSES
}

#: how much one finding of a class weighs in a score (silent 1.0; a loud failure that left
#: partial effects, which someone sees and can clean up, weighs least)
CLASS_WEIGHT: Mapping[str, float] = {
    name: {"partial_effect": 0.25}.get(name, 1.0 if CLASS_SEVERITY[name] == "silent" else 0.5)
    for name in ORACLE_CLASSES
}

# 4xx answers a client may retry: timeout, conflict in flight, too early, rate limit
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})
_BAD_WORD = re.compile(r"\b(None|null|nan|NaN|undefined)\b")


@dataclass(frozen=True)
class Hit:
    """One oracle violation inside one scenario run."""

    oracle: str
    object_key: str
    message: str


@dataclass(frozen=True)
class TimelineEntry:
    """One step of a run's timeline: an HTTP call or the end of a delivery.

    ``kind`` is ``call`` or ``delivery``; ``outcome`` is ``ok``, ``failed``
    or ``unknown`` (the server acted, the client could not know).
    """

    kind: str
    delivery: str
    at: float
    _: KW_ONLY
    system: str = ""
    method: str = ""
    path: str = ""
    status: int | None = None
    latency: float = 0.0
    fault: str | None = None
    outcome: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "delivery": self.delivery,
            "at": self.at,
            "system": self.system,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "latency": self.latency,
            "fault": self.fault,
            "outcome": self.outcome,
            "detail": self.detail,
        }

    def line(self) -> str:
        if self.kind == "delivery":
            return f"{self.at:9.1f}s  {self.delivery:<4} delivery {self.outcome}{': ' + self.detail if self.detail else ''}"
        status = str(self.status) if self.status is not None else "-"
        fault = f"  [{self.fault}]" if self.fault else ""
        return (
            f"{self.at:9.1f}s  {self.delivery:<4} {self.system:<8} {self.method:<6} {self.path} -> "
            f"{status} {self.outcome} ({self.latency:.1f}s){fault}"
        )


@dataclass(frozen=True)
class Finding:
    """An oracle's violation, shrunk to a minimal scenario, with a reproduce line.

    ``program`` is the minimal scenario as readable steps; ``reproduce`` one
    shell line that reruns it; ``scenario_json`` the scenario for
    ``harness replay --scenario``; ``timeline`` the minimal run's calls.
    """

    oracle: str
    mode: str
    message: str
    program: str
    reproduce: str
    timeline: tuple[TimelineEntry, ...]
    seed: int
    example: int | None
    scenario_json: str
    _: KW_ONLY
    id: str = ""
    flow: str = ""
    campaign_id: str | None = None

    @property
    def severity(self) -> str:
        """``silent`` or ``loud`` (:data:`CLASS_SEVERITY`)."""
        return CLASS_SEVERITY.get(self.oracle, "silent")

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of ``harness check --json``: ``class``, ``severity``, ``mode``, ``scenario`` ..."""
        return {
            "id": self.id,
            "class": self.oracle,
            "severity": self.severity,
            "mode": self.mode,
            "flow": self.flow,
            "message": self.message,
            "scenario": self.program,
            "scenario_json": json.loads(self.scenario_json),
            "reproduce": self.reproduce,
            "seed": self.seed,
            "example": self.example,
            "campaign_id": self.campaign_id,
            "timeline": [t.to_dict() for t in self.timeline],
        }


# -- helpers ----------------------------------------------------------------------------


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaf values by dotted path; array elements by index (``lines.0.price``)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        _flatten_into(out, f"{prefix}{key}", value)
    return out


def _flatten_into(out: dict[str, Any], name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten_into(out, f"{name}.{key}", inner)
    elif isinstance(value, list | tuple):
        for i, inner in enumerate(value):
            _flatten_into(out, f"{name}.{i}", inner)
    else:
        out[name] = value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _is_bad(value: Any, reference: Any = 1) -> bool:
    """Whether ``value`` is an empty stand-in: None, "", "None"/"null", NaN, or 0.

    Zero counts only where the reference value is a number (an amount of 0
    instead of 1500); a name that happens to read "0" is a value, not a hole.
    """
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.strip().lower() in ("", "none", "null", "nan", "undefined"):
        return True
    number = _number(value)
    if number is None:
        return False
    return math.isnan(number) or (number == 0 and _number(reference) is not None)


def _is_real(value: Any) -> bool:
    return value is not None and not isinstance(value, bool) and not _is_bad(value)


def _body_fields(request: Any) -> Mapping[str, Any]:
    """``_flatten(_body(request))``, memoised on the body and its content type.

    The reference run's requests are compared with every scenario over the same
    objects, and most payloads repeat: parsing each once is what the memo saves.
    The result is shared: callers only read it.
    """
    if not request.body:
        return {}
    return _fields_of(request.body, (request.header("Content-Type") or "").lower())


@functools.lru_cache(maxsize=4096)
def _fields_of(body: bytes, content_type: str) -> Mapping[str, Any]:
    return _flatten(_parse_body(body, content_type))


def _body(request: Any) -> dict[str, Any]:
    """A request body as nested data: JSON, or form fields with ``a[b]`` keys nested."""
    if not request.body:
        return {}
    return _parse_body(request.body, (request.header("Content-Type") or "").lower())


def _parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    request = wire.Request("POST", "http://body.invalid/", body=body)
    try:
        if "json" in content_type:
            data = request.json()
            if isinstance(data, list):
                return {"$": data}  # a top-level array: its elements are compared by index
            return data if isinstance(data, dict) else {}
        out: dict[str, Any] = {}
        for key, value in request.form():
            parts = re.findall(r"[^\[\]]+", key) or [key]
            cur = out
            for part in parts[:-1]:
                nxt = cur.get(part)
                if not isinstance(nxt, dict):
                    nxt = cur[part] = {}
                cur = nxt
            cur[parts[-1]] = value
        return out
    except (ValueError, UnicodeDecodeError):
        return {}


def _creates(writes: Sequence[Write]) -> dict[tuple[str, str], int]:
    """Primary creates per (system, kind): records a request made by naming them."""
    return dict(count_creates(writes))


def _all_creates(writes: Sequence[Write]) -> dict[tuple[str, str], int]:
    """Every create per (system, kind), derived records included (declared effects count these)."""
    counts: dict[tuple[str, str], int] = {}
    for w in writes:
        if w.action == "create":
            counts[(w.system, w.kind)] = counts.get((w.system, w.kind), 0) + 1
    return counts


def _is_transient_fault(name: str | None) -> bool:
    if name is None:
        return False
    try:
        return get_fault(name).transient
    except Exception:
        return False


# -- the oracles ------------------------------------------------------------------------


def _registered(run: ScenarioRun) -> list[Hit]:
    """The hits of the oracles registered with :func:`register_oracle`."""
    hits: list[Hit] = []
    for oracle in registered_oracles():
        if oracle.check is None:
            continue
        try:
            found = list(oracle.check(run) or ())
        except Exception as exc:
            raise UsageError(
                f"oracle {oracle.name!r} raised {type(exc).__name__}: {exc}; an oracle must "
                "return its violations, never raise"
            ) from None
        for item in found:
            if isinstance(item, Hit):
                hits.append(item if item.oracle == oracle.name else Hit(oracle.name, item.object_key, item.message))
            elif isinstance(item, tuple) and len(item) == 2:
                hits.append(Hit(oracle.name, str(item[0]), str(item[1])))
            else:
                hits.append(Hit(oracle.name, "", str(item)))
    return hits


def judge(run: ScenarioRun) -> list[Hit]:
    """Every oracle violation in ``run``, in :data:`ORACLE_CLASSES` order."""
    by_tag = run.delivery_by_tag()
    objects: dict[str, list[Any]] = {}
    for d in run.deliveries:
        objects.setdefault(d.object_key, []).append(d)
    writes: dict[str, list[Write]] = {k: [] for k in objects}
    calls: dict[str, list[Call]] = {}
    for w in run.world.writes:
        owner = by_tag.get(w.tag or "")
        if owner is not None:
            writes[owner.object_key].append(w)
    for c in run.world.calls:
        if c.tag in by_tag:
            calls.setdefault(c.tag, []).append(c)
    hits: list[Hit] = []
    flagged: set[tuple[str, str, str]] = set()
    # records some systems create once per world (a support desk's agent user on the first
    # ticket) land on whichever object comes first: compare totals too, so a record
    # that merely moved from one object to another is neither a duplicate nor a loss
    total_got = _creates([w for ws in writes.values() for w in ws])
    total_ref: dict[tuple[str, str], int] = {}
    for counts in run.reference.creates.values():
        for k, n in counts.items():
            total_ref[k] = total_ref.get(k, 0) + n
    for okey, ds in objects.items():
        ref_creates = run.reference.creates.get(okey, {})
        got = _creates(writes[okey])
        more = {k for k, n in total_got.items() if n > total_ref.get(k, 0)}
        fewer = {k for k, n in total_ref.items() if total_got.get(k, 0) < n}
        faulted = any(c.fault is not None for d in ds for c in calls.get(d.tag, []))
        hits += _duplicate_effect(okey, ds, got, ref_creates, flagged, more, writes[okey], faulted)
        hits += _silent_loss(run, okey, ds, got, ref_creates, flagged, fewer)
        hits += _bad_value(run, okey, ds, writes[okey], [c for d in ds for c in calls.get(d.tag, [])])
    for d in run.deliveries:
        hits += _unbounded_wait(run, d, calls.get(d.tag, []))
        hits += _logical_retry(d, calls.get(d.tag, []))
        hits += _transient_unrecovered(run, d, calls.get(d.tag, []))
    for okey, ds in objects.items():
        hits += _declared_effects(run, okey, ds, _all_creates(writes[okey]), flagged)
    hits += _registered(run)
    order = {name: i for i, name in enumerate(oracle_names())}
    return sorted(hits, key=lambda h: order.get(h.oracle, len(order)))


def _duplicate_effect(
    okey: str,
    ds: Sequence[Any],
    got: Mapping[tuple[str, str], int],
    ref: Mapping[tuple[str, str], int],
    flagged: set[tuple[str, str, str]],
    more: set[tuple[str, str]],
    writes: Sequence[Write],
    faulted: bool = True,
) -> list[Hit]:
    excess = [k for k, n in sorted(got.items()) if n > ref.get(k, 0)]
    if not any(d.is_duplicate for d in ds) and not faulted and not any(_resent(writes, *k) for k in excess):
        # delivered once, no call faulted, no request sent twice: nothing was done twice; a
        # changed value made the automation create something else (judged by bad_value)
        return []
    # an object shown to be processed twice (by the totals or by a request sent twice)
    # explains every excess record it has, also those built on the second customer
    if not any(k in more or _resent(writes, *k) for k in excess):
        return []
    for system, kind in excess:
        flagged.add((okey, system, kind))
    redelivered = [d.delivery_kind for d in ds if d.is_duplicate]
    cause = (
        f"after {len(redelivered)} more deliver{'y' if len(redelivered) == 1 else 'ies'} "
        f"({', '.join(redelivered)})"
        if redelivered
        else "by a retry inside one delivery"
    )
    made = ", ".join(f"{got[k]} {k[0]} {k[1]}" for k in excess)
    expected = ", ".join(str(ref.get(k, 0)) for k in excess)
    return [
        Hit(
            "duplicate_effect",
            okey,
            f"{okey}: {made} records created where the reference run created {expected} ({cause})",
        )
    ]


def _resent(writes: Sequence[Write], system: str, kind: str) -> bool:
    """Whether two creates of ``kind`` came from two sends of the same request.

    That is a duplicate whatever the totals say (a failure elsewhere in the
    scenario may lower the total); two records made by one request are not.
    """
    seen: dict[tuple[str, str, bytes], int] = {}
    for w in writes:
        if w.system != system or w.kind != kind or not is_primary(w) or w.request is None:
            continue
        key = (w.request.method, w.request.path, w.request.body)
        first = seen.setdefault(key, id(w.request))
        if first != id(w.request):
            return True
    return False


def _silent_loss(
    run: ScenarioRun,
    okey: str,
    ds: Sequence[Any],
    got: Mapping[tuple[str, str], int],
    ref: Mapping[tuple[str, str], int],
    flagged: set[tuple[str, str, str]],
    fewer: set[tuple[str, str]],
) -> list[Hit]:
    if not run.reference.ok.get(okey, False):
        return []
    if any(d.explicit_failure or d.end_state == "manual" for d in ds):
        return []
    if _defining_broken(run, ds):
        return []  # no longer the trigger's event: ignoring it is what a robust automation does
    lost = [
        (system, kind, n)
        for (system, kind), n in sorted(ref.items())
        if got.get((system, kind), 0) < n and (system, kind) in fewer
    ]
    if not lost:
        return []
    missing = [f"{system} {kind} ({got.get((system, kind), 0)} of {n})" for system, kind, n in lost]
    for system, kind, _ in lost:
        flagged.add((okey, system, kind))
    made = sorted(f"{s} {k}" for (s, k), n in got.items() if n)
    partial = f"; it made only {', '.join(made)}" if made else "; it made nothing"
    return [
        Hit(
            "silent_loss",
            okey,
            f"{okey}: the automation reported success but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing{partial}",
        )
    ]


def _defining_broken(run: ScenarioRun, ds: Sequence[Any]) -> bool:
    """Whether a value fault broke a field of these deliveries' event that makes it the trigger's event."""
    defining = tuple(run.flow.trigger.defining)
    if not defining:
        return False
    objs = {d.step.obj for d in ds}
    for step in run.scenario.steps:
        if not isinstance(step, SetValue) or step.target != "event" or step.obj not in objs:
            continue
        name = step.name
        if any(name == f or name.startswith(f + ".") or f.startswith(name + ".") for f in defining):
            return True
    return False


_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: how alike two bodies' keys must be (shared / all) for two writes to mean the same thing
_SAME_KEYS = 0.6


def _bad_value(
    run: ScenarioRun, okey: str, ds: Sequence[Any], writes: Sequence[Write], calls: Sequence[Call]
) -> list[Hit]:
    """Writes whose payload lost a real value, or that the vendor's validation refused.

    Each write is compared with the reference run's write of the same meaning
    (:func:`_same_write`): what the automation *sent*, not what the fake
    derived from it.  A refusal by the vendor's validation is a bad value only
    when the automation went on to report success; when it failed loudly, the
    refusal did its job, and what is left to say is ``partial_effect`` (the
    effects made before it), unless the run was handed to a person.
    """
    ref_calls = run.reference.calls.get(okey, ())
    problems = _lost_values(run, calls, ref_calls)
    rejections = _new_rejections(run, calls, ref_calls)
    problems += _write_contract_violations(run, calls, ref_calls)
    hits: list[Hit] = []
    loud = any(d.explicit_failure for d in ds)
    handed_over = any(d.end_state == "manual" for d in ds)
    if rejections and not loud and not handed_over:
        problems += rejections  # the vendor refused, yet the automation reported success
    if problems:
        unique = list(dict.fromkeys(problems))
        more = f" (and {len(unique) - 3} more)" if len(unique) > 3 else ""
        hits.append(Hit("bad_value", okey, f"{okey}: {'; '.join(unique[:3])}{more}"))
    elif rejections and loud and not handed_over:
        made = sorted({f"{w.system} {w.kind}" for w in writes if w.action == "create" and is_primary(w)})
        if made:
            hits.append(
                Hit(
                    "partial_effect",
                    okey,
                    f"{okey}: {rejections[0]}; the automation failed loudly but left "
                    f"{', '.join(made)} behind, for someone to find and clean up",
                )
            )
    return hits


def _lost_values(run: ScenarioRun, calls: Sequence[Call], ref_calls: Sequence[Call]) -> list[str]:
    """Writes that sent no value, or a bad one, where the reference's same write sent a real one."""
    ref_writes = [c for c in ref_calls if c.method in _WRITE_METHODS]
    problems: list[str] = []
    used: set[int] = set()
    position: dict[tuple[str, str], int] = {}
    for c in calls:
        if c.method not in _WRITE_METHODS:
            continue
        if c.status is not None and 400 <= c.status < 500:
            continue  # refused: the value never reached the system (judged as a rejection)
        endpoint = endpoint_in(run.world, c.system, c.method, c.request.path)
        idx = position.get((c.system, endpoint), 0)
        position[(c.system, endpoint)] = idx + 1
        match = _same_write(run, c, endpoint, idx, ref_writes, used)
        if match is None:
            continue
        used.add(id(match))
        ref_fields = _body_fields(match.request)
        fields = _body_fields(c.request)
        for name, ref_value in ref_fields.items():
            if not _is_real(ref_value):
                continue
            if name not in fields:
                problems.append(f"{endpoint} on {c.system} sent no {name} (reference: {_show(ref_value)})")
                continue
            value = fields[name]
            bad = _is_bad(value, ref_value)
            if not bad and isinstance(value, str) and isinstance(ref_value, str):
                bad = bool(_BAD_WORD.search(value)) and not _BAD_WORD.search(ref_value)
            if bad:
                problems.append(
                    f"{endpoint} on {c.system} sent {name} = {_show(value)} (reference: {_show(ref_value)})"
                )
    return problems


def _new_rejections(run: ScenarioRun, calls: Sequence[Call], ref_calls: Sequence[Call]) -> list[str]:
    """Writes the vendor's validation refused (400/422 naming a field) that the reference got through."""
    ref_rejected = {
        (c.system, endpoint_in(run.world, c.system, c.method, c.request.path))
        for c in ref_calls
        if c.status in (400, 422) and c.fault is None
    }
    rejections: list[str] = []
    for c in calls:
        endpoint = endpoint_in(run.world, c.system, c.method, c.request.path)
        if (
            c.fault is None
            and c.status in (400, 422)
            and (c.system, endpoint) not in ref_rejected
            and _rejected_field(run, c) is not None
        ):
            reason = _error_text(c)
            rejections.append(f"{c.system} rejected {endpoint} with {c.status}{': ' + reason if reason else ''}")
    return rejections


def _same_write(
    run: ScenarioRun, call: Call, endpoint: str, idx: int, ref_writes: Sequence[Call], used: set[int]
) -> Call | None:
    """The reference's write that means what ``call`` means, or ``None``.

    Candidates are the reference's writes to the same system, method and path
    template whose body keys are alike (at least :data:`_SAME_KEYS` shared);
    the best is the one on the same record (the same concrete path), then
    with the most keys in common, then not yet matched, then nearest in
    order.  A write with another purpose on the same endpoint (an error
    report against a success update) is never compared.
    """
    keys = set(_body_fields(call.request))
    best: tuple[tuple[int, float, int, int], Call] | None = None
    n = 0
    for ref in ref_writes:
        if ref.system != call.system or endpoint_in(run.world, ref.system, ref.method, ref.request.path) != endpoint:
            continue
        ref_keys = set(_body_fields(ref.request))
        union = keys | ref_keys
        alike = len(keys & ref_keys) / len(union) if union else 1.0
        if alike < _SAME_KEYS:
            n += 1
            continue
        score = (int(ref.request.path == call.request.path), alike, int(id(ref) not in used), -abs(n - idx))
        if best is None or score > best[0]:
            best = (score, ref)
        n += 1
    return best[1] if best is not None else None


def _rejected_field(run: ScenarioRun, call: Call) -> str | None:
    """The field the system's validation error names, or ``None`` for other refusals.

    Read through the system's descriptor (``ErrorShape.rejected_field``): a
    refusal that blames no field (a state conflict, a reused idempotency key)
    is not a bad value.
    """
    if call.response is None:
        return None
    try:
        data = call.response.json()
    except ValueError:
        return None
    return run.world.descriptor(call.system).rejected_field(data)


def _write_contract_violations(run: ScenarioRun, calls: Sequence[Call], ref_calls: Sequence[Call]) -> list[str]:
    contracts = run.flow.write_contracts
    if not contracts:
        return []

    def violations(call: Call) -> list[str]:
        out = []
        for wc in contracts:
            if wc.system != call.system or wc.method != call.method:
                continue
            if not re.fullmatch(wc.path, call.request.path):
                continue
            for v in _contract_violations(wc.contract, call.request):
                out.append(f"{call.system} {call.method} {call.request.path}: {v}")
        return out

    ref_found = {v for c in ref_calls for v in violations(c)}
    # a write the vendor refused never carried its value into the system: that refusal is
    # judged on its own (a bad value only if the automation then reported success)
    accepted = [c for c in calls if c.status is None or not 400 <= c.status < 500]
    return [v for c in accepted for v in violations(c) if v not in ref_found]


def _contract_violations(contract: Contract, request: Any) -> tuple[Any, ...]:
    """``contract``'s violations by ``request``'s body (memoised: the reference's repeat)."""
    content_type = (request.header("Content-Type") or "").lower() if request.body else ""
    try:
        return _violations_of(contract, request.body, content_type)
    except TypeError:  # a contract holding something unhashable: check it each time
        return Contract.check(contract, _body(request))


@functools.lru_cache(maxsize=4096)
def _violations_of(contract: Contract, body: bytes, content_type: str) -> tuple[Any, ...]:
    return Contract.check(contract, _parse_body(body, content_type) if body else {})


def _unbounded_wait(run: ScenarioRun, d: Any, calls: Sequence[Call]) -> list[Hit]:
    hits = []
    for c in calls:
        if c.fault in ("stall", "execute_then_timeout") and c.timeout is None:
            hits.append(
                Hit(
                    "unbounded_wait",
                    d.object_key,
                    f"{d.object_key}: {c.method} {redact_url(c.url)} has no timeout and met a stall; "
                    f"the automation would have waited forever (cut after {c.latency:.0f}s)",
                )
            )
            return hits
    deadline = run.flow.policy.timeouts.run
    took = d.ended_at - d.started_at
    if took > deadline:
        hits.append(
            Hit(
                "unbounded_wait",
                d.object_key,
                f"{d.object_key}: delivery {d.tag} took {took:.0f}s of virtual time, past the "
                f"flow's run deadline of {deadline:.0f}s",
            )
        )
    return hits


def _logical_retry(d: Any, calls: Sequence[Call]) -> list[Hit]:
    groups: dict[tuple[str, str, bytes], list[Call]] = {}
    for c in calls:
        groups.setdefault((c.method, c.url, c.request.body), []).append(c)
    for (method, url, _), same in groups.items():
        if len(same) < 3:
            continue
        rejected = [
            c for c in same[:-1] if c.status is not None and 400 <= c.status < 500 and c.status not in _RETRYABLE_4XX
        ]
        if rejected:
            return [
                Hit(
                    "logical_retry",
                    d.object_key,
                    f"{d.object_key}: {method} {redact_url(url)} sent {len(same)} times in one run "
                    f"although it was rejected with {rejected[0].status} (a logical error: retrying "
                    "cannot help)",
                )
            ]
    return []


def _transient_unrecovered(run: ScenarioRun, d: Any, calls: Sequence[Call]) -> list[Hit]:
    failed = d.end_state == "failed" if run.mode == "orchestrated" else d.explicit_failure
    if not failed or not run.reference.ok.get(d.object_key, False):
        return []
    faulted = [c for c in calls if c.fault is not None]
    if not faulted or not all(_is_transient_fault(c.fault) and c.fault != "outage" for c in faulted):
        return []
    if any(c.fault in ("stall", "execute_then_timeout") and c.timeout is None for c in faulted):
        return []  # a call that would hang forever: that is unbounded_wait's finding
    # a value broken before this delivery explains a failure on its own
    position = {id(s): i for i, s in enumerate(run.scenario.steps)}
    mine = position.get(id(d.step), len(run.scenario.steps))
    if any(
        isinstance(s, SetValue) and s.obj == d.step.obj and position[id(s)] < mine for s in run.scenario.steps
    ):
        return []
    longest: dict[tuple[str, str], int] = {}
    streak: dict[tuple[str, str], int] = {}
    for c in calls:
        key = (c.system, endpoint_in(run.world, c.system, c.method, c.request.path))
        streak[key] = streak.get(key, 0) + 1 if c.fault is not None else 0
        longest[key] = max(longest.get(key, 0), streak[key])
    if max(longest.values(), default=0) > 2:
        return []
    kinds = sorted({c.fault or "" for c in faulted})
    reason = _failure_text(d)
    return [
        Hit(
            "transient_unrecovered",
            d.object_key,
            f"{d.object_key}: delivery {d.tag} failed after {len(faulted)} transient "
            f"fault{'s' if len(faulted) > 1 else ''} ({', '.join(kinds)}; at most "
            f"{max(longest.values())} in a row on one endpoint){': ' + reason if reason else ''}",
        )
    ]


def _declared_effects(
    run: ScenarioRun,
    okey: str,
    ds: Sequence[Any],
    got: Mapping[tuple[str, str], int],
    flagged: set[tuple[str, str, str]],
) -> list[Hit]:
    hits = []
    succeeded = not any(d.explicit_failure or d.end_state == "manual" for d in ds)
    for effect in run.flow.effects:
        if (okey, effect.system, effect.kind) in flagged:
            continue
        n = got.get((effect.system, effect.kind), 0)
        if n > effect.count or (succeeded and n < effect.count and run.reference.ok.get(okey, False)):
            hits.append(
                Hit("effect", okey, f"{okey}: {effect.sentence()} expected, found {n} {effect.system} {effect.kind}")
            )
    return hits


# -- presentation -------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _error_text(call: Call) -> str:
    if call.response is None:
        return ""
    try:
        data = call.response.json()
    except ValueError:
        return ""
    message = ""
    if isinstance(data, Mapping):
        err = data.get("error")
        if isinstance(err, Mapping):
            message = str(err.get("message") or err.get("code") or "")
        elif isinstance(err, str):
            message = str(data.get("description") or err)
        else:
            message = str(data.get("message") or "")
    return redact_text(message)[:120]


def _failure_text(d: Any) -> str:
    if d.error is not None:
        return redact_text(f"{type(d.error).__name__}: {d.error}")[:160]
    if not d.ok and d.value is not None:
        return redact_text(f"returned {d.value!r}")[:160]
    return ""


def timeline_of(run: ScenarioRun) -> tuple[TimelineEntry, ...]:
    """The run's calls and delivery outcomes in order, times relative to the scenario's start.

    Deliveries are played one after the other, so each delivery's calls (in
    the order they crossed the boundary) are followed by its outcome.
    """
    start = run.clock.start
    calls: dict[str, list[Call]] = {}
    for c in run.world.calls:
        if c.tag is not None:
            calls.setdefault(c.tag, []).append(c)
    entries: list[TimelineEntry] = []
    for d in run.deliveries:
        for c in calls.get(d.tag, ()):
            entries.append(
                TimelineEntry(
                    kind="call",
                    delivery=d.tag,
                    at=round(c.started_at - start, 3),
                    system=c.system,
                    method=c.method,
                    path=redact_url(c.request.path),
                    status=c.status,
                    latency=round(c.latency, 3),
                    fault=c.fault,
                    outcome=c.outcome,
                    detail=c.error or "",
                )
            )
        detail = d.delivery_kind if d.delivery_kind != "original" else ""
        reason = _failure_text(d)
        if d.explicit_failure and reason:
            detail = f"{detail}; {reason}" if detail else reason
        entries.append(
            TimelineEntry(
                kind="delivery",
                delivery=d.tag,
                at=round(d.ended_at - start, 3),
                outcome=d.end_state,
                detail=detail,
            )
        )
    return tuple(entries)
