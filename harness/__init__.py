"""harness: a reliability-testing and chaos harness for business automations.

The public API is what this module exports; everything else may change.
"""

from harness._wire import Request, Response, VirtualClock, WallClock
from harness.errors import ConfigError, FlowDeclarationError, HarnessError, LedgerError, UsageError
from harness.flow import Contract, Effect, Field, Flow, Trigger, Violation, WriteContract
from harness.policy import (
    AlertPolicy,
    BreakerPolicy,
    DedupePolicy,
    InboxPolicy,
    Policy,
    RetryPolicy,
    TimeoutPolicy,
)
from harness.systems import World
from harness.triggers import get_trigger, register_trigger

__all__ = [
    "AlertPolicy",
    "BreakerPolicy",
    "ConfigError",
    "Contract",
    "DedupePolicy",
    "Effect",
    "Field",
    "Flow",
    "FlowDeclarationError",
    "HarnessError",
    "InboxPolicy",
    "LedgerError",
    "Policy",
    "Request",
    "Response",
    "RetryPolicy",
    "TimeoutPolicy",
    "Trigger",
    "UsageError",
    "Violation",
    "VirtualClock",
    "WallClock",
    "World",
    "WriteContract",
    "get_trigger",
    "register_trigger",
]
