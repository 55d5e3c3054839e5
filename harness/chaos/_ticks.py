"""Deliveries of a schedule trigger: ticks, with changes in the fakes between them.

For a flow whose trigger has a :class:`~harness._schedule.Schedule`, a
scenario's deliveries are read as ticks (the scenario itself is unchanged, so
strategies, shrinking and replay work as for webhooks):

* ``deliver(obj=i)``: object ``i`` changes in the fakes, then the next tick
  fires (its window, ``previous_at`` to ``scheduled_at``, holds the change);
* ``duplicate``: the scheduler fires the same tick again (same ``tick_id``,
  same window): a double tick;
* ``redelivery``: an overlapping tick: a second run over the window of object
  ``i``'s tick, fired now under a new ``tick_id`` (two workers, a manual rerun);
* ``out_of_order``: the tick fires late (half a period after its slot), its
  window unchanged.

Each change happens one second after the clock's current time, so it falls
strictly inside the next tick's window; ticks fire on the schedule's slots
(the first slot after the clock), and the virtual clock moves to each.
"""

from __future__ import annotations

import copy
import math
import random
from typing import Any

from harness._schedule import Schedule, tick_event
from harness._shared.wire import VirtualClock

__all__ = ["Ticker"]


class Ticker:
    """The ticks of one scenario (or reference run, or discovery) in one world."""

    def __init__(
        self, schedule: Schedule, world: Any, clock: VirtualClock, object_ids: list[str], seed: int
    ) -> None:
        self.schedule = schedule
        self.world = world
        self.clock = clock
        self.object_ids = object_ids
        self.seed = seed
        self.origin = clock.now()
        self.previous = self.origin
        # object index -> (its last tick, that tick's window start)
        self.last: dict[int, tuple[dict[str, Any], float]] = {}
        self.overlaps = 0

    def breakable(self, obj: int, record_id: str, name: str) -> bool:
        """Whether a value fault may break field ``name`` of a record read for object ``obj``'s tick.

        A poller reads many records per tick: only the changed object's own
        record belongs to it, and the fields the change set (the schedule's
        ``changed``) make the change what it is, like a webhook's defining fields.
        """
        if record_id != self.object_ids[obj]:
            return False
        return not any(name == c or name.startswith(c + ".") for c in self.schedule.changed)

    def _next_slot(self) -> float:
        every = self.schedule.every
        k = math.floor((self.clock.now() - self.origin) / every) + 1
        return self.origin + k * every

    def original(self, obj: int, *, late: bool = False) -> dict[str, Any]:
        """Object ``obj`` changes, then the next tick fires."""
        self.clock.advance(1.0)
        rng = random.Random(f"{self.seed}:{obj}:change")
        self.schedule.change(self.world, self.object_ids[obj], rng)
        slot = self._next_slot()
        self.clock.advance(slot - self.clock.now())
        event = tick_event(slot, self.previous)
        self.last[obj] = (event, self.previous)
        self.previous = slot
        if late:
            self.clock.advance(self.schedule.every / 2)
        return copy.deepcopy(event)

    def double(self, obj: int) -> dict[str, Any]:
        """The scheduler fires object ``obj``'s tick again: the same event."""
        if obj not in self.last:
            return self.original(obj)
        return copy.deepcopy(self.last[obj][0])

    def overlapping(self, obj: int) -> dict[str, Any]:
        """A second run over the window of object ``obj``'s tick, fired now, under a new tick id."""
        if obj not in self.last:
            return self.original(obj)
        self.overlaps += 1
        _, start = self.last[obj]
        now = self.clock.now()
        event = tick_event(now, start)
        event["tick_id"] = f"{event['tick_id']}-rerun{self.overlaps}"
        return event
