"""An async automation's breaker wait is an asyncio sleep on the run's clock: other tasks keep running."""

from __future__ import annotations

from collections.abc import Callable

import _client_automations as autos
from _orch_support import make_flow, order

from harness import VirtualClock
from harness.orchestrator import Orchestrator
from harness.systems import World


def test_an_open_circuit_wait_in_async_code_does_not_block_the_event_loop(
    world: World, clock: VirtualClock, orchestrate: Callable[..., Orchestrator]
) -> None:
    orch = orchestrate(make_flow(autos.bills_while_a_ticker_runs))
    breaker = orch.breakers.get("stripe")
    for _ in range(orch.breakers.policy.failures):  # Stripe failed just now: its circuit is open
        breaker.record(clock.now(), transient_failure=True)
    cooldown = orch.breakers.policy.cooldown
    with world.activate():
        result = orch.handle(order())
    assert result.end_state == "succeeded", result.error
    waited = [e for e in result.run.events if e.kind == "waiting"]
    assert [e.detail["reason"] for e in waited] == ["circuit open"]
    # the create waited for the cooldown; the ticker ran meanwhile, a tick a second
    assert result.value["billed"] >= cooldown
    assert result.value["ticks"] == [1.0, 2.0, 3.0, 4.0, 5.0]
