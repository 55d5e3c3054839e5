"""Error classification: which errors are worth retrying.

The default taxonomy for SaaS HTTP automations:

* ``transient``: the request may succeed if sent again later: timeouts,
  connection errors, HTTP 5xx, 429 and 408 (``requests``, ``httpx``, urllib3,
  aiohttp, ``urllib``/stdlib socket errors, the harness's own transport
  faults), an open circuit, an
  attempt that ran past its deadline;
* ``logical``: sending it again cannot help: a data contract violation, any
  other HTTP 4xx, a business rule; a person must look;
* ``unknown``: anything else (a ``KeyError`` in the automation, say).  It is
  treated as logical unless the flow's policy says otherwise.

``Policy.classify`` extends the taxonomy: ``(ExceptionType, "transient")`` or
``(predicate, "logical")`` pairs are consulted first, in order.  When the
raised exception itself is unknown its ``__cause__``/``__context__`` chain is
searched, so an automation that wraps a ``requests`` error in its own
exception is still classified by the HTTP failure underneath.
"""

from __future__ import annotations

import email.utils
import http.client
import math
import sys
import urllib.error
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness._shared.wire import TransportFault
from harness.errors import HarnessError
from harness.flow import Violation
from harness.policy import Policy

if TYPE_CHECKING:
    from harness.ledger.records import ErrorClass

__all__ = [
    "AmbiguousWrite",
    "AttemptDeadlineExceeded",
    "AutomationReportedFailure",
    "CircuitOpen",
    "ContractViolation",
    "SwallowedFailure",
    "classify",
    "error_status",
    "retry_after",
]

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class ContractViolation(HarnessError):
    """An event or a write broke its data contract: a logical error, never retried.

    ``violations`` lists every broken rule (field, value, rule); ``where`` is
    ``"trigger"`` or the write (``"billing POST /v1/invoiceitems"``).
    """

    def __init__(self, where: str, violations: tuple[Violation, ...]) -> None:
        self.where = where
        self.violations = violations
        shown = "; ".join(str(v) for v in violations)
        super().__init__(f"data contract of {where} violated: {shown}")


class CircuitOpen(HarnessError):
    """A system's circuit breaker stayed open longer than the run may wait (transient)."""

    def __init__(self, system: str, waited: float) -> None:
        self.system = system
        self.waited = waited
        super().__init__(
            f"circuit for {system!r} is open (waited {waited:.1f}s); the system keeps failing"
        )


class AttemptDeadlineExceeded(HarnessError):
    """An attempt (or the run) ran past its deadline; raised at the next HTTP call (transient)."""

    def __init__(self, scope: str, limit: float) -> None:
        self.scope = scope
        self.limit = limit
        super().__init__(f"{scope} deadline of {limit:g}s exceeded")


class SwallowedFailure(HarnessError):
    """The automation returned normally although one of its writes failed and was never redone.

    Recorded so that a partial effect is never reported as a success; its
    class is the class of the failed call (transient for 5xx/429/timeouts).
    """

    def __init__(self, description: str, error_class: ErrorClass) -> None:
        self.error_class = error_class
        super().__init__(
            f"the automation returned normally but swallowed a failed write: {description}"
        )


class AmbiguousWrite(HarnessError):
    """A write whose outcome is unknown (no answer after sending) on a system that cannot dedupe it.

    The system has neither idempotency keys nor a search-before-create guard,
    so sending the write again may do it twice: the run goes to a person with
    that write named (logical: never retried blindly).
    """

    def __init__(self, description: str) -> None:
        self.description = description
        super().__init__(
            f"the outcome of {description} is unknown (no answer after it was sent) and the system "
            "has neither idempotency keys nor a search-before-create guard: not sent again; "
            "check whether it happened"
        )


class AutomationReportedFailure(HarnessError):
    """The automation returned a value the flow's ``result`` function judges a failure (logical)."""

    def __init__(self, value: Any) -> None:
        self.value = value
        super().__init__(f"the automation reported failure: {value!r}"[:500])


