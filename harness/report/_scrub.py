"""Redaction for everything a report shows (built on :mod:`harness.systems._redact`).

The ledger stores values already redacted, but a report is the last door out:
every string that reaches HTML, JSON, CSV or JUnit passes :func:`scrub` here
too, so a secret that slipped into an error message, a header dump or a URL
is still replaced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from harness.systems._redact import REDACTED, SECRET_NAME, redact_text, redact_url

__all__ = ["REDACTED", "scrub", "scrub_value"]

_URL = re.compile(r"""[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>"'`]+""")

# "Authorization: Bearer x", "api_key=x", '"X-Api-Key": "x"' inside free text.
_PAIR = re.compile(
    r"""(?ix)
    (?P<name>[\w.\-]*(?:authorization|api[-_]?key|apikey|token|secret|password|passwd|pwd|
        session|cookie|signature|credential|access[-_]?key|hapikey|private)[\w.\-]*)
    (?P<sep>["']?\s*[:=]\s*["']?)
    (?P<value>\[redacted\]|(?:(?:bearer|basic|token)\s+)?[^\s"'&,;}\]]+)
    """
)


def scrub(text: str) -> str:
    """``text`` with credentials in URLs, secret-named pairs and token shapes replaced."""
    if not text:
        return text
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _PAIR.sub(
        lambda m: m.group(0)
        if m.group("value") == REDACTED
        else f"{m.group('name')}{m.group('sep')}{REDACTED}",
        text,
    )
    return redact_text(text)


def scrub_value(value: Any) -> Any:
    """A JSON-like value with secret-named keys' values replaced and every string scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {
            scrub(str(k)): REDACTED if SECRET_NAME.search(str(k)) else scrub_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value
