"""The inspection API the oracles use: records with their origin, snapshots, diffs, restore.

Fakes never mutate a stored record in place, so a :class:`Snapshot` is a
shallow copy of each system's record dicts (no deep copy of the state), and a
:func:`diff` compares records by identity before equality.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness._wire import Request
from harness.errors import InvalidTypeError
from harness.systems._base import FakeSystem
from harness.systems._world import World, Write

__all__ = [
    "Change",
    "RecordOrigin",
    "Snapshot",
    "StateDiff",
    "created_by",
    "diff",
    "records_with_origin",
    "restore",
    "snapshot",
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


def _records_of(system: Any) -> dict[str, dict[str, Mapping[str, Any]]]:
    out: dict[str, dict[str, Mapping[str, Any]]] = {}
    for kind, rows in system.records().items():
        out[kind] = {str(r.get("id", i)): r for i, r in enumerate(rows)}
    return out


def snapshot(world: World) -> Snapshot:
    """Take a snapshot of every system (shallow: records are shared, never copied)."""
    records: dict[str, dict[str, dict[str, Mapping[str, Any]]]] = {}
    states: dict[str, Any] = {}
    for system in world.systems:
        if isinstance(system, FakeSystem):
            state = system.state()
            states[system.name] = state
            records[system.name] = state[0]
        else:
            records[system.name] = _records_of(system)
    return Snapshot(records, states, len(world.calls), len(world.writes), world.clock.now())


def restore(world: World, snap: Snapshot, *, logs: bool = True) -> None:
    """Put every system back to ``snap`` (and, with ``logs``, truncate the call and write logs).

    Systems that are not :class:`~harness.systems._base.FakeSystem` (a custom
    :class:`~harness.systems.System`) cannot be restored: :class:`~harness.errors.InvalidTypeError` (a ``TypeError``) names them.
    """
    others = [s.name for s in world.systems if s.name not in snap.states]
    if others:
        raise InvalidTypeError(
            f"restore: systems {others} were not captured by the snapshot (only the harness's "
            "own fakes can be restored); call reset() on them instead"
        )
    for system in world.systems:
        system.restore_state(snap.states[system.name])  # type: ignore[attr-defined]
    if logs:
        with world._lock:
            del world.calls[snap.calls :]
            del world.writes[snap.writes :]


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


def records_with_origin(world: World, system: str | None = None) -> list[RecordOrigin]:
    """Every record now held by the fakes, with the write (and request) that created it."""
    creates: dict[tuple[str, str, str], Write] = {}
    for write in world.writes:
        if write.action == "create":
            creates.setdefault((write.system, write.kind, write.object_id), write)
    out: list[RecordOrigin] = []
    for sys in world.systems:
        if system is not None and sys.name != system:
            continue
        for kind, rows in sys.records().items():
            for i, record in enumerate(rows):
                oid = str(record.get("id", i))
                out.append(RecordOrigin(sys.name, kind, oid, record,
                                        creates.get((sys.name, kind, oid))))
    return out


def created_by(world: World, system: str, kind: str, object_id: str) -> Request | None:
    """The request that created ``system``/``kind``/``object_id`` (``None`` if seeded or absent)."""
    for write in world.writes:
        if (write.action == "create" and write.system == system and write.kind == kind
                and write.object_id == str(object_id)):
            return write.request
    return None
