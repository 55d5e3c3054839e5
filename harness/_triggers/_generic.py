"""Triggers declared by the user: a generic JSON webhook, and a schedule.

:func:`webhook_trigger` turns one example event, the dotted path of the
object key and a data contract into a :class:`~harness.flow.Trigger`; events
for scenarios are the example with the object key (and the event id) varied
per object, unless the user gives a ``make_event`` that builds them from the
fakes.  :func:`schedule_trigger` declares a polling or batch automation: its
events are ticks and its scenarios change objects in the fakes between ticks
(see :mod:`harness._schedule`).
"""

from __future__ import annotations

import copy
import json
import random
import re
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from harness._schedule import TICK_FIELDS, Schedule, tick_event
from harness.errors import FlowDeclarationError, NotFoundError
from harness.flow import MISSING, Contract, Field, Trigger, lookup

__all__ = ["schedule_trigger", "webhook_trigger"]

_OBJECTS = 6
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}")


def _absent(value: Any) -> bool:
    return value is MISSING


def _get(data: Any, path: str) -> Any:
    return lookup(data, path)


def _set(data: Any, path: str, value: Any) -> None:
    """``data[a][b] = value`` for ``"a.b"`` (list indices by number)."""
    parts = path.split(".")
    cur = data
    for part in parts[:-1]:
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    last = parts[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value


def _like(value: Any, rng: random.Random) -> Any:
    """A new value of the same shape as ``value``: same type, length, prefix and character classes."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        digits = max(1, len(str(abs(value))))
        return rng.randrange(10 ** (digits - 1) if digits > 1 else 1, 10**digits)
    text = str(value)
    try:
        uuid.UUID(text)
    except ValueError:
        pass
    else:
        new = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return new.upper() if text.isupper() else new
    cut = max(text.rfind("_"), text.rfind("-")) + 1
    prefix, rest = text[:cut], text[cut:]
    out = []
    for ch in rest:
        if ch.isdigit():
            out.append(rng.choice(string.digits))
        elif ch.isupper():
            out.append(rng.choice(string.ascii_uppercase))
        elif ch.islower():
            out.append(rng.choice(string.ascii_lowercase))
        else:
            out.append(ch)
    return prefix + "".join(out)


def _nth(value: Any, i: int) -> str:
    """The ``i``-th object id derived from the example's (``i`` = 0: the example's own)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value + i)
    text = str(value)
    m = re.search(r"(\d+)$", text)
    if m:
        return text[: m.start()] + str(int(m.group(1)) + i).zfill(len(m.group(1)))
    return text if i == 0 else f"{text}-{i}"


@dataclass(frozen=True)
class _PathKey:
    """The object key of an event: ``noun:`` plus the value at a dotted path."""

    noun: str
    path: str

    def __call__(self, event: Mapping[str, Any]) -> str:
        value = _get(event, self.path)
        if value is None or _absent(value):
            raise NotFoundError(f"the event has no {self.path!r}")
        return f"{self.noun}:{value}"


@dataclass(frozen=True)
class _DerivedObjects:
    """Object ids derived from the example's object key."""

    first: Any

    def __call__(self, world: Any) -> list[str]:
        return [_nth(self.first, i) for i in range(_OBJECTS)]


