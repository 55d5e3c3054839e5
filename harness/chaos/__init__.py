"""Chaos: the fault model, scenarios, virtual time and campaigns.

``run_campaign(flow, ledger=...)`` draws scenarios with Hypothesis (deliveries
of the flow's trigger plus a fault plan), plays each against a fresh world of
fakes in bare and orchestrated mode, judges it with :mod:`harness.chaos.oracles`
(the checks live in this room because they read its scenarios and fault
registry; :mod:`harness.oracles` re-exports them), records every run in the
ledger and shrinks each finding to a minimal scenario with a one-line
reproduce command.
"""

from harness.chaos._campaign import (
    DEFAULT_EXAMPLES,
    MODES,
    CampaignResult,
    replay,
    run_campaign,
)
from harness.chaos._faults import (
    STALL_CAP,
    FaultKind,
    TransportInjector,
    endpoint_of,
    fault_kinds,
    fault_names,
    get_fault,
    register_fault,
    vendor_error,
)
from harness.chaos._jobs import MAX_JOBS, Shard, campaign_group, parse_shard
from harness.chaos._runner import DeliveryResult, Reference, ScenarioRun, Target
from harness.chaos._scenario import (
    DELIVERY_KINDS,
    VALUE_HOWS,
    Deliver,
    InjectFault,
    Scenario,
    SetValue,
    Step,
)
from harness.chaos._strategies import (
    ScenarioSpace,
    deliveries,
    fault_steps,
    scenarios,
    transport_faults,
    value_faults,
)
from harness.chaos._time import virtual_time

__all__ = [
    "DEFAULT_EXAMPLES",
    "DELIVERY_KINDS",
    "MAX_JOBS",
    "MODES",
    "STALL_CAP",
    "VALUE_HOWS",
    "CampaignResult",
    "Deliver",
    "DeliveryResult",
    "FaultKind",
    "InjectFault",
    "Reference",
    "Scenario",
    "ScenarioRun",
    "ScenarioSpace",
    "SetValue",
    "Shard",
    "Step",
    "Target",
    "TransportInjector",
    "campaign_group",
    "deliveries",
    "endpoint_of",
    "fault_kinds",
    "fault_names",
    "fault_steps",
    "get_fault",
    "parse_shard",
    "register_fault",
    "replay",
    "run_campaign",
    "scenarios",
    "transport_faults",
    "value_faults",
    "vendor_error",
    "virtual_time",
]
