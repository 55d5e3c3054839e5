"""Coverage first, then chance (issue 16): the enumeration phase and what a campaign tried."""

from __future__ import annotations

from harness.chaos import Scenario, run_campaign
from harness.chaos._coverage import Coverage, enumerated, possible_faults
from harness.chaos._runner import Target
from harness.chaos._scenario import Deliver, InjectFault, SetValue
from harness.flow import Flow
from harness.ledger import Ledger


def test_the_enumeration_tries_every_endpoint_and_kind_and_every_value(target: Target) -> None:
    space = target.space
    possible = possible_faults(space)
    phase = enumerated(space, 10_000)
    armed = {(s.system, s.endpoint, s.fault) for sc in phase for s in sc.steps if isinstance(s, InjectFault)}
    values = {(s.target, s.name, s.how) for sc in phase for s in sc.steps if isinstance(s, SetValue)}
    assert armed == set(possible["transport"])
    assert values == set(possible["value"])
    kinds = {d.kind for sc in phase for d in sc.deliveries} | {"out_of_order" for sc in phase if any(d.late for d in sc.deliveries)}
    assert {"duplicate", "redelivery", "out_of_order"} <= kinds
    # the write whose duplicate costs money is among the first faults, not the last
    assert any(
        isinstance(s, InjectFault) and s.endpoint.startswith("POST ")
        for sc in phase[:5]
        for s in sc.steps
    )


def test_a_small_budget_still_tries_every_transport_kind(target: Target) -> None:
    kinds = {k for _, _, k in possible_faults(target.space)["transport"]}
    phase = enumerated(target.space, len(kinds) + 3)
    assert len(phase) == len(kinds) + 3
    assert {s.fault for sc in phase for s in sc.steps if isinstance(s, InjectFault)} == kinds


def test_each_half_of_an_enumerated_scenario_is_on_its_own_object(target: Target) -> None:
    for sc in enumerated(target.space, 10_000):
        broken = {s.obj for s in sc.steps if isinstance(s, SetValue)}
        faulted_delivery = [
            sc.steps[i + 1].obj  # type: ignore[union-attr]
            for i, s in enumerate(sc.steps)
            if isinstance(s, InjectFault)
        ]
        assert not broken & set(faulted_delivery), sc.program()


def test_coverage_counts_only_faults_that_met_a_call(target: Target) -> None:
    coverage = Coverage.of(target.space)
    endpoint = next(e for s, e in target.space.endpoints if s == "stripe")
    sc = Scenario(target.seed, (InjectFault("stripe", endpoint, "server_error", (("status", 503),)), Deliver(0)), noun="deal")
    coverage.record(sc, target.run(sc, "bare"))
    assert coverage.tried == {("stripe", endpoint, "server_error"): 1}
    never = Scenario(target.seed, (InjectFault("stripe", "GET /nowhere", "stall"), Deliver(0)), noun="deal")
    coverage.record(never, target.run(never, "bare"))
    assert ("stripe", "GET /nowhere", "stall") not in coverage.tried


def test_the_campaign_reports_coverage_per_endpoint_and_kind(deal_won: Flow, sqlite_ledger: Ledger) -> None:
    result = run_campaign(deal_won, ledger=sqlite_ledger, examples=100, seed=5, modes=("bare",), shrink=False)
    cov = result.coverage["bare"]
    assert 0 < cov["enumerated"] <= 70  # at most 70% of the budget
    assert cov["totals"]["transport"]["tried"] == cov["totals"]["transport"]["possible"] > 0
    assert cov["totals"]["trigger"] == {"tried": 3, "possible": 3}
    assert cov["per_kind"]["execute_then_timeout"]["tried"] == cov["per_kind"]["execute_then_timeout"]["possible"]
    assert all(v["tried"] == v["possible"] for v in cov["per_endpoint"].values())
