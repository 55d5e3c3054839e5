"""A process that delivers one order through the orchestrator (for the 2-process dedupe test)."""

from __future__ import annotations

import random
from typing import Any


def deliver(url: str, barrier: Any, results: Any) -> None:
    from _orch_fakes import Desk
    from _orch_support import invoices, make_flow, order

    from harness import VirtualClock
    from harness.ledger import Ledger
    from harness.orchestrator import Orchestrator
    from harness.systems import World
    from harness.systems._stripe import Stripe

    clock = VirtualClock()
    world = World([Stripe(), Desk()], clock=clock)
    with Ledger.open(url) as ledger:
        orch = Orchestrator(make_flow("bill"), ledger=ledger, clock=clock, rng=random.Random(0))
        barrier.wait(timeout=60)
        with world.activate():
            result = orch.handle(order())
        results.put((result.end_state, len(invoices(world))))
