"""The gate's verdict: every check made, and whether they all passed."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from harness.gate import _render
from harness.gate._measure import FlowMeasures
from harness.gate._render import _fmt


@dataclass(frozen=True)
class Check:
    """One threshold of one flow, judged.

    ``measured`` is ``None`` when the metric could not be measured (it then
    passes, shown as ``n/a``).  ``reproduce`` lists the reproduce lines of the
    findings a ``max_findings`` check counted.
    """

    flow: str
    threshold: str  # the gate file's key, e.g. "max_findings.silent_loss"
    label: str
    limit: float
    measured: float | None
    passed: bool
    _: KW_ONLY
    unit: str = ""
    note: str = ""
    reproduce: tuple[str, ...] = ()

    @property
    def sentence(self) -> str:
        """``"flows.deal_won.max_findings.silent_loss: silent_loss findings = 2, allowed <= 0"``."""
        op = ">=" if self.threshold.startswith("min_") else "<="
        measured = "n/a" if self.measured is None else _fmt(self.measured, self.unit)
        text = (
            f"flows.{self.flow}.{self.threshold}: {self.label} = {measured}, "
            f"{'required' if op == '>=' else 'allowed'} {op} {_fmt(self.limit, self.unit)}"
        )
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict over a set of campaigns, with every check made."""

    path: str
    checks: tuple[Check, ...]
    measures: tuple[FlowMeasures, ...]
    _: KW_ONLY
    campaigns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # e.g. why a given campaign was not judged, one line each

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def broken(self) -> tuple[Check, ...]:
        """The checks that failed, in gate-file order."""
        return tuple(c for c in self.checks if not c.passed)

    def render_text(self) -> str:
        """Plain text for a terminal: the verdict, each broken threshold, its findings."""
        return _render.render_text(self)

    def render_markdown(self) -> str:
        """GitHub-flavoured Markdown (for ``$GITHUB_STEP_SUMMARY``): a table of every check."""
        return _render.render_markdown(self)

    def junit_properties(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs for the JUnit XML ``<properties>`` of the test suite."""
        return _render.junit_properties(self)
