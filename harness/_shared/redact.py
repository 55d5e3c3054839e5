"""Secret redaction: the one module every room uses before a value leaves the process.

Redaction happens where a value leaves memory for the terminal, a JSON file,
the ledger, an export or a report, and it is the same everywhere, so what one
door hides no other door shows.  It covers:

* URLs of any scheme, inside free text too: userinfo (``postgresql://app:PW@db``),
  query parameters whose names look like secrets (``?password=P``,
  ``token``, ``key``, ``secret``, ...), and the secret path of webhook URLs
  (``hooks.slack.com/services/...``, Discord, Zapier, Teams);
* ``name=value`` and ``"name": "value"`` pairs whose name looks like a secret
  (connection strings, header dumps, JSON bodies);
* bearer and basic credentials;
* token shapes found anywhere: AWS access key ids, JWTs, Slack ``xox?-``
  tokens, GitHub ``ghp_``/``github_pat_`` tokens, Stripe ``sk_``/``rk_``/
  ``whsec_`` keys, HubSpot private-app ``pat-`` tokens.

Everything here is pure and cheap enough to run on every logged call.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "SECRET_NAME",
    "is_secret_param",
    "redact_headers",
    "redact_text",
    "redact_url",
    "redact_value",
]

REDACTED = "[redacted]"

#: header, parameter and field names whose values are secrets
SECRET_NAME = re.compile(
    r"(authorization|api[-_]?key|apikey|token|secret|password|passwd|pwd|session|cookie|"
    r"signature|private|credential|access[-_]?key|client[-_]?secret|hapikey|x-hubspot-signature)",
    re.IGNORECASE,
)

#: query parameter names that carry a secret besides those: Google-style ``key=``,
#: ``auth=``, ``sig=``, ``code=`` (OAuth), ``pass=``
_SECRET_PARAM = re.compile(r"^(?:key|auth|sig|code|pass|access|apitoken)$", re.IGNORECASE)


def is_secret_param(name: str) -> bool:
    """Whether a URL query parameter named ``name`` carries a secret."""
    return bool(SECRET_NAME.search(name) or _SECRET_PARAM.match(name.strip()))

# Bearer tokens, basic credentials and well-known vendor key shapes that may
# appear inside free text (error messages, bodies echoed back).
_SECRET_VALUE = re.compile(
    r"(?i:bearer\s+[A-Za-z0-9._~+/=-]{8,}|basic\s+[A-Za-z0-9+/=]{8,})"
    # Stripe secret, restricted and publishable keys, webhook secrets
    r"|\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}|\brk_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{8,}"
    # HubSpot private-app tokens: pat-na1-xxxxxxxx-...
    r"|\bpat-[a-z0-9-]{8,}"
    # AWS access key ids (long-term AKIA, temporary ASIA, ...)
    r"|\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"
    # JWTs: base64url header (always '{"' -> eyJ), payload, signature
    r"|\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
    # Slack bot, user, app, refresh and configuration tokens
    r"|\bxox[abposre]-[A-Za-z0-9-]{6,}"
    # GitHub classic and fine-grained tokens
    r"|\bgh[pousr]_[A-Za-z0-9]{16,}|\bgithub_pat_[A-Za-z0-9_]{16,}"
)

#: hosts whose URL path is itself the credential, and the path prefix kept
_WEBHOOK_PATHS = (
    ("hooks.slack.com", "/services/"),
    ("hooks.slack.com", "/workflows/"),
    ("hooks.slack.com", "/triggers/"),
    ("discord.com", "/api/webhooks/"),
    ("discordapp.com", "/api/webhooks/"),
    ("hooks.zapier.com", "/hooks/catch/"),
    ("outlook.office.com", "/webhook/"),
    ("chat.googleapis.com", "/v1/spaces/"),
)


def _webhook_host(host: str) -> bool:
    host = host.lower()
    return any(host == h or host.endswith("." + h) for h, _ in _WEBHOOK_PATHS) or host.endswith(
        ".webhook.office.com"
    )


def redact_url(url: str) -> str:
    """``url`` with userinfo, secret-named query values and webhook path secrets replaced."""
    return _redact_url(url)


# every call the world logs is redacted; campaigns repeat the same URLs thousands of times
@functools.lru_cache(maxsize=8192)
def _redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        # what redact_text does, minus its URL pass (which would come back here)
        return _SECRET_VALUE.sub(REDACTED, url)
    netloc = parts.netloc
    secret_query = bool(parts.query) and any(
        is_secret_param(k) for k, _ in parse_qsl(unquote_plus(parts.query), keep_blank_values=True)
    )
    webhook = _webhook_host(host)
    if "@" not in netloc and not secret_query and not webhook:
        return _SECRET_VALUE.sub(REDACTED, url)  # the common case, kept cheap
    if "@" in netloc:
        userinfo, host_port = netloc.rsplit("@", 1)
        # a password already masked ('user:***@', as SQLAlchemy shows it) keeps the user shown
        if userinfo.partition(":")[2] not in ("***", REDACTED):
            netloc = f"{REDACTED}@{host_port}"
    path = parts.path
    if webhook:
        lowered = path.lower()
        for h, prefix in _WEBHOOK_PATHS:
            if (host.lower() == h or host.lower().endswith("." + h)) and lowered.startswith(prefix):
                path = prefix + REDACTED
                break
        else:
            if host.lower().endswith(".webhook.office.com") or host.lower() == "outlook.office.com":
                path = "/" + REDACTED
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if is_secret_param(k) else v) for k, v in pairs], safe="[]"
        )
    return _SECRET_VALUE.sub(
        REDACTED, urlunsplit((parts.scheme, netloc, path, query, parts.fragment))
    )


def redact_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers with secret-named values replaced (and token shapes in the others)."""
    return tuple(
        (k, REDACTED if SECRET_NAME.search(k) else _SECRET_VALUE.sub(REDACTED, v)) for k, v in headers
    )


#: a URL of any scheme inside free text (requests' "... for url: https://h/p?apikey=..." errors,
#: "could not connect to postgresql://app:PW@db/x")
_URL_IN_TEXT = re.compile(r"""[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>"'`]+""")

# "Authorization: Bearer x", "api_key=x", '"X-Api-Key": "x"', "Password=x;" inside free text.
_PAIR = re.compile(
    r"""(?ix)
    (?P<name>[\w.\-]*(?:authorization|api[-_]?key|apikey|token|secret|password|passwd|pwd|
        session|cookie|signature|credential|access[-_]?key|hapikey|private)[\w.\-]*)
    (?P<sep>["']?\s*[:=]\s*["']?)
    (?P<value>\[redacted\]|(?:(?:bearer|basic|token)\s+)?[^\s"'&,;}\]]+)
    """
)


def _pair(m: re.Match[str]) -> str:
    if m.group("value") == REDACTED:
        return m.group(0)
    return f"{m.group('name')}{m.group('sep')}{REDACTED}"


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known ``secrets``, URLs' credentials, secret-named pairs and token shapes replaced."""
    if not text:
        return text
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda m: _redact_url(m.group(0)), text)
    if "=" in text or ":" in text:
        text = _PAIR.sub(_pair, text)
    return _SECRET_VALUE.sub(REDACTED, text)


def redact_value(value: Any) -> Any:
    """A JSON-like value with secret-named keys' values replaced and every string redacted."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            redact_text(str(k)): REDACTED if SECRET_NAME.search(str(k)) else redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value
