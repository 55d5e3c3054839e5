"""Hypothesis strategies for scenarios: deliveries, fault steps, whole scenarios.

Strategies draw indices and choices only (never text): values come from the
seeded world (Faker, through :func:`harness.systems.standard_world`) and from
the trigger's ``make_event``, which keeps a scenario cheap to draw and lets one
seed reproduce everything.  Every choice lists its simplest value first, so
shrinking moves toward fewer deliveries, original deliveries, fewer faults and
the first object.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from hypothesis import strategies as st

from harness.chaos._faults import FaultKind, fault_kinds, get_fault
from harness.chaos._scenario import (
    DELIVERY_KINDS,
    VALUE_HOWS,
    Deliver,
    InjectFault,
    Scenario,
    SetValue,
    Step,
)

__all__ = [
    "ScenarioSpace",
    "deliveries",
    "fault_steps",
    "scenarios",
    "transport_faults",
    "value_faults",
]


@dataclass(frozen=True)
class ScenarioSpace:
    """What a flow's scenarios may contain, learned from one run without faults.

    ``endpoints`` are ``(system, "METHOD /path/{id}")`` pairs the automation
    called; ``value_targets`` are ``(target, name)`` pairs: ``("event",
    "objectId")`` or a record type and property it read (``("contacts",
    "email")``).  ``faults`` restricts the fault kinds (all registered when
    empty); ``ticks`` marks a schedule trigger's space (deliveries are ticks).
    """

    seed: int
    objects: int
    endpoints: tuple[tuple[str, str], ...]
    _: KW_ONLY
    value_targets: tuple[tuple[str, str], ...] = ()
    noun: str = "obj"
    faults: tuple[str, ...] = ()
    max_deliveries: int = 3
    max_faults: int = 3
    ticks: bool = False

    def kinds(self) -> list[FaultKind]:
        if self.faults:
            return [get_fault(name) for name in self.faults]
        return fault_kinds()

    def allows(self, name: str) -> bool:
        return not self.faults or name in self.faults


def deliveries(space: ScenarioSpace) -> st.SearchStrategy[Deliver]:
    """One delivery: an object index, a kind (original first) and rarely out of order."""
    kinds = [k for k in DELIVERY_KINDS if k == "original" or (space.allows(k) and space.allows("duplicate"))]
    late = st.booleans() if space.allows("out_of_order") else st.just(False)
    return st.builds(
        Deliver,
        obj=st.integers(0, max(0, space.objects - 1)),
        kind=st.sampled_from(kinds),
        late=late,
    )


def transport_faults(space: ScenarioSpace) -> st.SearchStrategy[InjectFault]:
    """A transport fault on one endpoint the automation calls (or a whole-system outage)."""
    kinds = [k for k in space.kinds() if k.boundary == "transport"]
    if not kinds or not space.endpoints:
        return st.nothing()
    systems = sorted({s for s, _ in space.endpoints})
    # strategies are built once here, not per draw: building them is what costs
    kind_st = st.sampled_from(kinds)
    endpoint_st = st.sampled_from(space.endpoints)
    system_st = st.sampled_from(systems)
    times_st = st.integers(1, 3)
    param_st = {
        k.name: [(name, st.sampled_from(values)) for name, values in sorted(k.params.items())]
        for k in kinds
    }

    @st.composite
    def draw(draw: st.DrawFn) -> InjectFault:
        kind = draw(kind_st)
        params = tuple((name, draw(values)) for name, values in param_st[kind.name])
        if kind.system_wide:
            return InjectFault(draw(system_st), "*", kind.name, params, 1)
        system, endpoint = draw(endpoint_st)
        times = 1 if kind.persistent else draw(times_st)
        return InjectFault(system, endpoint, kind.name, params, times)

    return draw()


def _set_value(obj: int, target: tuple[str, str], how: str) -> SetValue:
    return SetValue(obj, target[0], target[1], how)


def value_faults(space: ScenarioSpace) -> st.SearchStrategy[SetValue]:
    """A bad value for one object, in its event or in a record the automation reads."""
    if not space.value_targets or not space.allows("bad_value"):
        return st.nothing()
    return st.builds(
        _set_value,
        st.integers(0, max(0, space.objects - 1)),
        st.sampled_from(space.value_targets),
        st.sampled_from(VALUE_HOWS),
    )


def fault_steps(space: ScenarioSpace) -> st.SearchStrategy[Step]:
    """A transport fault or a bad value (whichever the space allows)."""
    return st.one_of(transport_faults(space), value_faults(space))


def _delivered_object(d: Deliver) -> int:
    return d.obj


def scenarios(space: ScenarioSpace) -> st.SearchStrategy[Scenario]:
    """Whole scenarios over ``space``: 1..max deliveries, 0..max faults, interleaved.

    Each fault is armed just before one of the deliveries (the first by
    default, which is where shrinking moves it).
    """
    # without duplicates allowed, each object is delivered at most once (a second
    # delivery of an object is a duplicate)
    unique = None if space.allows("duplicate") else _delivered_object
    deliveries_st = st.lists(
        deliveries(space), min_size=1, max_size=space.max_deliveries, unique_by=unique
    )
    faults_st = st.lists(fault_steps(space), max_size=space.max_faults)

    @st.composite
    def draw(draw: st.DrawFn) -> Scenario:
        delivered = draw(deliveries_st)
        faults = draw(faults_st)
        positions = st.integers(0, len(delivered) - 1)
        before = [draw(positions) for _ in faults]
        steps: list[Step] = []
        for i, d in enumerate(delivered):
            steps.extend(f for f, at in zip(faults, before, strict=True) if at == i)
            steps.append(d)
        return Scenario(seed=space.seed, steps=tuple(steps), noun=space.noun, ticks=space.ticks)

    return draw()
