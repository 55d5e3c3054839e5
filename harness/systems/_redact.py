"""Secret redaction shared by every room that shows a request to a person.

Redaction happens where a value leaves the process's memory for a log, the
ledger, the terminal or a report: credentials in URLs, ``Authorization`` and
API-key headers, and query parameters whose names look like secrets.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

__all__ = ["REDACTED", "SECRET_NAME", "redact_headers", "redact_text", "redact_url"]

REDACTED = "[redacted]"

#: header and parameter names whose values are secrets
SECRET_NAME = re.compile(
    r"(authorization|api[-_]?key|apikey|token|secret|password|passwd|pwd|session|cookie|"
    r"signature|private|credential|access[-_]?key|client[-_]?secret|hapikey|x-hubspot-signature)",
    re.IGNORECASE,
)

# Bearer tokens, basic credentials and well-known vendor key shapes that may
# appear inside free text (error messages, bodies echoed back).
_SECRET_VALUE = re.compile(
    r"(?i)(bearer\s+[A-Za-z0-9._~+/=-]{8,}|basic\s+[A-Za-z0-9+/=]{8,}|"
    r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}|\bpat-[a-z0-9-]{8,}|\bwhsec_[A-Za-z0-9]{8,})"
)


def redact_url(url: str) -> str:
    """``url`` with userinfo and secret-named query values replaced."""
    return _redact_url(url)


# every call the world logs is redacted; campaigns repeat the same URLs thousands of times
@functools.lru_cache(maxsize=8192)
def _redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        # what redact_text does, minus its URL pass (which would come back here)
        return _SECRET_VALUE.sub(REDACTED, url)
    netloc = parts.netloc
    if "@" not in netloc and not (parts.query and SECRET_NAME.search(unquote_plus(parts.query))):
        return url  # the common case, kept cheap: every call is logged with its URL
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if SECRET_NAME.search(k) else v) for k, v in pairs], safe="[]"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers with secret-named values replaced."""
    return tuple((k, REDACTED if SECRET_NAME.search(k) else v) for k, v in headers)


#: a URL inside free text (requests' "... for url: https://host/path?apikey=..." errors)
_URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>]+")


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known ``secrets``, URLs' credentials and secret-shaped tokens replaced."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda m: _redact_url(m.group(0)), text)
    return _SECRET_VALUE.sub(REDACTED, text)
