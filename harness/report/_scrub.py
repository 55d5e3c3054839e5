"""Redaction for everything a report shows: :mod:`harness._shared.redact`, under the report's names.

The ledger stores values already redacted by the same rules, but a report is
the last door out: every string that reaches HTML, JSON, CSV or JUnit passes
:func:`scrub` here too, so a secret that reached the ledger some other way
(an older version, a hand-written row) is still replaced.
"""

from __future__ import annotations

from harness._shared.redact import REDACTED
from harness._shared.redact import redact_text as scrub
from harness._shared.redact import redact_value as scrub_value

__all__ = ["REDACTED", "scrub", "scrub_value"]
