"""What the user declares: a :class:`Flow` around an unmodified automation.

A flow names the automation (a callable ``handle(event)`` or a
``"path/to/file.py:function"`` / ``"package.module:function"`` string), its
owner, its trigger and the trigger's data contract, the dedupe key, the effects
it must have, its runbook, criticality and segment function, and the
orchestrator's :class:`~harness.policy.Policy`.

Everything is validated when the flow is declared: a dedupe key that raises on
the trigger's example event, an unknown field type or a negative retry count
fails there with a :class:`~harness.errors.FlowDeclarationError` naming the
field and the fix.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from harness._schedule import Schedule
from harness.errors import FlowDeclarationError, NotFoundError, UsageError, did_you_mean
from harness.policy import Policy

__all__ = [
    "FIELD_TYPES",
    "MISSING",
    "Contract",
    "Effect",
    "Field",
    "Flow",
    "Trigger",
    "Violation",
    "WriteContract",
    "load_callable",
    "load_flow",
    "load_object",
]

Event = Mapping[str, Any]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: the value a :class:`Violation` carries for a field the event does not have
#: (``lookup`` returns it too), so that a missing field and ``None`` stay apart
MISSING: Any = object()


def _is_int(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    return isinstance(v, str) and v.strip().lstrip("-").isdigit()


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return not (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return False
        return not (math.isnan(f) or math.isinf(f))
    return False


def _is_datetime(v: Any) -> bool:
    if _is_int(v):
        return True
    if isinstance(v, str):
        try:
            datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    return False


#: field type name -> (predicate, sentence)
FIELD_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "str": (lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string"),
    "int": (_is_int, "an integer"),
    "id": (lambda v: _is_int(v) or (isinstance(v, str) and v.strip() != ""), "an identifier"),
    "number": (_is_number, "a finite number"),
    "money": (lambda v: _is_number(v) and float(v) >= 0, "a non-negative amount"),
    "bool": (lambda v: isinstance(v, bool) or v in ("true", "false"), "a boolean"),
    "email": (lambda v: isinstance(v, str) and bool(_EMAIL.match(v)), "an email address"),
    "datetime": (_is_datetime, "a timestamp (epoch milliseconds or ISO 8601)"),
    "enum": (lambda v: isinstance(v, str), "one of the allowed values"),
}


@dataclass(frozen=True)
class Violation:
    """One broken rule of a data contract: a logical error."""

    field: str
    value: Any
    rule: str

    def __str__(self) -> str:
        shown = "missing" if self.value is MISSING else repr(self.value)
        return f"{self.field} = {shown}: expected {self.rule}"


@dataclass(frozen=True)
class Field:
    """One field of a data contract.

    ``name`` is a dotted path into the event (``"properties.email"``);
    ``type`` a key of :data:`FIELD_TYPES`; ``allowed`` restricts values;
    ``pattern`` is a regular expression the string value must match fully;
    ``meaning`` says in words what the field is (shown in reports).
    """

    name: str
    type: str = "str"
    _: KW_ONLY
    required: bool = True
    meaning: str = ""
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise FlowDeclarationError(f"Field: 'name' must be a non-empty string, got {self.name!r}")
        if self.type not in FIELD_TYPES:
            raise FlowDeclarationError(
                f"Field {self.name!r}: unknown type {self.type!r}"
                f"{did_you_mean(self.type, FIELD_TYPES)}; expected one of "
                f"{', '.join(sorted(FIELD_TYPES))}"
            )
        if self.allowed is not None:
            object.__setattr__(self, "allowed", tuple(str(a) for a in self.allowed))
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise FlowDeclarationError(
                    f"Field {self.name!r}: 'pattern' {self.pattern!r} is not a valid regular "
                    f"expression ({exc})"
                ) from None

    def rule(self) -> str:
        """The rule as a sentence: ``"required; an email address"``."""
        parts = ["required" if self.required else "optional", FIELD_TYPES[self.type][1]]
        if self.allowed:
            parts.append("one of " + ", ".join(repr(a) for a in self.allowed))
        if self.pattern:
            parts.append(f"matching /{self.pattern}/")
        return "; ".join(parts)

    def check(self, event: Event) -> Violation | None:
        value = lookup(event, self.name)
        if value is MISSING or value is None:
            if self.required:
                return Violation(self.name, value, self.rule())
            return None
        ok, _ = FIELD_TYPES[self.type]
        if not ok(value):
            return Violation(self.name, value, self.rule())
        if self.allowed is not None and str(value) not in self.allowed:
            return Violation(self.name, value, self.rule())
        if self.pattern is not None and not re.fullmatch(self.pattern, str(value)):
            return Violation(self.name, value, self.rule())
        return None


def lookup(data: Any, dotted: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; a module-private sentinel when absent."""
    cur = data
    for part in dotted.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        elif isinstance(cur, Sequence) and not isinstance(cur, str) and part.isdigit():
            idx = int(part)
            if idx >= len(cur):
                return MISSING
            cur = cur[idx]
        else:
            return MISSING
    return cur


