"""How the built-in orchestrator treats a flow: retries, timeouts, dedupe, inbox, breaker, alerts.

Plain frozen dataclasses validated at construction, so a flow declared wrongly
fails where it is declared.  The orchestrator (``harness.orchestrator``) reads
them; this module imports nothing from the rooms above it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import FlowDeclarationError

if TYPE_CHECKING:
    # ErrorClass lives with the ledger records; only its name is needed here
    from harness.ledger.records import ErrorClass

__all__ = [
    "AlertPolicy",
    "BreakerPolicy",
    "DedupePolicy",
    "InboxPolicy",
    "Policy",
    "RetryPolicy",
    "TimeoutPolicy",
]


def _positive(owner: str, name: str, value: float | int | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise FlowDeclarationError(
            f"{owner}: {name!r} must be a positive number, got {value!r}; "
            f"fix the value in the flow declaration"
        )


@dataclass(kw_only=True, frozen=True)
class RetryPolicy:
    """Retries of transient errors: exponential backoff with full jitter.

    The delay before attempt ``n + 1`` is uniform in
    ``[0, min(max_delay, base_delay * multiplier ** (n - 1))]``, or the server's
    ``Retry-After`` when it is longer.  ``max_attempts`` counts the first
    attempt; ``deadline`` bounds the whole run (seconds in the run's clock).
    Logical errors are never retried.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    deadline: float = 900.0
    honour_retry_after: bool = True
    retry_unknown: bool = False

    def __post_init__(self) -> None:
        if (
            not isinstance(self.max_attempts, int)
            or isinstance(self.max_attempts, bool)
            or self.max_attempts < 1
        ):
            raise FlowDeclarationError(
                f"RetryPolicy: 'max_attempts' must be an integer >= 1, got {self.max_attempts!r}; "
                "use 1 for no retries"
            )
        if self.max_attempts > 100:
            raise FlowDeclarationError(
                f"RetryPolicy: 'max_attempts' must be <= 100, got {self.max_attempts!r}; "
                "retries are capped so a bad day cannot become an infinite loop"
            )
        _positive("RetryPolicy", "base_delay", self.base_delay)
        _positive("RetryPolicy", "max_delay", self.max_delay)
        _positive("RetryPolicy", "deadline", self.deadline)
        if not isinstance(self.multiplier, int | float) or self.multiplier < 1:
            raise FlowDeclarationError(
                f"RetryPolicy: 'multiplier' must be >= 1, got {self.multiplier!r}"
            )


@dataclass(kw_only=True, frozen=True)
class TimeoutPolicy:
    """Timeouts: the default for HTTP calls that set none, per attempt and per run."""

    call: float = 10.0
    attempt: float = 120.0
    run: float = 900.0

    def __post_init__(self) -> None:
        _positive("TimeoutPolicy", "call", self.call)
        _positive("TimeoutPolicy", "attempt", self.attempt)
        _positive("TimeoutPolicy", "run", self.run)


@dataclass(kw_only=True, frozen=True)
class DedupePolicy:
    """What to do with a delivery whose dedupe key was already claimed.

    ``on_duplicate`` is ``"reject"`` (end ``suppressed``) or ``"return-existing"``
    (end ``suppressed`` and return the first run's result); ``retention`` is how
    long a key is remembered, in seconds (``None``: forever).
    """

    on_duplicate: str = "return-existing"
    retention: float | None = 30 * 24 * 3600.0

    def __post_init__(self) -> None:
        if self.on_duplicate not in ("reject", "return-existing"):
            raise FlowDeclarationError(
                f"DedupePolicy: 'on_duplicate' must be 'reject' or 'return-existing', "
                f"got {self.on_duplicate!r}"
            )
        _positive("DedupePolicy", "retention", self.retention, allow_none=True)


@dataclass(kw_only=True, frozen=True)
class InboxPolicy:
    """The manual fallback: how long a person has to act on an item."""

    due_after: float = 4 * 3600.0

    def __post_init__(self) -> None:
        _positive("InboxPolicy", "due_after", self.due_after)


@dataclass(kw_only=True, frozen=True)
class BreakerPolicy:
    """Per-system circuit breaker: ``failures`` transient failures within ``window`` open it."""

    failures: int = 5
    window: float = 60.0
    cooldown: float = 30.0
    max_wait: float = 300.0

    def __post_init__(self) -> None:
        if not isinstance(self.failures, int) or self.failures < 1:
            raise FlowDeclarationError(
                f"BreakerPolicy: 'failures' must be an integer >= 1, got {self.failures!r}"
            )
        _positive("BreakerPolicy", "window", self.window)
        _positive("BreakerPolicy", "cooldown", self.cooldown)
        _positive("BreakerPolicy", "max_wait", self.max_wait)


@dataclass(kw_only=True, frozen=True)
class AlertPolicy:
    """Alerts: sinks (``log``, ``webhook:URL``, ``smtp://host:port/to@addr``) and throttling."""

    sinks: tuple[str, ...] = ("log",)
    throttle: float = 600.0
    failure_rate: float | None = 0.2
    failure_window: int = 20

    def __post_init__(self) -> None:
        for sink in self.sinks:
            if not (sink == "log" or sink.startswith(("webhook:", "smtp://"))):
                raise FlowDeclarationError(
                    f"AlertPolicy: unknown sink {sink!r}; expected 'log', 'webhook:URL' "
                    "or 'smtp://host:port/to@example.com'"
                )
        _positive("AlertPolicy", "throttle", self.throttle)


ErrorMatcher = type[BaseException] | Callable[[BaseException], bool]


@dataclass(kw_only=True, frozen=True)
class Policy:
    """Everything the orchestrator needs to know about one flow.

    ``classify`` extends the default error classification: pairs of an
    exception type (or a predicate over the exception) and an error class name.
    ``unknown_as`` says how unclassified errors are treated (``logical`` by
    default: a person looks before anything is retried).
    """

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: TimeoutPolicy = field(default_factory=TimeoutPolicy)
    dedupe: DedupePolicy = field(default_factory=DedupePolicy)
    inbox: InboxPolicy = field(default_factory=InboxPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    alerts: AlertPolicy = field(default_factory=AlertPolicy)
    classify: Sequence[tuple[Any, ErrorClass]] = ()
    unknown_as: str = "logical"
    idempotency_keys: bool = True
    journal: bool = True
    #: hold a write that carries a stand-in (``0``, ``"None"``) for a value the run read as
    #: missing, when no write contract of the flow covers it (see the orchestrator's docs)
    hold_placeholders: bool = True

    def __post_init__(self) -> None:
        valid = ("transient", "logical", "duplicate", "unknown")
        for matcher, cls in self.classify:
            if cls not in valid:
                raise FlowDeclarationError(
                    f"Policy.classify: unknown error class {cls!r} for {matcher!r}; "
                    f"expected one of {', '.join(valid)}"
                )
            if not (isinstance(matcher, type) and issubclass(matcher, BaseException)) and not callable(
                matcher
            ):
                raise FlowDeclarationError(
                    f"Policy.classify: {matcher!r} must be an exception type or a predicate"
                )
        if self.unknown_as not in ("transient", "logical"):
            raise FlowDeclarationError(
                f"Policy: 'unknown_as' must be 'transient' or 'logical', got {self.unknown_as!r}"
            )
        object.__setattr__(self, "classify", tuple(self.classify))
