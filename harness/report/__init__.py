"""Reports from the ledger: the four metrics, pilot verdicts, 90-day reviews.

The report room reads only the ledger (its SQL aggregates in
:mod:`harness.ledger.aggregates`); pandas shapes the small aggregated frames
and jinja2 renders one self-contained HTML file (or JSON, CSV, JUnit XML).
"""

from harness.report._build import build_report
from harness.report._write import write_report
from harness.report.metrics import FailurePlace, Metrics, compute_metrics
from harness.report.pilot import Pilot, Thresholds, load_pilot, parse_pilot
from harness.report.verdict import DECISIONS, Maintenance, RuleResult, Verdict, decide

__all__ = [
    "DECISIONS",
    "FailurePlace",
    "Maintenance",
    "Metrics",
    "Pilot",
    "RuleResult",
    "Thresholds",
    "Verdict",
    "build_report",
    "compute_metrics",
    "decide",
    "load_pilot",
    "parse_pilot",
    "write_report",
]