@dataclass(frozen=True)
class Contract:
    """A data contract: what each field means and when it is valid."""

    fields: tuple[Field, ...] = ()

    def __post_init__(self) -> None:
        fields = tuple(self.fields)
        for f in fields:
            if not isinstance(f, Field):
                raise FlowDeclarationError(
                    f"Contract: every field must be a harness.Field, got {f!r}"
                )
        names = [f.name for f in fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise FlowDeclarationError(f"Contract: field {dupes[0]!r} is declared twice")
        object.__setattr__(self, "fields", fields)

    def check(self, event: Event) -> tuple[Violation, ...]:
        """Every violation of ``event``, in field order (empty when valid)."""
        if not isinstance(event, Mapping):
            return (Violation("<event>", event, "a JSON object"),)
        return tuple(v for f in self.fields if (v := f.check(event)) is not None)

    def field(self, name: str) -> Field:
        """The field called ``name``; :class:`~harness.errors.NotFoundError` listing the fields otherwise."""
        for f in self.fields:
            if f.name == name:
                return f
        names = [f.name for f in self.fields]
        raise NotFoundError(
            f"Contract: no field {name!r}{did_you_mean(name, names)}; its fields are {names}"
        )


@dataclass(frozen=True)
class WriteContract:
    """A data contract on what the automation writes to a system.

    Applies to requests whose method equals ``method`` and whose path matches
    the regular expression ``path`` on the system named ``system``; the body
    (form fields with Stripe's ``a[b]`` keys flattened to ``a.b``, or JSON) is
    checked against ``contract`` before the request is sent.
    """

    system: str
    method: str
    path: str
    contract: Contract
    _: KW_ONLY
    meaning: str = ""

    def __post_init__(self) -> None:
        try:
            re.compile(self.path)
        except re.error as exc:
            raise FlowDeclarationError(
                f"WriteContract {self.system} {self.method} {self.path!r}: invalid path "
                f"pattern ({exc})"
            ) from None
        object.__setattr__(self, "method", self.method.upper())


@dataclass(frozen=True)
class Effect:
    """An effect the flow must have on a system for each accepted object.

    ``count`` is how many records of ``kind`` on ``system`` one object should
    produce (``exactly one invoice per deal``: ``Effect("stripe", "invoice")``).
    """

    system: str
    kind: str
    _: KW_ONLY
    count: int = 1
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.count, int) or self.count < 0:
            raise FlowDeclarationError(
                f"Effect {self.system}.{self.kind}: 'count' must be an integer >= 0, got "
                f"{self.count!r}"
            )

    def sentence(self) -> str:
        n = {0: "no", 1: "exactly one"}.get(self.count, f"exactly {self.count}")
        return self.description or f"{n} {self.system} {self.kind} per object"


