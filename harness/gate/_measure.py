"""What was measured for a flow: the metrics and findings the gate reads, combined over campaigns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Protocol


class MetricsLike(Protocol):
    """The fields of :class:`harness.report.Metrics` the gate reads."""

    @property
    def accepted_runs(self) -> int: ...
    @property
    def runs_failed(self) -> int: ...
    @property
    def duplicate_deliveries(self) -> int: ...
    @property
    def duplicates_prevented(self) -> int: ...
    @property
    def duplicate_effects_escaped(self) -> int: ...
    @property
    def manual_fallback_frequency(self) -> float | None: ...
    @property
    def time_to_recovery_p90(self) -> float | None: ...


class FindingLike(Protocol):
    """The fields of a finding (:class:`harness.oracles.Finding` or a ledger record) the gate reads."""

    @property
    def oracle(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def reproduce(self) -> str: ...


@dataclass(frozen=True)
class FlowMeasures:
    """What was measured for one flow in one mode, combined over its campaigns."""

    flow: str
    mode: str
    campaigns: int
    examples: int
    accepted_runs: int
    runs_failed: int
    duplicate_deliveries: int
    duplicates_prevented: int
    duplicate_prevention_success: float | None
    duplicate_effects_escaped: int
    manual_runs: float
    manual_fallback_frequency: float | None
    time_to_recovery_p90: float | None
    _: KW_ONLY
    failed_run_rate: float | None = None


def measure(
    flow: str, mode: str, metrics: Sequence[MetricsLike], examples: int
) -> FlowMeasures:
    """Combine the metrics of a flow's campaigns (see the module docstring for how)."""
    accepted = sum(m.accepted_runs for m in metrics)
    deliveries = sum(m.duplicate_deliveries for m in metrics)
    prevented = sum(m.duplicates_prevented for m in metrics)
    manual = sum((m.manual_fallback_frequency or 0.0) * m.accepted_runs for m in metrics)
    p90s = [m.time_to_recovery_p90 for m in metrics if m.time_to_recovery_p90 is not None]
    return FlowMeasures(
        flow=flow,
        mode=mode,
        campaigns=len(metrics),
        examples=examples,
        accepted_runs=accepted,
        runs_failed=sum(m.runs_failed for m in metrics),
        duplicate_deliveries=deliveries,
        duplicates_prevented=prevented,
        duplicate_prevention_success=(prevented / deliveries) if deliveries else None,
        duplicate_effects_escaped=sum(m.duplicate_effects_escaped for m in metrics),
        manual_runs=manual,
        manual_fallback_frequency=(manual / accepted) if accepted else None,
        time_to_recovery_p90=max(p90s) if p90s else None,
        failed_run_rate=(sum(m.runs_failed for m in metrics) / accepted) if accepted else None,
    )
