"""Scenarios: a list of steps over a seeded world, printable as a short program.

A :class:`Scenario` is what Hypothesis draws and shrinks: deliveries of the
trigger's events (:class:`Deliver`), transport faults armed from a point on
(:class:`InjectFault`) and bad values planted in the event or in a record the
automation reads (:class:`SetValue`).  It round-trips through JSON (the
``--scenario FILE.json`` of ``harness replay``) and prints as the program of
steps a person reads in a finding::

    world = standard_world(seed=3)
    deliver(deal=2)
    fault(billing, "POST /v1/invoices", execute_then_timeout)
    deliver(deal=2, duplicate=True)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.chaos._faults import get_fault
from harness.errors import ConfigError, InvalidValueError, UsageError

__all__ = ["DELIVERY_KINDS", "VALUE_HOWS", "Deliver", "InjectFault", "Scenario", "SetValue", "Step"]

#: how a delivery relates to earlier ones for the same object
DELIVERY_KINDS: tuple[str, ...] = ("original", "duplicate", "redelivery")
#: how a value is broken
VALUE_HOWS: tuple[str, ...] = ("null", "empty", "absent", "wrong_type", "zero")

SCENARIO_VERSION = 1


@dataclass(frozen=True)
class Deliver:
    """Deliver the trigger's event for object number ``obj`` of the world.

    ``kind`` ``duplicate``: the same event as the object's last delivery, with
    ``attemptNumber`` incremented; ``redelivery``: the same object under a new
    event id.  ``late``: the event happened before the previous delivery's
    event (out-of-order delivery).
    """

    obj: int
    kind: str = "original"
    late: bool = False

    def __post_init__(self) -> None:
        if self.kind not in DELIVERY_KINDS:
            raise InvalidValueError(f"Deliver: 'kind' must be one of {DELIVERY_KINDS}, got {self.kind!r}")

    def render(self, noun: str, *, ticks: bool = False) -> str:
        if ticks:
            # a schedule's delivery: object obj changes, then the next tick fires
            # (see harness.chaos._ticks); the other kinds rerun that tick
            if self.kind == "duplicate":
                return f"tick({noun}={self.obj}, double=True)"
            if self.kind == "redelivery":
                return f"tick({noun}={self.obj}, overlapping=True)"
            late = ", late=True" if self.late else ""
            return f"change({noun}={self.obj})\ntick({noun}={self.obj}{late})"
        args = [f"{noun}={self.obj}"]
        if self.kind != "original":
            args.append(f"{self.kind}=True")
        if self.late:
            args.append("out_of_order=True")
        return f"deliver({', '.join(args)})"


@dataclass(frozen=True)
class InjectFault:
    """Arm a transport fault: the next ``times`` calls to ``system`` ``endpoint`` meet it.

    ``endpoint`` is ``"METHOD /path/{id}"`` or ``"*"`` (any call to the system).
    """

    system: str
    endpoint: str
    fault: str
    params: tuple[tuple[str, Any], ...] = ()
    times: int = 1

    def render(self, noun: str) -> str:
        args = [self.system, json.dumps(self.endpoint), self.fault]
        args += [f"{k}={json.dumps(v)}" for k, v in self.params]
        kind = get_fault(self.fault)
        if self.times != 1 and not kind.persistent and not kind.system_wide:
            args.append(f"times={self.times}")
        return f"fault({', '.join(args)})"


@dataclass(frozen=True)
class SetValue:
    """Break one value before object ``obj`` is delivered.

    ``target`` is ``"event"`` (a field of the delivered event) or a record type
    the automation reads on the trigger's system (``"deals"``, ``"contacts"``);
    ``how`` is one of :data:`VALUE_HOWS`.
    """

    obj: int
    target: str
    name: str
    how: str

    def __post_init__(self) -> None:
        if self.how not in VALUE_HOWS:
            raise InvalidValueError(f"SetValue: 'how' must be one of {VALUE_HOWS}, got {self.how!r}")

    def render(self, noun: str) -> str:
        return f"bad_value({noun}={self.obj}, {json.dumps(self.target + '.' + self.name)}, {self.how})"


Step = Deliver | InjectFault | SetValue


@dataclass(frozen=True)
class Scenario:
    """One generated case: a world seed and the steps played against it, in order.

    ``ticks``: the flow's trigger is a schedule, so each delivery is a tick
    after a change in the fakes (printed as ``change(...)`` and ``tick(...)``).
    """

    seed: int
    steps: tuple[Step, ...]
    noun: str = "obj"
    ticks: bool = False

    def __post_init__(self) -> None:
        # a second "original" delivery of an object is the same event again: a duplicate
        seen: set[int] = set()
        steps: list[Step] = []
        for step in self.steps:
            if isinstance(step, Deliver):
                if step.kind == "original" and step.obj in seen:
                    step = Deliver(step.obj, "duplicate", step.late)
                seen.add(step.obj)
            steps.append(step)
        object.__setattr__(self, "steps", tuple(steps))

    @property
    def deliveries(self) -> tuple[Deliver, ...]:
        return tuple(s for s in self.steps if isinstance(s, Deliver))

    @property
    def faults(self) -> tuple[Step, ...]:
        """Every step that is a fault: transport faults, bad values, non-original deliveries."""
        return tuple(
            s
            for s in self.steps
            if not isinstance(s, Deliver) or s.kind != "original" or s.late
        )

    def size(self) -> tuple[int, int]:
        """(deliveries, faults): what shrinking makes small."""
        return len(self.deliveries), len([s for s in self.steps if not isinstance(s, Deliver)])

    def program(self, labels: Mapping[int, str] | None = None, *, world: str = "standard_world") -> str:
        """The scenario as a short program of steps (one per line).

        ``labels`` names objects by index (``{0: "10000000002"}``); each is
        shown as a comment where the object first appears.  ``world`` is the
        name of the factory that built the world (``world = FACTORY(seed=N)``).
        """
        lines = [f"world = {world}(seed={self.seed})"]
        named: set[int] = set()
        for step in self.steps:
            line = step.render(self.noun, ticks=True) if self.ticks and isinstance(step, Deliver) else step.render(self.noun)
            obj = getattr(step, "obj", None)
            if labels and obj is not None and obj not in named and obj in labels:
                named.add(obj)
                first, sep, rest = line.partition("\n")
                line = f"{first}  # {self.noun} {obj} is {labels[obj]}{sep}{rest}"
            lines.append(line)
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def to_dict(self) -> dict[str, Any]:
        steps: list[dict[str, Any]] = []
        for s in self.steps:
            if isinstance(s, Deliver):
                steps.append({"step": "deliver", "obj": s.obj, "kind": s.kind, "late": s.late})
            elif isinstance(s, InjectFault):
                steps.append(
                    {
                        "step": "fault",
                        "system": s.system,
                        "endpoint": s.endpoint,
                        "fault": s.fault,
                        "params": dict(s.params),
                        "times": s.times,
                    }
                )
            else:
                steps.append(
                    {"step": "bad_value", "obj": s.obj, "target": s.target, "name": s.name, "how": s.how}
                )
        out: dict[str, Any] = {"version": SCENARIO_VERSION, "seed": self.seed, "noun": self.noun, "steps": steps}
        if self.ticks:
            out["ticks"] = True
        return out

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any], *, path: str = "<scenario>") -> Scenario:
        """Parse a scenario; :class:`ConfigError` naming the step and field when invalid."""
        try:
            data = json.loads(text) if isinstance(text, str) else dict(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not valid JSON ({exc})", path=path) from None
        if not isinstance(data, Mapping):
            raise ConfigError("expected a JSON object with 'seed' and 'steps'", path=path)
        seed = data.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError(f"expected an integer, got {seed!r}", path=path, key="seed", value=seed)
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list):
            raise ConfigError(
                f"expected a list of steps, got {raw_steps!r}", path=path, key="steps", value=raw_steps
            )
        steps: list[Step] = []
        for i, raw in enumerate(raw_steps):
            key = f"steps[{i}]"
            if not isinstance(raw, Mapping):
                raise ConfigError(f"expected an object, got {raw!r}", path=path, key=key, value=raw)
            try:
                steps.append(_parse_step(raw))
            except (KeyError, TypeError, ValueError, UsageError) as exc:
                reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
                raise ConfigError(
                    f"invalid step {dict(raw)!r}: {reason}; expected step 'deliver' (obj, kind, late), "
                    "'fault' (system, endpoint, fault, params, times) or 'bad_value' (obj, target, "
                    "name, how)",
                    path=path,
                    key=key,
                    value=raw,
                ) from None
        noun = data.get("noun", "obj")
        return cls(seed=seed, steps=tuple(steps), noun=str(noun), ticks=data.get("ticks") is True)


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidValueError(f"{name!r} must be an integer >= 0, got {value!r}")
    return value


def _parse_step(raw: Mapping[str, Any]) -> Step:
    kind = raw["step"]
    if kind == "deliver":
        return Deliver(_int(raw["obj"], "obj"), str(raw.get("kind", "original")), bool(raw.get("late", False)))
    if kind == "fault":
        fault = str(raw["fault"])
        get_fault(fault)  # an unknown name is a usage error naming the known ones
        params = raw.get("params", {})
        if not isinstance(params, Mapping):
            raise InvalidValueError(f"'params' must be an object, got {params!r}")
        return InjectFault(
            str(raw["system"]), str(raw["endpoint"]), fault, tuple(sorted(params.items())),
            max(1, _int(raw.get("times", 1), "times")),
        )
    if kind == "bad_value":
        return SetValue(_int(raw["obj"], "obj"), str(raw["target"]), str(raw["name"]), str(raw["how"]))
    raise InvalidValueError(f"unknown step {kind!r}")


