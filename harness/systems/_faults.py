"""Response surgery for fault injection: drop or replace one field of a JSON response.

Paths are dotted: ``properties.email``, ``associations.contacts.results.0.id``;
``*`` walks every element of a list or every value of an object
(``results.*.id``).  The response is re-encoded once; everything else (status,
headers) is kept.
"""

from __future__ import annotations

import json
from typing import Any

from harness._shared.wire import Response
from harness.errors import InvalidValueError, NotFoundError

__all__ = ["drop_field", "has_field", "set_field"]

_DROP = object()


def _walk(node: Any, parts: list[str], value: Any) -> int:
    """Apply to every match of ``parts`` under ``node``; return how many matched."""
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
    elif isinstance(node, list):
        if head == "*":
            keys = list(range(len(node)))
        elif head.lstrip("-").isdigit() and -len(node) <= int(head) < len(node):
            keys = [int(head)]
        else:
            keys = []
    else:
        return 0
    hits = 0
    for key in keys:
        if rest:
            hits += _walk(node[key], rest, value)
        elif value is _DROP:
            if isinstance(node, dict):
                del node[key]
            else:
                node[key] = None  # a list keeps its length: a dropped element reads as null
            hits += 1
        else:
            node[key] = value
            hits += 1
    return hits


def _apply(response: Response, dotted_path: str, value: Any, missing_ok: bool) -> Response:
    if not dotted_path or dotted_path.startswith(".") or dotted_path.endswith("."):
        raise InvalidValueError(f"field path must be dotted names like 'properties.email': {dotted_path!r}")
    try:
        payload = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        if missing_ok:
            return response
        raise NotFoundError(f"{dotted_path}: the response body is not JSON") from None
    hits = _walk(payload, dotted_path.split("."), value)
    if hits == 0:
        if missing_ok:
            return response
        raise NotFoundError(f"{dotted_path}: no such field in the response")
    return Response(
        response.status, response.headers, json.dumps(payload, separators=(",", ":")).encode()
    )


def drop_field(response: Response, dotted_path: str, *, missing_ok: bool = True) -> Response:
    """``response`` with the field at ``dotted_path`` removed (list elements become null).

    When the path matches nothing (or the body is not JSON) the response is
    returned unchanged, or ``KeyError`` is raised with ``missing_ok=False``.
    """
    return _apply(response, dotted_path, _DROP, missing_ok)


def set_field(
    response: Response, dotted_path: str, value: Any, *, missing_ok: bool = True
) -> Response:
    """``response`` with the field at ``dotted_path`` replaced by ``value`` (``None``: null)."""
    return _apply(response, dotted_path, value, missing_ok)


def has_field(response: Response, dotted_path: str) -> bool:
    """Whether ``dotted_path`` matches at least one field of the JSON body."""
    try:
        payload = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return False
    probe = json.loads(json.dumps(payload))
    return _walk(probe, dotted_path.split("."), _DROP) > 0
