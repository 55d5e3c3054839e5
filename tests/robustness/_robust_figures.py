"""The figures the robustness tests use, in one place so the README section cannot drift from them."""

from __future__ import annotations

#: SIGKILLs sent to a running campaign process by the crash test
KILLS = 55
#: Hypothesis examples per fuzzing property (loaders, parsers)
FUZZ_EXAMPLES = 150
#: Hypothesis examples of the secrets property
SECRET_EXAMPLES = 5
#: threads writing one ledger beside the xdist workers in the concurrency test
WRITER_THREADS = 4
#: Hypothesis examples of the redaction property (every secret shape in any position)
REDACTION_EXAMPLES = 400