def error_status(exc: BaseException) -> int | None:
    """The HTTP status attached to ``exc``: ``requests.HTTPError``, ``httpx.HTTPStatusError``
    (and any error carrying a ``response.status_code``), aiohttp's ``ClientResponseError``
    (``status``), ``urllib.error.HTTPError`` (``code``)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) if response is not None else None
    if isinstance(status, int):
        return status
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None and isinstance(exc, aiohttp.ClientResponseError):
        return int(exc.status)
    if isinstance(exc, urllib.error.HTTPError):
        return int(exc.code)
    return None


def _headers_of(exc: BaseException) -> Mapping[str, str] | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return headers if headers is not None else None


def retry_after(exc: BaseException | None, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After``: seconds or an HTTP date), or None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        headers = _headers_of(exc)
        if headers is not None:
            value = headers.get("Retry-After") or headers.get("retry-after")
            parsed = parse_retry_after(value, now=now)
            if parsed is not None:
                return parsed
        exc = exc.__cause__ or exc.__context__
    return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds >= 0; ``None`` when absent or unparseable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if now is None:
            return None
        seconds = parsed.timestamp() - now
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _builtin_class(exc: BaseException) -> ErrorClass | None:
    """The default taxonomy for one exception, ignoring its cause chain."""
    if isinstance(exc, ContractViolation | AutomationReportedFailure | AmbiguousWrite):
        return "logical"
    if isinstance(exc, CircuitOpen | AttemptDeadlineExceeded | TransportFault):
        return "transient"
    if isinstance(exc, SwallowedFailure):
        return exc.error_class
    status = error_status(exc)
    if status is not None:
        if status in TRANSIENT_STATUSES or status >= 500:
            return "transient"
        if 400 <= status < 500:
            return "logical"
    try:
        import requests
    except ImportError:  # pragma: no cover - requests is a dependency
        requests = None  # type: ignore[assignment]
    if requests is not None:
        exceptions = requests.exceptions
        if isinstance(
            exc,
            exceptions.Timeout
            | exceptions.ConnectionError
            | exceptions.ChunkedEncodingError
            | exceptions.ContentDecodingError,
        ):
            return "transient"
        if isinstance(
            exc,
            exceptions.InvalidURL
            | exceptions.MissingSchema
            | exceptions.InvalidSchema
            | exceptions.InvalidHeader
            | exceptions.TooManyRedirects,
        ):
            return "logical"
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a dependency
        httpx = None  # type: ignore[assignment]
    if httpx is not None:
        if isinstance(
            exc,
            httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError | httpx.PoolTimeout,
        ):
            return "transient"
        if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | httpx.TooManyRedirects):
            return "logical"
    # urllib3 (directly, or under an SDK) and aiohttp: looked up only when the automation
    # imported them (importing aiohttp here would cost every classification)
    urllib3 = sys.modules.get("urllib3.exceptions")
    if urllib3 is not None and isinstance(
        exc, urllib3.TimeoutError | urllib3.ProtocolError | urllib3.MaxRetryError
    ):
        return "transient"
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None:
        if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
            return "transient"
        if isinstance(exc, aiohttp.InvalidURL | aiohttp.TooManyRedirects):
            return "logical"
    # stdlib: socket timeouts are TimeoutError; refused/reset are ConnectionError
    if isinstance(exc, TimeoutError | ConnectionError | http.client.IncompleteRead):
        return "transient"
    return None


def classify(exc: BaseException, policy: Policy) -> ErrorClass:
    """The error class of ``exc`` under ``policy``: transient, logical, duplicate or unknown.

    The flow's own ``Policy.classify`` rules come first (a predicate that
    raises is skipped), then the default taxonomy for the exception and, if
    that says nothing, for each exception in its cause chain.
    """
    for matcher, cls in policy.classify:
        if isinstance(matcher, type):
            if isinstance(exc, matcher):
                return cls
            continue
        try:
            if matcher(exc):
                return cls
        except Exception:
            continue
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _builtin_class(current)
        if found is not None:
            return found
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return "unknown"


def is_retryable(error_class: str, policy: Policy) -> bool:
    """Whether an error of ``error_class`` is retried: transient always, unknown if configured."""
    if error_class == "transient":
        return True
    if error_class == "unknown":
        return policy.retry.retry_unknown or policy.unknown_as == "transient"
    return False
