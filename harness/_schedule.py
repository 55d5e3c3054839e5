"""The schedule of a polling or batch automation: ticks, and the changes between them.

A schedule trigger starts its flow every ``every`` seconds with a *tick*
event; the automation then asks the systems what changed since the previous
tick ("every 15 minutes, sync the deals won since the last run").  A scenario
over a schedule is a sequence of ticks plus the changes made in the fakes
between them: :class:`Schedule` says how often ticks come, how to make one
object change in a world of fakes, and which business object a change is about
(so the oracles judge per changed object, not per tick).

A tick event has three fields::

    {"tick_id": "tick-2026-01-01T00:15:00Z",
     "scheduled_at": "2026-01-01T00:15:00Z",
     "previous_at": "2026-01-01T00:00:00Z"}

``scheduled_at`` is the tick's slot (the upper end of the window it syncs),
``previous_at`` the previous tick's slot (the lower end), ``tick_id`` names the
slot: a scheduler that fires twice for one slot sends the same ``tick_id``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import UTC, datetime
from typing import Any

from harness.errors import FlowDeclarationError

__all__ = ["TICK_FIELDS", "Schedule", "tick_event"]

#: the fields of a tick event, in order
TICK_FIELDS: tuple[str, ...] = ("tick_id", "scheduled_at", "previous_at")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tick_event(scheduled_at: float, previous_at: float, *, tick_id: str | None = None) -> dict[str, Any]:
    """The tick for the slot at ``scheduled_at`` (epoch seconds) after the one at ``previous_at``."""
    at = _iso(scheduled_at)
    return {
        "tick_id": tick_id or f"tick-{at}",
        "scheduled_at": at,
        "previous_at": _iso(previous_at),
    }


@dataclass(frozen=True)
class Schedule:
    """How a schedule trigger's scenarios are made.

    ``every`` is the seconds between ticks; ``change(world, object_id, rng)``
    makes one object change in the fakes (a deal moved to won, an invoice
    paid) the way a person or another system would, logging no automation
    write; ``key(object_id)`` is the business object's key (``"deal:123"``),
    the unit the oracles judge.  ``changed`` names the record fields the
    change sets (``dealstage``): they make the change what it is, so value
    faults never break them (a deal without its stage is not a won deal).
    """

    every: float
    change: Callable[[Any, str, random.Random], None]
    key: Callable[[str], str]
    _: KW_ONLY
    changed: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        every = self.every
        if isinstance(every, bool) or not isinstance(every, int | float) or not every > 0:
            raise FlowDeclarationError(
                f"Schedule: 'every' must be a number of seconds > 0 (900 for every 15 minutes), "
                f"got {every!r}"
            )
        for name in ("change", "key"):
            if not callable(getattr(self, name)):
                raise FlowDeclarationError(
                    f"Schedule: {name!r} must be a callable, got {getattr(self, name)!r}"
                )

    def example(self, origin: float = 1_767_225_600.0) -> Mapping[str, Any]:
        """The first tick after ``origin``: the example event of a schedule trigger."""
        return tick_event(origin + self.every, origin)
