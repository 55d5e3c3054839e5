"""A flow file for ``harness inbox retry --flow`` in the tests (quick retries on the wall clock)."""

from _orch_support import make_flow

from harness import Policy, RetryPolicy

flow = make_flow("bill", policy=Policy(retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)))