@dataclass(frozen=True)
class Trigger:
    """What starts a flow: a named kind of event with its contract.

    ``object_key`` returns the business object an event is about (the deal, not
    the webhook delivery); ``example`` is a valid event used to validate the
    declaration; ``make_event(world, object_id, rng)`` builds a real-shaped
    event for an object that exists in a world of fakes (used by scenarios).
    ``defining`` are the dotted paths of the fields that make the event what it
    is (its type, the changed property and its new value): an event without
    them is a different event, so value faults never break them; the trigger's
    contract exercises them instead.

    ``redelivery_keeps_id``: a vendor's retry resends the same event under the
    same ``event_id_field`` (Stripe); by default a redelivery is a new event
    with a new id about the same object (HubSpot).  ``schedule`` makes this a
    schedule trigger (see :func:`harness.triggers.schedule_trigger`): its
    events are ticks and its objects change in the fakes between ticks.
    ``noun`` names one object in printed scenarios (``deliver(invoice=0)``);
    by default the second part of ``name`` (``hubspot.deal.closedwon``: deal).
    """

    name: str
    system: str
    contract: Contract
    object_key: Callable[[Event], str]
    example: Mapping[str, Any]
    _: KW_ONLY
    make_event: Callable[..., dict[str, Any]] | None = None
    objects: Callable[[Any], Sequence[str]] | None = None
    event_id_field: str = "eventId"
    attempt_field: str | None = "attemptNumber"
    description: str = ""
    defining: tuple[str, ...] = ()
    redelivery_keeps_id: bool = False
    schedule: Schedule | None = None
    noun: str = ""

    def event_id(self, event: Any) -> str | None:
        """The vendor's id of this delivery: the value at the dotted ``event_id_field``.

        A dotted path reaches a header kept beside the body
        (``"headers.X-Shopify-Event-Id"``); ``None`` when the event has none.
        """
        if not self.event_id_field or not isinstance(event, Mapping):
            return None
        value = lookup(event, self.event_id_field)
        return None if value is MISSING or value is None else str(value)


def callable_spec(fn: Callable[..., Any]) -> str | None:
    """``"path/to/file.py:name"`` or ``"package.module:name"`` for a named module-level callable."""
    module_name = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", "")
    if not module_name or not qual or "<" in qual or "." in qual:
        return None
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if module_name.startswith("harness_user_") or module_name == "__main__":
        return f"{file}:{qual}" if file else None
    return f"{module_name}:{qual}"


def load_callable(spec: str | Callable[..., Any], *, what: str = "automation") -> Callable[..., Any]:
    """Resolve ``"path/to/file.py:function"`` or ``"package.module:function"``.

    Raises :class:`UsageError` naming the spec when the file is missing, the
    module raises at import, the attribute is absent or not callable.
    """
    if callable(spec):
        return spec
    obj = load_object(spec, what=what)
    if not callable(obj):
        attr = str(spec).rpartition(":")[2]
        kind = type(obj).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        raise UsageError(f"{what} {spec!r}: {attr!r} is {article} {kind}, not a callable")
    return obj  # type: ignore[no-any-return,unused-ignore]


def load_flow(spec: str) -> Flow:
    """Load a :class:`Flow` from ``"path/to/flow.py"`` (attribute ``flow``) or ``"...:name"``."""
    if isinstance(spec, str) and ":" not in spec.replace(":\\", "") and spec.endswith(".py"):
        spec = f"{spec}:flow"
    obj = load_object(spec, what="flow")
    if not isinstance(obj, Flow):
        raise UsageError(
            f"flow {spec!r}: expected a harness.Flow, got {type(obj).__name__}; declare "
            "`flow = harness.Flow(...)` in that file"
        )
    return obj


