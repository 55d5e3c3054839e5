"""What an inbox item carries: enough for a person to finish the run without digging.

The context of an item is built here, redacted on the way out of memory: the
event, every attempt, the last request and response, the partial effects
already made (the run's successful writes, with the ids the systems gave
them), the violated rules, the runbook.  Headers and query parameters with
secret-looking names, secret-named keys in JSON or form bodies, and
secret-shaped values in free text are replaced by ``[redacted]``.

The successful writes are also stored in the shape of the run's HTTP journal,
so that ``harness inbox retry`` re-runs the flow without repeating them.
Limit: a secret-named field inside a stored response (a payment
intent's ``client_secret``) is replayed as ``[redacted]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from harness._shared.redact import (
    REDACTED,
    SECRET_NAME,
    redact_headers,
    redact_text,
    redact_url,
)
from harness._shared.wire import Request, Response
from harness.orchestrator._hook import CallRecord, journal_key

__all__ = [
    "BODY_LIMIT",
    "journal_from_context",
    "partial_effects",
    "redact_data",
    "redact_message",
    "redact_request",
    "redact_response",
]

BODY_LIMIT = 4000  # characters of a body kept in an inbox item: enough to read, not a dump


_URL = re.compile(r"https?://[^\s'\"<>]+")


def redact_message(text: str) -> str:
    """An error message with secrets hidden, including query secrets of URLs quoted in it."""
    return redact_text(_URL.sub(lambda m: redact_url(m.group(0)), text))


def redact_data(value: Any, *, depth: int = 0) -> Any:
    """A JSON-safe copy of ``value`` with secret-named keys and secret-shaped strings hidden."""
    if depth > 20:
        return "..."
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if SECRET_NAME.search(str(k)) else redact_data(v, depth=depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(v, depth=depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(repr(value))


def _redact_body(body: bytes, content_type: str | None) -> str:
    if not body:
        return ""
    text = body.decode("utf-8", errors="replace")
    ctype = (content_type or "").lower()
    if "json" in ctype or text.lstrip().startswith(("{", "[")):
        try:
            shown = json.dumps(redact_data(json.loads(text)), separators=(",", ":"))
        except ValueError:
            shown = redact_text(text)
    elif "form" in ctype or ("=" in text and " " not in text):
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            shown = redact_text(text)
        else:
            shown = urlencode(
                [(k, REDACTED if SECRET_NAME.search(k) else redact_text(v)) for k, v in pairs],
                safe="[]",
            )
    else:
        shown = redact_text(text)
    if len(shown) > BODY_LIMIT:
        shown = shown[:BODY_LIMIT] + f"... [{len(shown) - BODY_LIMIT} more characters]"
    return shown


def redact_request(request: Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": redact_url(request.url),
        "headers": [list(h) for h in redact_headers(request.headers)],
        "body": _redact_body(request.body, request.header("Content-Type")),
        "timeout": request.timeout,
    }


def redact_response(response: Response | None) -> dict[str, Any] | None:
    if response is None:
        return None
    return {
        "status": response.status,
        "headers": [list(h) for h in redact_headers(response.headers)],
        "body": _redact_body(response.body, response.header("Content-Type")),
    }


def _created_id(response: Response | None) -> str | None:
    if response is None:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    if isinstance(data, Mapping):
        if "id" in data:
            return str(data["id"])
        # some systems wrap the record: {"ticket": {"id": ...}}
        for value in data.values():
            if isinstance(value, Mapping) and "id" in value:
                return str(value["id"])
    return None


def partial_effects(calls: Sequence[CallRecord]) -> list[dict[str, Any]]:
    """The run's successful writes (each once), oldest first, with the record ids made."""
    seen: set[str] = set()
    effects: list[dict[str, Any]] = []
    for call in calls:
        if not call.is_write or call.outcome != "ok":
            continue
        key = journal_key(call.method, call.url, call.request.body)
        # a replay answers a write already listed; list each write once
        if key in seen:
            continue
        seen.add(key)
        effects.append(
            {
                "system": call.system,
                "method": call.method,
                "url": redact_url(call.url),
                "status": call.status,
                "attempt": call.attempt,
                "id": _created_id(call.response),
                "journal_key": key,
                "request_body": _redact_body(
                    call.request.body, call.request.header("Content-Type")
                ),
                "response": redact_response(call.response),
            }
        )
    return effects


def unknown_effects(calls: Sequence[CallRecord]) -> list[dict[str, Any]]:
    """Writes that got no answer after they were sent and were not made good later: they may have happened."""
    done = {journal_key(c.method, c.url, c.request.body) for c in calls if c.is_write and c.outcome == "ok"}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for call in calls:
        if not call.is_write or call.outcome != "unknown":
            continue
        key = journal_key(call.method, call.url, call.request.body)
        if key in done or key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "system": call.system,
                "method": call.method,
                "url": redact_url(call.url),
                "attempt": call.attempt,
                "error": call.error,
                "request_body": _redact_body(call.request.body, call.request.header("Content-Type")),
            }
        )
    return out


def journal_from_context(context: Mapping[str, Any]) -> dict[str, list[Response]]:
    """The journal entries stored with an item's partial effects (for ``inbox retry``)."""
    journal: dict[str, list[Response]] = {}
    for effect in context.get("partial_effects", []) or []:
        response = effect.get("response")
        key = effect.get("journal_key")
        if not key or not isinstance(response, Mapping):
            continue
        body = str(response.get("body", "")).encode("utf-8")
        headers = tuple((str(h[0]), str(h[1])) for h in response.get("headers", []) or [])
        journal.setdefault(str(key), []).append(
            Response(int(response.get("status", 200)), headers, body)
        )
    return journal
