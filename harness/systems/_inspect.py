"""The inspection types the oracles use: records with their origin, snapshots, diffs.

Taking and restoring a snapshot walks a world's systems, so those live on
:class:`~harness.systems.World` (and as functions in :mod:`harness.systems._world`).

Fakes never mutate a stored record in place, so a :class:`Snapshot` is a
shallow copy of each system's record dicts (no deep copy of the state), and a
:func:`diff` compares records by identity before equality.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness._shared.wire import Request
from harness.systems._log import Write

__all__ = [
    "Change",
    "RecordOrigin",
    "Snapshot",
    "StateDiff",
    "diff",
    "records_of",
]

Records = Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]]


@dataclass(frozen=True, slots=True)
class RecordOrigin:
    """A record as it is now, with the write and request that created it.

    ``created_by`` and ``create`` are ``None`` for seeded records (made before
    any delivery, not by the automation).
    """

    system: str
    kind: str
    object_id: str
    record: Mapping[str, Any]
    create: Write | None

    @property
    def created_by(self) -> Request | None:
        return self.create.request if self.create is not None else None

    @property
    def tag(self) -> str | None:
        return self.create.tag if self.create is not None else None


@dataclass(frozen=True)
class Snapshot:
    """The state of every system in a world at one moment (see :func:`snapshot`)."""

    records: Records
    states: Mapping[str, Any]
    calls: int
    writes: int
    at: float

    def count(self, system: str, kind: str) -> int:
        """How many ``kind`` records ``system`` held."""
        return len(self.records.get(system, {}).get(kind, {}))


@dataclass(frozen=True, slots=True)
class Change:
    """One record that differs between two snapshots; ``fields`` lists the changed keys."""

    system: str
    kind: str
    object_id: str
    change: Literal["added", "removed", "changed"]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    fields: tuple[str, ...]


@dataclass(frozen=True)
class StateDiff:
    """Every change between two snapshots, ordered by system, kind and id."""

    changes: tuple[Change, ...]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def of(self, system: str, kind: str | None = None) -> tuple[Change, ...]:
        return tuple(
            c for c in self.changes if c.system == system and (kind is None or c.kind == kind)
        )

    @property
    def added(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.change == "added")

    @property
    def removed(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.change == "removed")

    @property
    def changed(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.change == "changed")


def records_of(system: Any) -> dict[str, dict[str, Mapping[str, Any]]]:
    """A system's records by kind and id (for a system that is not a harness fake)."""
    out: dict[str, dict[str, Mapping[str, Any]]] = {}
    for kind, rows in system.records().items():
        out[kind] = {str(r.get("id", i)): r for i, r in enumerate(rows)}
    return out


def diff(before: Snapshot, after: Snapshot) -> StateDiff:
    """Records added, removed or changed from ``before`` to ``after``."""
    changes: list[Change] = []
    for system in sorted(set(before.records) | set(after.records)):
        b_sys = before.records.get(system, {})
        a_sys = after.records.get(system, {})
        for kind in sorted(set(b_sys) | set(a_sys)):
            b_kind = b_sys.get(kind, {})
            a_kind = a_sys.get(kind, {})
            for oid in sorted(set(b_kind) | set(a_kind)):
                old, new = b_kind.get(oid), a_kind.get(oid)
                if old is new:
                    continue
                if old is None:
                    changes.append(Change(system, kind, oid, "added", None, new, tuple(sorted(new or {}))))
                elif new is None:
                    changes.append(Change(system, kind, oid, "removed", old, None, ()))
                elif old != new:
                    fields = tuple(sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)))
                    changes.append(Change(system, kind, oid, "changed", old, new, fields))
    return StateDiff(tuple(changes))
