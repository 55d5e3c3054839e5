"""Coverage first, then chance: the enumeration phase of a campaign and what it tried.

Random scenarios spread faults thin: in an automation with a dozen endpoints
the one call whose duplicate costs money may never meet the fault that
matters.  So a campaign first plays :func:`enumerated` scenarios, which try
every (endpoint x applicable transport fault), every system's outage, every
(value target x how) and every trigger fault at least once, as far as the
example budget allows (at most :data:`ENUMERATION_SHARE` of it), and only then
draws random combinations.  Each enumerated scenario pairs one value fault on
one object with one transport fault on the next object's delivery, so the
two halves are judged apart (the oracles judge per object) and the phase
costs about half as many examples as its faults.

:class:`Coverage` counts what a campaign actually tried: a transport fault is
*tried* when it met a call (the fakes' call log says so), a value fault when
its object was delivered, a trigger fault when it was played.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from harness.chaos._faults import FaultKind, endpoint_in
from harness.chaos._scenario import VALUE_HOWS, Deliver, InjectFault, Scenario, SetValue, Step
from harness.chaos._strategies import ScenarioSpace

__all__ = ["ENUMERATION_SHARE", "Coverage", "enumerated", "possible_faults"]

#: the largest share of a campaign's examples the enumeration phase may take
ENUMERATION_SHARE = 0.7

_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _transport_kinds(space: ScenarioSpace) -> list[FaultKind]:
    return [k for k in space.kinds() if k.boundary == "transport"]


def _ordered_endpoints(space: ScenarioSpace) -> list[tuple[str, str]]:
    # writes first: a fault on a write is the one whose consequence (a duplicate, a loss)
    # costs most; the order within each group is the automation's own call order
    writes = [e for e in space.endpoints if e[1].split(" ", 1)[0] in _WRITES]
    reads = [e for e in space.endpoints if e not in writes]
    return writes + reads


def possible_faults(space: ScenarioSpace) -> dict[str, list[tuple[str, ...]]]:
    """Every fault a campaign over ``space`` can try, by boundary.

    ``transport``: ``(system, endpoint, kind)`` (``endpoint`` ``"*"`` for a
    system-wide outage); ``value``: ``(target, name, how)``; ``trigger``:
    ``(kind,)`` for duplicate, redelivery and out-of-order delivery.
    """
    transport: list[tuple[str, ...]] = []
    kinds = _transport_kinds(space)
    for system, endpoint in _ordered_endpoints(space):
        transport += [(system, endpoint, k.name) for k in kinds if not k.system_wide]
    systems = list(dict.fromkeys(s for s, _ in space.endpoints))
    transport += [(s, "*", k.name) for k in kinds if k.system_wide for s in systems]
    value: list[tuple[str, ...]] = []
    if space.allows("bad_value"):
        value = [(target, name, how) for target, name in space.value_targets for how in VALUE_HOWS]
    trigger: list[tuple[str, ...]] = [(k,) for k in ("duplicate", "redelivery", "out_of_order") if space.allows(k)]
    if not space.allows("duplicate"):
        trigger = [t for t in trigger if t[0] == "out_of_order"]
    return {"transport": transport, "value": value, "trigger": trigger}


def _diagonal(groups: list[list[Any]]) -> list[Any]:
    """Every item of every group, in diagonals: layer ``j`` takes item ``(j + k) % len`` of group ``k``.

    With groups per fault kind over the same endpoints, the first layer puts
    each kind on a different endpoint, so a budget that ends early has still
    tried every kind and spread them over many endpoints (not every kind on
    the first endpoint and nothing on the last).
    """
    out: list[Any] = []
    longest = max((len(g) for g in groups), default=0)
    for j in range(longest):
        for k, group in enumerate(groups):
            if j < len(group):
                out.append(group[(j + k) % len(group)])
    return out


def enumerated(space: ScenarioSpace, budget: int) -> list[Scenario]:
    """The enumeration phase for ``space``: at most ``budget`` scenarios, simplest parameters.

    Transport faults are taken in diagonals over (kind x endpoint, writes
    first) and value faults over (target x how), so a budget too small for
    everything still tries every kind, spread over the endpoints, and every
    target.  Objects rotate so the phase does not judge one object only.
    """
    if budget <= 0 or space.objects <= 0:
        return []
    faults = possible_faults(space)
    kinds = {k.name: k for k in _transport_kinds(space)}
    by_kind: dict[str, list[tuple[str, ...]]] = {}
    for t in faults["transport"]:
        by_kind.setdefault(t[2], []).append(t)
    transport = _diagonal(list(by_kind.values()))
    by_target: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for v in faults["value"]:
        by_target.setdefault((v[0], v[1]), []).append(v)
    value = _diagonal(list(by_target.values()))
    n = space.objects
    out: list[Scenario] = []
    for i, kind_name in enumerate(t[0] for t in faults["trigger"]):
        obj = i % n
        if kind_name == "out_of_order":
            steps: tuple[Step, ...] = (Deliver((obj + 1) % n), Deliver(obj, late=True)) if n > 1 else (
                Deliver(obj), Deliver(obj, "duplicate", late=True)
            )
        else:
            steps = (Deliver(obj), Deliver(obj, kind_name))
        out.append(Scenario(seed=space.seed, steps=steps, noun=space.noun, ticks=space.ticks))
    for i in range(max(len(transport), len(value))):
        a, b = (2 * i) % n, (2 * i + 1) % n
        halves: list[tuple[Step, ...]] = []
        if i < len(value):
            target, name, how = value[i]
            halves.append((SetValue(a, target, name, how), Deliver(a)))
        if i < len(transport):
            system, endpoint, kind_name = transport[i]
            kind = kinds[kind_name]
            params = tuple((p, values[0]) for p, values in sorted(kind.params.items()) if values)
            obj = b if halves else a
            halves.append((InjectFault(system, endpoint, kind_name, params, 1), Deliver(obj)))
        if n == 1:  # one object cannot carry both halves apart
            out += [Scenario(seed=space.seed, steps=h, noun=space.noun, ticks=space.ticks) for h in halves]
        else:
            out.append(Scenario(seed=space.seed, steps=tuple(s for h in halves for s in h), noun=space.noun, ticks=space.ticks))
    return out[:budget]


@dataclass
class Coverage:
    """What a campaign tried of what it could try (see :func:`possible_faults`)."""

    possible: Mapping[str, list[tuple[str, ...]]]
    _: KW_ONLY
    tried: dict[tuple[str, ...], int] = field(default_factory=dict)
    enumerated: int = 0

    @classmethod
    def of(cls, space: ScenarioSpace) -> Coverage:
        return cls(possible=possible_faults(space))

    def record(self, scenario: Scenario, run: Any) -> None:
        """Count the faults ``run`` (the played ``scenario``) actually tried."""
        tags = {d.tag for d in run.deliveries}
        for c in run.world.calls:
            if c.fault is None or c.tag not in tags:
                continue
            key: tuple[str, ...]
            if c.fault == "outage":
                key = (c.system, "*", "outage")
            else:
                key = (c.system, endpoint_in(run.world, c.system, c.method, c.request.path), c.fault)
            self.tried[key] = self.tried.get(key, 0) + 1
        delivered = {d.obj for d in scenario.deliveries}
        for step in scenario.steps:
            if isinstance(step, SetValue) and step.obj in delivered:
                key = (step.target, step.name, step.how)
                self.tried[key] = self.tried.get(key, 0) + 1
            elif isinstance(step, Deliver):
                for kind in (step.kind if step.kind != "original" else None, "out_of_order" if step.late else None):
                    if kind is not None:
                        self.tried[(kind,)] = self.tried.get((kind,), 0) + 1

    def counts(self, boundary: str) -> tuple[int, int]:
        """(tried, possible) for ``boundary``."""
        possible = self.possible.get(boundary, [])
        return sum(1 for p in possible if self.tried.get(p)), len(possible)

    def per_endpoint(self) -> dict[str, tuple[int, int]]:
        """``"system METHOD /path"`` -> (transport fault kinds tried, applicable)."""
        out: dict[str, tuple[int, int]] = {}
        for p in self.possible.get("transport", []):
            name = f"{p[0]} {p[1]}"
            tried, total = out.get(name, (0, 0))
            out[name] = (tried + (1 if self.tried.get(p) else 0), total + 1)
        return out

    def per_kind(self) -> dict[str, tuple[int, int]]:
        """Fault kind -> (endpoints or targets it was tried on, possible)."""
        out: dict[str, tuple[int, int]] = {}
        for boundary, items in self.possible.items():
            for p in items:
                kind = p[-1] if boundary != "trigger" else p[0]
                name = f"bad_value:{kind}" if boundary == "value" else kind
                tried, total = out.get(name, (0, 0))
                out[name] = (tried + (1 if self.tried.get(p) else 0), total + 1)
        return out

    def untried(self, boundary: str) -> list[tuple[str, ...]]:
        return [p for p in self.possible.get(boundary, []) if not self.tried.get(p)]

    def summary(self) -> str:
        """``faults tried: transport 70/72, values 65/65, trigger 3/3 (enumerated 72 of 100)``."""
        parts = []
        for boundary, label in (("transport", "transport"), ("value", "values"), ("trigger", "trigger")):
            tried, total = self.counts(boundary)
            if total:
                parts.append(f"{label} {tried}/{total}")
        return "faults tried: " + (", ".join(parts) or "none possible")

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: totals per boundary, per endpoint and per kind, and what was never tried."""
        return {
            "enumerated": self.enumerated,
            "totals": {b: dict(zip(("tried", "possible"), self.counts(b), strict=True)) for b in self.possible},
            "per_endpoint": {k: {"tried": t, "possible": p} for k, (t, p) in self.per_endpoint().items()},
            "per_kind": {k: {"tried": t, "possible": p} for k, (t, p) in self.per_kind().items()},
            "untried": {b: [" ".join(p) for p in self.untried(b)] for b in self.possible},
        }
