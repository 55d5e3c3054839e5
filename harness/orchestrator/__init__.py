"""The built-in orchestrator: wrap an unmodified automation so it survives bad days.

``Orchestrator(flow).handle(event)`` checks the event's data contract, claims
the flow's dedupe key, runs the automation with every HTTP call hooked
(default timeouts, write contracts, idempotency keys, a per-run journal,
circuit breakers), retries transient errors with jittered backoff and hands
everything else to the inbox with context; every run ends in exactly one
end state in the ledger.  In production ``flow.handle(event)`` does the same
with the wall clock and ``Ledger.open()``.

What a retry can and cannot make safe
-------------------------------------
Retrying a whole unmodified handler is safe for the work it already did in
three cases.  Writes to a system that declares idempotency keys in its
descriptor get a key derived from the flow, the run's dedupe key and the
request (method, URL, body, occurrence), so the vendor itself answers a
re-sent identical write with the first result, even when the first response
was lost after the server acted.  Calls that succeeded in an earlier attempt
are answered from the run's HTTP journal instead of being sent again, so a
retry after a half-done attempt completes the missing work only.  A create
that a system's descriptor guards (a support ticket carrying an
``external_id``) whose earlier identical create got no answer is preceded by
the guard's search; a record found answers the create.  Everything else is a limit, not a promise:
a write whose response was lost after the server acted, on a system with no
idempotency keys and no search guard (tickets without an
``external_id``, CRM updates, most internal REST APIs), cannot be told
apart from one that never arrived, and a retry may repeat it; the journal
recognises a call only by its exact method, URL and body, so a body with a
fresh timestamp or random id is always re-sent; a payment API that stores a 500 under
its key keeps it for 24 hours, so such a write fails again on every retry and goes to the
inbox; calls from threads the automation starts itself are not hooked; a
secret-named field of a stored response (``client_secret``) is replayed as
``[redacted]`` by ``harness inbox retry``.  Those runs end in the inbox with
their partial effects listed, never as silent successes.
"""

import logging

from harness.orchestrator._alerts import Alert, Alerter, AlertOutcome, recorded_sinks, sink_for
from harness.orchestrator._breaker import Breaker, BreakerChange, Breakers
from harness.orchestrator._classify import (
    AmbiguousWrite,
    AttemptDeadlineExceeded,
    AutomationReportedFailure,
    CircuitOpen,
    ContractViolation,
    SwallowedFailure,
    classify,
    is_retryable,
    parse_retry_after,
    retry_after,
)
from harness.orchestrator._clients import install
from harness.orchestrator._dedupe import DedupeStore, LedgerDedupe, MemoryDedupe
from harness.orchestrator._durable import DEFAULT_LEASE, DurableOrchestrator, RunAccepted
from harness.orchestrator._hook import CallRecord, system_for_host
from harness.orchestrator._inbox import redact_data
from harness.orchestrator._ratelimit import (
    RateLimit,
    RateLimiter,
    default_rate_limits,
    parse_rate_limit,
)
from harness.orchestrator._ratelimit_redis import RedisRateLimiter
from harness.orchestrator._retry import backoff_cap, backoff_delay
from harness.orchestrator._run import DeliveryInfo, RunResult, Sink, error_message
from harness.orchestrator._runner import Orchestrator, orchestrator_for
from harness.orchestrator._tracing import configure_tracing, tracing_configured
from harness.orchestrator._workers import Workers

__all__ = [
    "DEFAULT_LEASE",
    "Alert",
    "AlertOutcome",
    "Alerter",
    "AmbiguousWrite",
    "AttemptDeadlineExceeded",
    "AutomationReportedFailure",
    "Breaker",
    "BreakerChange",
    "Breakers",
    "CallRecord",
    "CircuitOpen",
    "ContractViolation",
    "DedupeStore",
    "DeliveryInfo",
    "DurableOrchestrator",
    "LedgerDedupe",
    "MemoryDedupe",
    "Orchestrator",
    "RateLimit",
    "RateLimiter",
    "RedisRateLimiter",
    "RunAccepted",
    "RunResult",
    "Sink",
    "SwallowedFailure",
    "Workers",
    "backoff_cap",
    "backoff_delay",
    "classify",
    "configure_tracing",
    "default_rate_limits",
    "error_message",
    "install",
    "is_retryable",
    "orchestrator_for",
    "parse_rate_limit",
    "parse_retry_after",
    "recorded_sinks",
    "redact_data",
    "retry_after",
    "sink_for",
    "system_for_host",
    "tracing_configured",
]

# a library logs, the application decides where to: without configuration the
# transitions are not printed (the ledger has them all); configure the
# ``harness.orchestrator`` logger to see them
logging.getLogger("harness.orchestrator").addHandler(logging.NullHandler())
