"""Secret redaction for the systems room: a re-export of :mod:`harness._redact`.

The rules live in one module every room may import (:mod:`harness._redact`),
so the terminal, the JSON, the ledger, the exports and the HTML hide the same
things; this name stays for the modules that imported it here.
"""

from __future__ import annotations

from harness._redact import (
    REDACTED,
    SECRET_NAME,
    redact_headers,
    redact_text,
    redact_url,
    redact_value,
)

__all__ = ["REDACTED", "SECRET_NAME", "redact_headers", "redact_text", "redact_url", "redact_value"]
