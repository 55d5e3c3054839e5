"""Which writes are an automation's effects on a business object.

A request creates the record it names (``POST /v1/customers`` a customer,
``POST /api/v2/tickets.json`` a ticket); records a system makes along the way
(a support desk creates the requester and, once per account, the agent user
when a ticket is created) are *derived*.  Derived records depend on what the world
already holds, so counting them per object would blame an object for a record
another object's request made first: the duplicate and loss oracles count
only primary creates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.systems import Write

__all__ = ["count_creates", "is_primary"]


def is_primary(write: Write) -> bool:
    """Whether ``write`` creates the record its request names (its kind is in the path)."""
    if write.action != "create":
        return False
    if write.request is None:
        return True
    path = write.request.path.lower()
    kind = write.kind.lower()
    # "companies", "activities": the plural of a kind ending in "y" drops it
    stem = kind[:-1] if kind.endswith("y") else kind.rstrip("s")
    return kind in path or stem in path


def count_creates(writes: Iterable[Write]) -> Mapping[tuple[str, str], int]:
    """Primary creates per ``(system, kind)``."""
    counts: dict[tuple[str, str], int] = {}
    for w in writes:
        if is_primary(w):
            counts[(w.system, w.kind)] = counts.get((w.system, w.kind), 0) + 1
    return counts
