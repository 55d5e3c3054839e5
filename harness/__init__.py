"""harness: a reliability-testing and chaos harness for business automations.

The public API is what this module exports; everything else may change.

Declarations (:class:`Flow`, contracts, policies), the fake systems and the
wire types import eagerly and cheaply.  The rooms that pull in heavy
dependencies (the ledger's SQLAlchemy, the report's pandas, the chaos engine's
Hypothesis) are imported on first use of one of their names, so
``import harness`` stays fast for a web handler that only calls
``flow.handle(event)``.
"""

# No ``from __future__ import annotations`` and only private helper names here:
# every public name of this module is in ``__all__`` (tests/core/test_public_api.py).
import importlib as _importlib
import typing as _typing

from harness._oracle_registry import register_oracle
from harness._shared.wire import Request, Response, VirtualClock, WallClock
from harness.errors import (
    ConfigError,
    FlowDeclarationError,
    HarnessError,
    InvalidTypeError,
    InvalidValueError,
    LedgerError,
    NameTakenError,
    NotFoundError,
    RunBrokenError,
    UsageError,
)
from harness.flow import (
    Contract,
    Effect,
    Field,
    Flow,
    Trigger,
    Violation,
    WriteContract,
    load_callable,
    load_flow,
)
from harness.policy import (
    AlertPolicy,
    BreakerPolicy,
    DedupePolicy,
    InboxPolicy,
    Policy,
    RetryPolicy,
    TimeoutPolicy,
)
from harness.systems import (
    GitHub,
    HubSpot,
    Intercom,
    Pipedrive,
    QuickBooks,
    RecordStore,
    Resource,
    Shopify,
    Slack,
    Stripe,
    World,
    Xero,
    Zendesk,
    standard_world,
)
from harness.triggers import (
    get_trigger,
    register_trigger,
    schedule_trigger,
    trigger_names,
    webhook_trigger,
)

if _typing.TYPE_CHECKING:
    from harness.chaos import CampaignResult, Scenario, replay, run_campaign
    from harness.gate import Gate, GateResult, evaluate_ledger, load_gate
    from harness.ledger import Ledger
    from harness.oracles import Finding
    from harness.orchestrator import DeliveryInfo, Orchestrator, RunAccepted, RunResult, classify
    from harness.report import Metrics, Pilot, Verdict, compute_metrics, load_pilot, write_report
    from harness.serve import create_app

#: name -> module, for the names imported on first use
_LAZY: dict[str, str] = {
    "CampaignResult": "harness.chaos",
    "DeliveryInfo": "harness.orchestrator",
    "Finding": "harness.oracles",
    "Gate": "harness.gate",
    "GateResult": "harness.gate",
    "Ledger": "harness.ledger",
    "Metrics": "harness.report",
    "Orchestrator": "harness.orchestrator",
    "Pilot": "harness.report",
    "RunAccepted": "harness.orchestrator",
    "RunResult": "harness.orchestrator",
    "Scenario": "harness.chaos",
    "Verdict": "harness.report",
    "classify": "harness.orchestrator",
    "compute_metrics": "harness.report",
    "create_app": "harness.serve",
    "evaluate_ledger": "harness.gate",
    "load_gate": "harness.gate",
    "load_pilot": "harness.report",
    "replay": "harness.chaos",
    "run_campaign": "harness.chaos",
    "write_report": "harness.report",
}

__all__ = [
    "AlertPolicy",
    "BreakerPolicy",
    "CampaignResult",
    "ConfigError",
    "Contract",
    "DedupePolicy",
    "DeliveryInfo",
    "Effect",
    "Field",
    "Finding",
    "Flow",
    "FlowDeclarationError",
    "Gate",
    "GateResult",
    "GitHub",
    "HarnessError",
    "HubSpot",
    "InboxPolicy",
    "Intercom",
    "InvalidTypeError",
    "InvalidValueError",
    "Ledger",
    "LedgerError",
    "Metrics",
    "NameTakenError",
    "NotFoundError",
    "Orchestrator",
    "Pilot",
    "Pipedrive",
    "Policy",
    "QuickBooks",
    "RecordStore",
    "Request",
    "Resource",
    "Response",
    "RetryPolicy",
    "RunAccepted",
    "RunBrokenError",
    "RunResult",
    "Scenario",
    "Shopify",
    "Slack",
    "Stripe",
    "TimeoutPolicy",
    "Trigger",
    "UsageError",
    "Verdict",
    "Violation",
    "VirtualClock",
    "WallClock",
    "World",
    "WriteContract",
    "Xero",
    "Zendesk",
    "classify",
    "compute_metrics",
    "create_app",
    "evaluate_ledger",
    "get_trigger",
    "load_callable",
    "load_flow",
    "load_gate",
    "load_pilot",
    "register_oracle",
    "register_trigger",
    "replay",
    "run_campaign",
    "schedule_trigger",
    "standard_world",
    "trigger_names",
    "webhook_trigger",
    "write_report",
]


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