@dataclass(frozen=True)
class _DerivedEvents:
    """Events made from the example: the object key set to the object, a new event id."""

    example_json: str
    key_path: str
    id_path: str | None

    def __call__(self, world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
        event = json.loads(self.example_json)
        current = _get(event, self.key_path)
        value: Any = str(object_id)
        if isinstance(current, int) and not isinstance(current, bool) and value.lstrip("-").isdigit():
            value = int(value)
        _set(event, self.key_path, value)
        if self.id_path is not None:
            _set(event, self.id_path, _like(_get(event, self.id_path), rng))
        return dict(event)


def _load_example(example: Mapping[str, Any] | str | PathLike[str], where: str) -> dict[str, Any]:
    if isinstance(example, Mapping):
        data: Any = copy.deepcopy(dict(example))
    elif isinstance(example, str | PathLike):
        path = Path(example)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FlowDeclarationError(f"{where}: example file {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FlowDeclarationError(
                f"{where}: example file {str(path)!r} is not readable JSON ({exc})"
            ) from None
    else:
        raise FlowDeclarationError(
            f"{where}: 'example' must be a JSON object (a dict) or the path of a .json file, got "
            f"{type(example).__name__}"
        )
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
        data = data[0]  # a sender that posts an array of events (HubSpot) sends one per element
    if not isinstance(data, dict):
        raise FlowDeclarationError(f"{where}: the example event must be a JSON object, got {data!r:.80}")
    return data


def _require_path(example: Mapping[str, Any], path: str, what: str, where: str) -> Any:
    if not isinstance(path, str) or not path:
        raise FlowDeclarationError(f"{where}: {what} must be a dotted path such as 'data.item.id', got {path!r}")
    value = _get(example, path)
    if _absent(value):
        raise FlowDeclarationError(
            f"{where}: {what} {path!r} is not in the example event (its top-level fields: "
            f"{', '.join(sorted(example))}); give the dotted path of a field the example has"
        )
    return value


def _check_name(name: str, where: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise FlowDeclarationError(
            f"{where}: 'name' must be 1-100 letters, digits, '_', '-' or '.', got {name!r}"
        )


def webhook_trigger(
    name: str,
    *,
    example: Mapping[str, Any] | str | PathLike[str],
    object_key: str,
    contract: Contract | None = None,
    event_id: str | None = "id",
    defining: Sequence[str] = (),
    objects: Callable[[Any], Sequence[str]] | None = None,
    make_event: Callable[[Any, str, random.Random], dict[str, Any]] | None = None,
    system: str = "webhook",
    description: str = "",
    redelivery_keeps_id: bool = True,
    attempt_field: str | None = None,
    noun: str | None = None,
) -> Trigger:
    """A trigger for any JSON webhook, declared from one example event.

    ``example`` is the event (a dict, or the path of a JSON file holding it);
    ``object_key`` the dotted path of the id of the business object the event
    is about (``"data.item.id"``): the trigger's object key is
    ``"<noun>:<that id>"`` (``noun`` defaults to the path's second-to-last part,
    ``item``).  ``contract`` is the event's data contract (default: the object
    key and the event id are required); ``event_id`` the dotted path of the
    delivery's id (``None`` when the sender has none); ``defining`` the paths of
    the fields that make the event what it is (its type, the changed field and
    its new value): value faults never break them.

    Scenarios need objects and events: ``objects(world)`` lists object ids that
    exist in the fakes and ``make_event(world, object_id, rng)`` builds a
    real-shaped event for one; without them, objects are the example's id and
    its neighbours (``1041``, ``1042``... or ``ord_7``, ``ord_8``...) and events
    are the example with the object key set to the object and a new event id of
    the same shape.  ``redelivery_keeps_id`` (default: most senders retry the
    same event) says whether a redelivery keeps the event id; ``attempt_field``
    names a delivery-attempt counter the sender increments on a retry.

    Every argument is checked against the example: a path it lacks, or an
    example its own contract rejects, is a :class:`~harness.errors.FlowDeclarationError`.
    Pass the result to :class:`~harness.Flow` (``trigger=``), or to
    :func:`~harness.triggers.register_trigger` to name it on the command line.
    """
    where = f"webhook_trigger {name!r}"
    _check_name(name, where)
    data = _load_example(example, where)
    key_value = _require_path(data, object_key, "'object_key'", where)
    defining = _check_paths(data, event_id, attempt_field, tuple(defining), where)
    contract = _checked_contract(contract, data, object_key, event_id, where)
    for label, fn in (("objects", objects), ("make_event", make_event)):
        if fn is not None and not callable(fn):
            raise FlowDeclarationError(f"{where}: {label!r} must be a callable, got {fn!r}")
    parts = object_key.split(".")
    word = noun or (parts[-2] if len(parts) > 1 else name.split(".")[-1])
    return Trigger(
        name=name,
        system=system,
        contract=contract,
        object_key=_PathKey(word, object_key),
        example=data,
        make_event=make_event or _DerivedEvents(json.dumps(data, sort_keys=True), object_key, event_id),
        objects=objects or _DerivedObjects(key_value),
        event_id_field=event_id or "",
        attempt_field=attempt_field,
        description=description or f"a webhook whose event is about {word} {object_key!r}",
        defining=defining,
        redelivery_keeps_id=redelivery_keeps_id,
        noun=word,
    )


def _check_paths(
    data: Mapping[str, Any],
    event_id: str | None,
    attempt_field: str | None,
    defining: tuple[str, ...],
    where: str,
) -> tuple[str, ...]:
    """Every path a webhook trigger names must be in its example event; ``defining`` back."""
    if event_id is not None:
        _require_path(data, event_id, "'event_id'", where)
    if attempt_field is not None:
        _require_path(data, attempt_field, "'attempt_field'", where)
        if "." in attempt_field:
            raise FlowDeclarationError(
                f"{where}: 'attempt_field' must be a top-level field of the event (a retry "
                f"increments it), got {attempt_field!r}"
            )
    for path in defining:
        _require_path(data, path, "'defining' path", where)
    return defining


def _checked_contract(
    contract: Contract | None,
    data: Mapping[str, Any],
    object_key: str,
    event_id: str | None,
    where: str,
) -> Contract:
    """The trigger's contract (default: the object key and event id required); the example must pass it."""
    if contract is None:
        fields = [Field(object_key, "id", meaning="the object the event is about")]
        if event_id is not None and event_id != object_key:
            fields.append(Field(event_id, "id", meaning="the sender's id of this event"))
        contract = Contract(tuple(fields))
    elif not isinstance(contract, Contract):
        raise FlowDeclarationError(f"{where}: 'contract' must be a harness.Contract, got {contract!r}")
    violations = contract.check(data)
    if violations:
        raise FlowDeclarationError(
            f"{where}: the example event breaks the trigger's own contract: "
            f"{'; '.join(str(v) for v in violations)}; fix the example or the contract"
        )
    return contract


def parse_every(every: float | str, where: str = "schedule_trigger") -> float:
    """Seconds from ``900``, ``"15m"``, ``"1h"``, ``"30s"`` or ``"1d"``."""
    if isinstance(every, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", every)
        if not m:
            raise FlowDeclarationError(
                f"{where}: 'every' {every!r} is not a duration; write seconds (900) or '15m', "
                "'1h', '30s', '1d'"
            )
        return float(m.group(1)) * _UNITS[m.group(2) or "s"]
    return every


@dataclass(frozen=True)
class _TickKey:
    def __call__(self, event: Mapping[str, Any]) -> str:
        return f"tick:{event['scheduled_at']}"


@dataclass(frozen=True)
class _FirstTick:
    """``make_event`` of a schedule trigger: change the object, then the next tick."""

    schedule: Schedule

    def __call__(self, world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
        now = world.clock.now()
        self.schedule.change(world, object_id, rng)
        return tick_event(now + self.schedule.every, now)


TICK_CONTRACT = Contract(
    (
        Field("tick_id", "str", meaning="the tick's slot; a scheduler firing twice sends the same id"),
        Field("scheduled_at", "datetime", meaning="the tick's slot: sync what changed up to here"),
        Field("previous_at", "datetime", meaning="the previous tick's slot: sync what changed after it"),
    )
)


def schedule_trigger(
    name: str,
    *,
    every: float | str,
    objects: Callable[[Any], Sequence[str]],
    change: Callable[[Any, str, random.Random], None],
    key: Callable[[str], str] | str,
    system: str,
    changed: Sequence[str] = (),
    description: str = "",
    noun: str | None = None,
) -> Trigger:
    """A trigger for a polling or batch automation: a tick every ``every``.

    ``every`` is seconds or ``"15m"``/``"1h"``; the automation receives a tick
    (``tick_id``, ``scheduled_at``, ``previous_at``, ISO 8601 UTC) and asks
    ``system`` what changed in the window.  For scenarios, ``objects(world)``
    lists the ids of objects that can change, ``change(world, object_id, rng)``
    makes one change in the fakes (logging no automation write: a person or
    another system did it), and ``key`` names the business object of an id
    (a callable, or a prefix: ``"deal"`` gives ``"deal:<id>"``).  The oracles
    judge per changed object: the changes of a tick are the work it must do.
    ``changed`` names the record fields ``change`` sets (``("dealstage",)``):
    value faults leave them alone, as they do a webhook's defining fields.
    """
    where = f"schedule_trigger {name!r}"
    _check_name(name, where)
    if not callable(objects) or not callable(change):
        raise FlowDeclarationError(f"{where}: 'objects' and 'change' must be callables")
    if isinstance(key, str):
        prefix = key
        key_fn: Callable[[str], str] = _PrefixKey(prefix)
    elif callable(key):
        key_fn = key
    else:
        raise FlowDeclarationError(f"{where}: 'key' must be a callable or a prefix such as 'deal'")
    schedule = Schedule(every=parse_every(every, where), change=change, key=key_fn, changed=tuple(changed))
    word = noun or (key if isinstance(key, str) else "obj")
    return Trigger(
        name=name,
        system=system,
        contract=TICK_CONTRACT,
        object_key=_TickKey(),
        example=schedule.example(),
        make_event=_FirstTick(schedule),
        objects=objects,
        event_id_field=TICK_FIELDS[0],
        attempt_field=None,
        description=description or f"every {schedule.every:g}s: what changed on {system} since the last tick",
        defining=("scheduled_at",),
        schedule=schedule,
        noun=word,
    )


@dataclass(frozen=True)
class _PrefixKey:
    prefix: str

    def __call__(self, object_id: str) -> str:
        return f"{self.prefix}:{object_id}"
