"""Intercom's search query language for ``POST /contacts/search``.

A query is ``{"field", "operator", "value"}`` or ``{"operator": "AND"|"OR",
"value": [queries...]}``.  Operators: ``=`` and ``!=`` (case-insensitive),
``IN`` and ``NIN`` (a list value), ``>`` and ``<`` (numbers, timestamps),
``~`` and ``!~`` (contains), ``^`` (starts with), ``$`` (ends with).  A field
is a dotted path (``custom_attributes.plan``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["OPERATORS", "check_query", "matches"]

OPERATORS = ("=", "!=", "IN", "NIN", ">", "<", "~", "!~", "^", "$")


def check_query(query: Any) -> None:
    """Raise ``ValueError`` saying what is wrong with ``query`` (before any record is read)."""
    if not isinstance(query, dict):
        raise ValueError("query must be an object")
    operator = query.get("operator")
    if operator in ("AND", "OR"):
        parts = query.get("value")
        if not isinstance(parts, list) or not parts:
            raise ValueError(f"{operator} needs a list of queries")
        for part in parts:
            check_query(part)
        return
    if not isinstance(query.get("field"), str) or operator not in OPERATORS:
        raise ValueError(f"each query needs a field and one of the operators {', '.join(OPERATORS)}")
    if operator in ("IN", "NIN") and not isinstance(query.get("value"), list):
        raise ValueError(f"{operator} needs a list value")


def matches(record: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    """Whether ``record`` satisfies ``query`` (already checked with :func:`check_query`)."""
    operator = str(query["operator"])
    if operator in ("AND", "OR"):
        results = [matches(record, q) for q in query["value"]]
        return all(results) if operator == "AND" else any(results)
    value = query.get("value")
    actual: Any = record
    for part in str(query["field"]).split("."):
        actual = actual.get(part) if isinstance(actual, Mapping) else None
    if operator in ("IN", "NIN"):
        hit = isinstance(value, list) and actual in value
        return hit if operator == "IN" else not hit
    if operator in ("=", "!="):
        if actual is not None and value is not None:
            equal = str(actual).lower() == str(value).lower()
        else:
            equal = bool(actual == value)
        return equal if operator == "=" else not equal
    if actual is None or value is None:
        return operator == "!~"
    if operator in (">", "<"):
        try:
            a, b = float(actual), float(value)
        except (TypeError, ValueError):
            return False
        return a > b if operator == ">" else a < b
    text, want = str(actual).lower(), str(value).lower()
    return {"~": want in text, "!~": want not in text, "^": text.startswith(want),
            "$": text.endswith(want)}[operator]
