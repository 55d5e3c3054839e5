"""Hypothesis strategies for the harness's scenarios (public).

Use them in your own property tests::

    from hypothesis import given
    from harness.chaos import Target
    from harness.strategies import scenarios

    target = Target(flow, seed=3)

    @given(scenarios(target.space))
    def test_no_duplicate_invoices(scenario):
        run = target.run(scenario, "orchestrated")
        ...

``scenarios(space)`` draws whole scenarios; ``deliveries``, ``fault_steps``,
``transport_faults`` and ``value_faults`` draw their parts.  A
:class:`ScenarioSpace` says what may be drawn: the objects of the seeded world,
the endpoints the automation calls and the values it reads
(``Target(flow, seed=...).space`` learns it from one run without faults).
"""

from harness.chaos import (
    ScenarioSpace,
    deliveries,
    fault_steps,
    scenarios,
    transport_faults,
    value_faults,
)

__all__ = [
    "ScenarioSpace",
    "deliveries",
    "fault_steps",
    "scenarios",
    "transport_faults",
    "value_faults",
]
