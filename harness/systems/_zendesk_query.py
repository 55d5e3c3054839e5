"""Zendesk's search syntax and user shape, kept apart from the endpoint logic in ``_zendesk``."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["bounded", "like", "parse_query", "user_object"]

_TOKEN = re.compile(r'(-?)([a-z_]+)(:|<=|>=|<|>)("[^"]*"|\S+)|("[^"]*"|\S+)')


def user_object(*, uid: int, host: str, now: str, name: str, email: str | None,
                external_id: str | None, role: str) -> dict[str, Any]:
    """A new Zendesk user in the documented shape."""
    return {
        "id": uid,
        "url": f"https://{host}/api/v2/users/{uid}.json",
        "name": name,
        "email": email,
        "created_at": now,
        "updated_at": now,
        "time_zone": "Etc/UTC",
        "iana_time_zone": "Etc/UTC",
        "phone": None,
        "shared_phone_number": None,
        "photo": None,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": None,
        "role": role,
        "verified": False,
        "external_id": external_id,
        "tags": [],
        "alias": None,
        "active": True,
        "shared": False,
        "shared_agent": False,
        "last_login_at": None,
        "two_factor_auth_enabled": None,
        "signature": None,
        "details": None,
        "notes": None,
        "role_type": None,
        "custom_role_id": None,
        "moderator": role != "end-user",
        "ticket_restriction": "requested" if role == "end-user" else None,
        "only_private_comments": False,
        "restricted_agent": role == "end-user",
        "suspended": False,
        "default_group_id": None,
        "report_csv": False,
        "user_fields": {},
    }



def like(actual: str, pattern: str, *, contains: bool = False) -> bool:
    actual = actual.lower()
    if pattern.endswith("*"):
        return actual.startswith(pattern[:-1]) or (contains and pattern[:-1] in actual)
    return pattern in actual if contains else actual == pattern


def bounded(raw: str, name: str, *, maximum: int = 100) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ValueError(f"{name}: {raw!r} must be an integer between 1 and {maximum}")
    return int(raw)


def parse_query(text: str) -> tuple[str | None, list[tuple[bool, str | None, str, list[str]]]]:
    """Zendesk search syntax -> (type, conditions); a repeated keyword ORs its values."""
    kind: str | None = None
    grouped: dict[tuple[bool, str | None, str], list[str]] = {}
    for match in _TOKEN.finditer(text):
        negate, key, op, value, word = match.groups()
        if word is not None:
            grouped.setdefault((False, None, ":"), []).append(word.strip('"'))
            continue
        value = value.strip('"')
        if key == "type":
            kind = value.lower()
            continue
        grouped.setdefault((bool(negate), key.lower(), op), []).append(value)
    conditions: list[tuple[bool, str | None, str, list[str]]] = []
    for (negate, key, op), values in grouped.items():
        if key is None:  # free words must all appear
            conditions.extend((False, None, op, [v]) for v in values)
        else:
            conditions.append((negate, key, op, values))
    return kind, conditions