def load_object(spec: str, *, what: str = "automation") -> Any:
    """Import the object named by ``"path/to/file.py:name"`` or ``"package.module:name"``."""
    if not isinstance(spec, str) or ":" not in spec:
        raise UsageError(
            f"{what} {spec!r}: expected 'path/to/file.py:function' or 'package.module:function'"
        )
    target, _, attr = spec.rpartition(":")
    if not attr.isidentifier():
        raise UsageError(f"{what} {spec!r}: {attr!r} is not a valid function name")
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_file():
            raise UsageError(f"{what} {spec!r}: file {target!r} does not exist")
        module_name = "harness_user_" + re.sub(r"\W", "_", str(path.resolve()))
        module = sys.modules.get(module_name)
        if module is None:
            module_spec = importlib.util.spec_from_file_location(module_name, path)
            if module_spec is None or module_spec.loader is None:
                raise UsageError(f"{what} {spec!r}: cannot import {target!r}")
            module = importlib.util.module_from_spec(module_spec)
            # the file's own folder first, so its sibling imports work as they do for the user
            sys.path.insert(0, str(path.resolve().parent))
            try:
                sys.modules[module_name] = module
                module_spec.loader.exec_module(module)
            except BaseException as exc:
                sys.modules.pop(module_name, None)
                if isinstance(exc, KeyboardInterrupt):
                    raise
                raise UsageError(
                    f"{what} {spec!r}: importing {target!r} raised "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            finally:
                with contextlib.suppress(ValueError):
                    sys.path.remove(str(path.resolve().parent))
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            raise UsageError(f"{what} {spec!r}: no module named {exc.name!r}") from None
        except Exception as exc:
            raise UsageError(
                f"{what} {spec!r}: importing {target!r} raised {type(exc).__name__}: {exc}"
            ) from None
    if not hasattr(module, attr):
        names = [n for n in dir(module) if not n.startswith("_")]
        raise UsageError(
            f"{what} {spec!r}: {target!r} has no attribute {attr!r}{did_you_mean(attr, names)}"
        )
    return getattr(module, attr)


def _default_result(value: Any) -> bool:
    """An automation's return value means failure when it says so.

    A mapping whose ``status`` is ``failed`` or ``error``, or whose ``ok`` or
    ``success`` is ``False``; an object whose ``ok`` or ``success`` attribute
    is ``False`` (a result dataclass, an SDK's response).  Anything else
    (``None`` included) is success.
    """
    if isinstance(value, Mapping):
        status = value.get("status")
        if isinstance(status, str) and status.lower() in ("failed", "error"):
            return False
        return not any(value.get(name) is False for name in ("ok", "success"))
    if value is None or isinstance(value, str | bytes | int | float | Sequence):
        return True
    for name in ("ok", "success"):
        try:
            flag = getattr(value, name, None)
        except Exception:  # a property that raises says nothing about success
            continue
        if flag is False:
            return False
    return True


_CRITICALITIES = ("low", "normal", "high", "critical")


@dataclass(frozen=True)
class Flow:
    """An automation plus what the harness knows about it.

    ``dedupe_key`` is a callable over the event or a format string over its
    fields (``"deal:{objectId}"``); it must identify the business object, not
    the delivery.  ``segment`` returns a segment name for an event (``"new"``,
    ``"existing"``); it may call the systems (it runs before the run, outside
    fault injection).  ``result`` says whether the automation's return value
    means success (default: anything but a mapping whose ``status`` is
    ``failed`` or ``error``, or a mapping or object whose ``ok`` or
    ``success`` is ``False``).

    ``world`` is the world the flow runs against in campaigns and replays:
    ``FACTORY(seed) -> harness.systems.World`` or ``"path/to/file.py:FACTORY"``
    (default: :func:`harness.systems.standard_world`, every bundled fake).
    ``reset`` is called before every world the harness builds or puts back
    (each scenario, each reference run), for state outside HTTP that the
    automation keeps (its own database, files, caches).
    """

    name: str
    automation: Callable[..., Any] | str
    trigger: Trigger
    _: KW_ONLY
    owner: str = ""
    dedupe_key: Callable[[Event], str] | str | None = None
    effects: tuple[Effect, ...] = ()
    write_contracts: tuple[WriteContract, ...] = ()
    runbook: str = ""
    criticality: str = "normal"
    segment: Callable[[Event], str] | None = None
    result: Callable[[Any], bool] = _default_result
    policy: Policy = field(default_factory=Policy)
    description: str = ""
    world: Callable[[int], Any] | str | None = None
    reset: Callable[[], Any] | None = None
    #: ``"HOST:PORT"`` endpoints the automation may reach for real in a campaign (a local
    #: test database); every other connection is refused and reported
    passthrough: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", self.name):
            raise FlowDeclarationError(
                f"Flow: 'name' must be 1-100 letters, digits, '_', '-' or '.', got {self.name!r}"
            )
        where = f"Flow {self.name!r}"
        if not (callable(self.automation) or isinstance(self.automation, str)):
            raise FlowDeclarationError(
                f"{where}: 'automation' must be a callable or 'path.py:function', got "
                f"{self.automation!r}"
            )
        if not isinstance(self.trigger, Trigger):
            raise FlowDeclarationError(
                f"{where}: 'trigger' must be a harness.Trigger (see harness.triggers), got "
                f"{self.trigger!r}"
            )
        if self.criticality not in _CRITICALITIES:
            raise FlowDeclarationError(
                f"{where}: 'criticality' must be one of {', '.join(_CRITICALITIES)}, got "
                f"{self.criticality!r}{did_you_mean(str(self.criticality), _CRITICALITIES)}"
            )
        if not isinstance(self.policy, Policy):
            raise FlowDeclarationError(f"{where}: 'policy' must be a harness.Policy")
        if self.world is not None and not (
            callable(self.world) or (isinstance(self.world, str) and ":" in self.world)
        ):
            raise FlowDeclarationError(
                f"{where}: 'world' must be a callable FACTORY(seed) -> World or "
                f"'path/to/file.py:FACTORY', got {self.world!r}"
            )
        if self.reset is not None and not callable(self.reset):
            raise FlowDeclarationError(
                f"{where}: 'reset' must be a callable taking no arguments, got {self.reset!r}"
            )
        object.__setattr__(self, "effects", tuple(self.effects))
        object.__setattr__(self, "write_contracts", tuple(self.write_contracts))
        if isinstance(self.passthrough, str):
            object.__setattr__(self, "passthrough", (self.passthrough,))
        object.__setattr__(self, "passthrough", tuple(self.passthrough))
        for spec in self.passthrough:
            if not isinstance(spec, str) or not re.fullmatch(r"\[?[^\s\[\]]+\]?:\d{1,5}", spec):
                raise FlowDeclarationError(
                    f"{where}: 'passthrough' entries must be 'HOST:PORT' (for example "
                    f"'127.0.0.1:5432'), got {spec!r}"
                )
        if self.dedupe_key is not None:
            if not (callable(self.dedupe_key) or isinstance(self.dedupe_key, str)):
                raise FlowDeclarationError(
                    f"{where}: 'dedupe_key' must be a callable or a format string such as "
                    f"'deal:{{objectId}}', got {self.dedupe_key!r}"
                )
            try:
                key = self.key_for(self.trigger.example)
            except Exception as exc:
                raise FlowDeclarationError(
                    f"{where}: 'dedupe_key' raised {type(exc).__name__}: {exc} on the trigger's "
                    f"example event {dict(self.trigger.example)!r}; it must return a string for "
                    "every valid event"
                ) from None
            if not isinstance(key, str) or not key:
                raise FlowDeclarationError(
                    f"{where}: 'dedupe_key' returned {key!r} for the trigger's example event; "
                    "expected a non-empty string"
                )

    def key_for(self, event: Event) -> str | None:
        """The dedupe key of ``event`` (``None`` when the flow declares none)."""
        if self.dedupe_key is None:
            return None
        if isinstance(self.dedupe_key, str):
            return self.dedupe_key.format(**event)
        return str(self.dedupe_key(event))

    def segment_for(self, event: Event) -> str:
        """The segment of ``event``; ``"all"`` without a segment function, ``"unknown"`` if it fails."""
        if self.segment is None:
            return "all"
        try:
            value = self.segment(event)
        except Exception:
            return "unknown"
        return str(value) if value else "unknown"

    def handler(self) -> Callable[..., Any]:
        """The automation as a callable (imported on first use)."""
        return load_callable(self.automation)

    def world_factory(self) -> Callable[[int], Any] | None:
        """The world factory (imported on first use); ``None`` for the standard world."""
        if self.world is None:
            return None
        return load_callable(self.world, what="world")

    def world_spec(self) -> str | None:
        """How a shell line names the world: ``"path/to/file.py:FACTORY"`` (``None``: standard).

        A callable is named by its module's file and its name; one that cannot
        be named (a lambda, a closure) gives ``None`` for the shell line only.
        """
        if self.world is None or isinstance(self.world, str):
            return self.world
        return callable_spec(self.world)

    def world_name(self) -> str:
        """The factory's name as the printed scenario shows it (``"standard_world"``)."""
        if self.world is None:
            return "standard_world"
        if isinstance(self.world, str):
            return self.world.rpartition(":")[2]
        return str(getattr(self.world, "__qualname__", None) or getattr(self.world, "__name__", "world"))

    def check_event(self, event: Event) -> tuple[Violation, ...]:
        """Violations of the trigger's data contract by ``event``."""
        return self.trigger.contract.check(event)

    def handle(self, event: Event, *, wait: float | None = None) -> Any:
        """Run the automation on ``event`` through the built-in orchestrator (production use).

        Call this from your web handler instead of the bare function: real
        HTTP, the wall clock, the ledger at ``$HARNESS_LEDGER_URL`` (default
        ``.harness/ledger.db``).  One orchestrator per flow is created on first
        use and shared; thread-safe.  The delivery is stored in the ledger
        before the automation makes any call; then the run goes on here for at
        most ``wait`` seconds (default 10; 0 returns at once).  Returns a
        :class:`harness.orchestrator.RunResult` (``.end_state``, ``.value``,
        ``.inbox_item``) when the run ended within that time, else a
        :class:`harness.orchestrator.RunAccepted` (``.end_state`` is
        ``accepted``, ``running`` or ``waiting``): the process's worker
        threads finish it, and a run left by a process that died is resumed
        by the next one.
        """
        # The one import of a higher room by a declaration, and why it waits for
        # the first call: the orchestrator brings the ledger (SQLAlchemy) and the
        # HTTP wrappers, which `import harness` must not load for a module that
        # only declares flows (measured: 1.1 s vs 1.8-2.6 s on a loaded 2-core box).
        # tests/core/test_architecture_imports.py lists it as the only exception.
        from harness.orchestrator import orchestrator_for

        return orchestrator_for(self).handle(event, wait=wait)  # type: ignore[call-arg]


def check_declarations(flow: Flow, world: Any) -> None:
    """Check ``flow``'s effects and write contracts against what ``world``'s systems declare.

    Raises :class:`FlowDeclarationError` (exit status 2) before any scenario
    runs when an :class:`Effect` or a :class:`WriteContract` names a system
    the world does not have, or an effect names a record kind its system does
    not store, with the closest name and the valid choices: a typo such as
    ``Effect("stripe", "invoices")`` would otherwise become a permanent
    "found 0 stripe invoices" finding.
    """
    systems = {str(s.name): s for s in getattr(world, "systems", ())}

    def system_of(what: str, name: str) -> Any:
        if name not in systems:
            raise FlowDeclarationError(
                f"flow {flow.name!r}: {what} names system {name!r}, which this flow's world does "
                f"not have{did_you_mean(name, systems)}; its systems: "
                f"{', '.join(sorted(systems)) or 'none'} (declare a fake for it in the flow's world)"
            )
        return systems[name]

    for effect in flow.effects:
        what = f"Effect({effect.system!r}, {effect.kind!r})"
        system = system_of(what, effect.system)
        kinds = tuple(str(k) for k in getattr(system, "kinds", ()) or ())
        if kinds and effect.kind not in kinds:
            raise FlowDeclarationError(
                f"flow {flow.name!r}: {what}: {effect.system} stores no record kind "
                f"{effect.kind!r}{did_you_mean(effect.kind, kinds)}; its kinds: {', '.join(kinds)}"
            )
    for wc in flow.write_contracts:
        system_of(f"WriteContract({wc.system!r}, {wc.method!r}, {wc.path!r})", wc.system)
