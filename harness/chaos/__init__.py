"""Chaos: the fault model, scenarios, virtual time and campaigns.

``run_campaign(flow, ledger=...)`` draws scenarios with Hypothesis (deliveries
of the flow's trigger plus a fault plan), plays each against a fresh world of
fakes in bare and orchestrated mode, judges it with :mod:`harness.oracles`,
records every run in the ledger and shrinks each finding to a minimal
scenario with a one-line reproduce command.
"""

from typing import TYPE_CHECKING, Any

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
from harness.chaos._strategies import ScenarioSpace
from harness.chaos._time import virtual_time

if TYPE_CHECKING:
    from harness.chaos._campaign import (
        DEFAULT_EXAMPLES,
        MODES,
        CampaignResult,
        replay,
        run_campaign,
    )
    from harness.chaos._jobs import Shard, parse_shard

# The campaign judges with harness.oracles, and the oracles read this room's
# leaf modules (faults, effects, scenario steps). Importing the campaign lazily
# lets either `import harness.oracles` or `import harness.chaos` come first.
_LAZY = frozenset({"DEFAULT_EXAMPLES", "MODES", "CampaignResult", "replay", "run_campaign"})
_LAZY_JOBS = frozenset({"Shard", "parse_shard"})


def __getattr__(name: str) -> Any:
    if name in _LAZY_JOBS:
        from harness.chaos import _jobs

        return getattr(_jobs, name)
    if name in _LAZY:
        from harness.chaos import _campaign

        return getattr(_campaign, name)
    raise AttributeError(f"module 'harness.chaos' has no attribute {name!r}")

__all__ = [
    "DEFAULT_EXAMPLES",
    "DELIVERY_KINDS",
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
    "endpoint_of",
    "fault_kinds",
    "fault_names",
    "get_fault",
    "parse_shard",
    "register_fault",
    "replay",
    "run_campaign",
    "vendor_error",
    "virtual_time",
]
