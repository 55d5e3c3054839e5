"""The CI reliability gate: thresholds per flow, judged from the ledger.

The package has one module per job: :mod:`._file` parses a gate file,
:mod:`._evaluate` measures and judges, :mod:`._result` holds the verdict and
:mod:`._render` writes it as text, Markdown and JUnit properties.

A gate file is TOML.  Each ``[flows.NAME]`` table names a flow (its
``Flow.name``) and the thresholds its campaigns must meet::

    [flows.deal_won]
    mode = "orchestrated"                 # which mode's runs and findings are judged
    min_examples = 50                     # examples actually run, summed over campaigns
    min_duplicate_prevention_success = 1.0
    max_duplicate_effects_escaped = 0
    max_manual_fallback_frequency = 0.3
    max_time_to_recovery_p90 = 600        # seconds, in the run's clock
    max_runs_failed = 0
    max_failed_run_rate = 0.05            # runs ended failed / accepted runs
    [flows.deal_won.max_findings]
    duplicate_effect = 0
    silent_loss = 0

Every threshold is optional; a flow table with none of them requires that
the flow ran and that it has no finding of a silent class (``duplicate_effect``,
``silent_loss``, ``bad_value``: harm nobody sees when it happens); a
``max_findings`` entry for such a class (or for ``total``) replaces that
default.  ``partial_effect`` (a loud failure that left effects behind) and the
other loud classes are judged only when named.  :func:`load_gate` parses the file into a frozen
:class:`Gate` and rejects a typo or a wrong type with a
:class:`~harness.errors.ConfigError` naming the file, the key, the bad value
and the valid choices.  :func:`evaluate` is pure: it takes what was measured
(metrics, findings, examples per flow) and returns a :class:`GateResult` that
renders itself as terminal text, Markdown and JUnit properties.
:func:`evaluate_ledger` measures the given campaigns from a ledger first.

How campaigns combine when a flow ran several (several tests, several xdist
workers): examples, escaped duplicate effects and failed runs are summed;
duplicate prevention success and manual fallback frequency are recomputed
from the summed counts (prevented / duplicate deliveries, manual runs /
accepted runs); the p90 time to recovery is the worst campaign's p90, because
percentiles cannot be merged and a gate must not hide a bad campaign.
A metric that was not measured (no duplicate delivery, no recovery) passes
and is shown as ``n/a``; ``min_examples`` guards against a campaign that did
not run.
"""

from harness.gate._evaluate import evaluate, evaluate_ledger
from harness.gate._file import (
    FINDING_CLASSES,
    GATE_MODES,
    SILENT_DEFAULTS,
    THRESHOLDS,
    FlowGate,
    Gate,
    load_gate,
    parse_gate,
)
from harness.gate._measure import FindingLike, FlowMeasures, MetricsLike, measure
from harness.gate._result import Check, GateResult

__all__ = [
    "FINDING_CLASSES",
    "GATE_MODES",
    "SILENT_DEFAULTS",
    "THRESHOLDS",
    "Check",
    "FindingLike",
    "FlowGate",
    "FlowMeasures",
    "Gate",
    "GateResult",
    "MetricsLike",
    "evaluate",
    "evaluate_ledger",
    "load_gate",
    "measure",
    "parse_gate",
]
