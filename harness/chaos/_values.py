"""Bad values anywhere: nested event fields by dotted path and any field of any record a fake returns.

Events are broken in place at a dotted path (``data.item.user.id``; a digit
segment indexes a list: ``lines.0.price``).  Records are found in responses
through the system's :class:`~harness.systems.RecordShape` s: discovery lists
the fields of every record the automation reads (:func:`record_fields`), and
a :class:`RecordBreaker` (an interceptor) breaks one field of one record, by
its id, in every response that carries that record.  Fields a vendor sets
itself (``system_fields``) and the trigger's defining fields are never
targets.  Nothing here names a vendor.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from harness._shared.wire import Request, Response
from harness.systems import CallContext, RecordShape, SystemDescriptor

__all__ = [
    "ABSENT",
    "RecordBreak",
    "RecordBreaker",
    "break_path",
    "broken",
    "leaf_paths",
    "records_in",
]

#: how many fields of one record (or one event) discovery offers as targets
MAX_FIELDS = 40
#: how deep discovery walks nested objects
MAX_DEPTH = 6

ABSENT = object()


def _wrong_type(value: Any, *, text: bool) -> Any:
    """A value of the wrong type for ``value``.

    In JSON that is another type: a number for a string, a string for a
    number.  In a system that holds text only, it is text the field's meaning
    cannot parse: letters for a number, digits for text.
    """
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return f"{value}-x"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return "12345" if text else 12345
        return "n/a"
    return "n/a"


def broken(value: Any, how: str, *, text: bool = False) -> Any:
    """``value`` broken ``how`` (``null``, ``empty``, ``zero``, ``wrong_type``; not ``absent``)."""
    if how == "null":
        return None
    if how == "empty":
        return ""
    if how == "zero":
        return "0" if text else 0
    return _wrong_type(value, text=text)


def _split(dotted: str) -> list[str]:
    return [p for p in dotted.split(".") if p != ""]


def break_path(data: Any, dotted: str, how: str, *, text: bool = False) -> bool:
    """Break the field at ``dotted`` inside ``data`` in place; whether it was there.

    ``absent`` removes it (a list element becomes ``null``: the list keeps its
    length); the other ``how`` replace it (see :func:`broken`).  A missing
    path changes nothing: no top-level key named ``"a.b"`` is ever made.
    """
    parts = _split(dotted)
    if not parts:
        return False
    node = data
    for part in parts[:-1]:
        node = _child(node, part)
        if node is ABSENT:
            return False
    last = parts[-1]
    if isinstance(node, dict):
        if last not in node:
            return False
        if how == "absent":
            del node[last]
        else:
            node[last] = broken(node[last], how, text=text)
        return True
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        idx = int(last)
        node[idx] = None if how == "absent" else broken(node[idx], how, text=text)
        return True
    return False


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part, ABSENT) if part in node else ABSENT
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return ABSENT


def value_at(data: Any, dotted: str) -> Any:
    """The value at ``dotted`` in ``data`` (:data:`ABSENT` when missing)."""
    node = data
    for part in _split(dotted):
        node = _child(node, part)
        if node is ABSENT:
            return ABSENT
    return node


def leaf_paths(data: Any, *, skip: frozenset[str] = frozenset(), prefix: str = "") -> dict[str, Any]:
    """Every scalar field under ``data`` with a real value, by dotted path (lists: their first element).

    A name in ``skip`` matches a top-level field and every path under it, or
    a whole dotted path.  Nulls are left out (breaking a null says nothing);
    at most :data:`MAX_FIELDS` paths, the shallowest first.
    """
    found: dict[str, Any] = {}
    for path, value in _walk(data, prefix, 0):
        if path.split(".", 1)[0] in skip or path in skip:
            continue
        found[path] = value
    ordered = sorted(found.items(), key=lambda kv: (kv[0].count("."), list(found).index(kv[0])))
    return dict(ordered[:MAX_FIELDS])


def _walk(node: Any, prefix: str, depth: int) -> Iterator[tuple[str, Any]]:
    if depth > MAX_DEPTH:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str) or not key or "." in key:
                continue
            path = f"{prefix}.{key}" if prefix else key
            yield from _walk(value, path, depth + 1) if isinstance(value, dict | list) else _leaf(path, value)
    elif isinstance(node, list) and node and prefix:
        yield from _walk(node[0], f"{prefix}.0", depth + 1)


def _leaf(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    if value is not None and value != "":
        yield path, value


def _steps(at: str) -> list[tuple[str, bool]]:
    """``"data[]"`` -> ``[("data", True)]``; ``"ticket"`` -> ``[("ticket", False)]``."""
    out = []
    for part in _split(at):
        many = part.endswith("[]")
        out.append((part[:-2] if many else part, many))
    return out


def records_in(body: Any, shape: RecordShape) -> list[tuple[Any, dict[str, Any]]]:
    """The records ``shape`` locates in a response ``body``: ``(record id, its fields map)``.

    The fields map is the live dict inside ``body`` (``shape.fields`` below
    the record), so a caller may change it in place.
    """
    nodes: list[Any] = [body]
    for name, many in _steps(shape.at):
        nxt: list[Any] = []
        for node in nodes:
            child = node.get(name) if isinstance(node, dict) and name else node
            if many:
                if isinstance(child, list):
                    nxt.extend(child)
            elif child is not None:
                nxt.append(child)
        nodes = nxt
    out: list[tuple[Any, dict[str, Any]]] = []
    for record in nodes:
        if not isinstance(record, dict):
            continue
        rid = record.get(shape.id_field)
        fields: Any = record
        for name in _split(shape.fields):
            fields = fields.get(name) if isinstance(fields, dict) else None
        if isinstance(fields, dict) and rid is not None:
            out.append((rid, fields))
    return out


def response_json(response: Response | None) -> Any:
    if response is None or not 200 <= response.status < 300 or not response.body:
        return None
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class RecordBreak:
    """One armed record fault: ``name`` (a dotted path in the record's fields) of record
    ``record_id`` of ``kind`` on ``system``, broken ``how``."""

    system: str
    kind: str
    record_id: str
    name: str
    how: str


class RecordBreaker:
    """An interceptor breaking armed fields of records in every response that carries them.

    ``descriptor_of(system)`` gives each system's descriptor; ``endpoint_of(system,
    method, path)`` templates a call's endpoint.  The fake's state is never
    changed: the automation reads a bad value, the ground truth stays true.
    """

    def __init__(
        self,
        descriptor_of: Callable[[str], SystemDescriptor],
        endpoint_of: Callable[[str, str, str], str],
    ) -> None:
        self.descriptor_of = descriptor_of
        self.endpoint_of = endpoint_of
        self.breaks: list[RecordBreak] = []

    def arm(self, brk: RecordBreak) -> None:
        self.breaks.append(brk)

    def __call__(self, request: Request, ctx: CallContext, call_next: Callable[[Request], Response]) -> Response:
        response = call_next(request)
        mine = [b for b in self.breaks if b.system == ctx.system]
        if not mine:
            return response
        body = response_json(response)
        if body is None:
            return response
        descriptor = self.descriptor_of(ctx.system)
        endpoint = self.endpoint_of(ctx.system, request.method, request.path)
        body = copy.deepcopy(body)
        changed = False
        for shape, kind in descriptor.record_shapes(endpoint):
            for rid, fields in records_in(body, shape):
                for brk in mine:
                    if brk.kind == kind and str(rid) == brk.record_id:
                        changed = break_path(fields, brk.name, brk.how, text=shape.text_values) or changed
        if not changed:
            return response
        return Response(
            response.status,
            tuple((k, v) for k, v in response.headers if k.lower() != "content-length"),
            json.dumps(body, separators=(",", ":")).encode(),
        )


def record_fields(
    descriptor: SystemDescriptor, endpoint: str, response: Response | None
) -> list[tuple[str, str, str, Any]]:
    """``(kind, record id, dotted field, value)`` for every breakable field of every record in a response."""
    body = response_json(response)
    if body is None:
        return []
    out = []
    for shape, kind in descriptor.record_shapes(endpoint):
        for rid, fields in records_in(body, shape):
            for name, value in leaf_paths(fields, skip=shape.system_fields).items():
                out.append((kind, str(rid), name, value))
    return out


def event_fields(event: Mapping[str, Any], *, skip: frozenset[str]) -> dict[str, Any]:
    """Every breakable field of an event by dotted path, without the defining ones."""
    return {
        path: value
        for path, value in leaf_paths(dict(event)).items()
        if not any(path == d or path.startswith(d + ".") for d in skip)
    }
