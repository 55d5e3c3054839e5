"""The built-in orchestrator: wrap an unmodified automation so it survives bad days.

``Orchestrator(flow).handle(event)`` checks the event's data contract, claims
the flow's dedupe key, runs the automation with every HTTP call hooked
(default timeouts, write contracts, idempotency keys, a per-run journal,
circuit breakers), retries transient errors with jittered backoff and hands
everything else to the inbox with context; every run ends in exactly one
end state in the ledger.  In production ``flow.handle(event)`` does the same
with the wall clock and ``Ledger.open()``.
"""

import logging

from harness.orchestrator._alerts import Alert, Alerter, AlertOutcome, sink_for
from harness.orchestrator._breaker import Breaker, BreakerChange, Breakers
from harness.orchestrator._classify import (
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
from harness.orchestrator._dedupe import DedupeStore, LedgerDedupe, MemoryDedupe
from harness.orchestrator._hook import CallRecord, install, system_for_host
from harness.orchestrator._inbox import redact_data
from harness.orchestrator._retry import backoff_cap, backoff_delay
from harness.orchestrator._runner import (
    DeliveryInfo,
    Orchestrator,
    RunResult,
    Sink,
    orchestrator_for,
)

__all__ = [
    "Alert",
    "AlertOutcome",
    "Alerter",
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
    "LedgerDedupe",
    "MemoryDedupe",
    "Orchestrator",
    "RunResult",
    "Sink",
    "SwallowedFailure",
    "backoff_cap",
    "backoff_delay",
    "classify",
    "install",
    "is_retryable",
    "orchestrator_for",
    "parse_retry_after",
    "redact_data",
    "retry_after",
    "sink_for",
    "system_for_host",
]

# a library logs, the application decides where to: without configuration the
# transitions are not printed (the ledger has them all); configure the
# ``harness.orchestrator`` logger to see them
logging.getLogger("harness.orchestrator").addHandler(logging.NullHandler())
