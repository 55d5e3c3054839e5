"""The crash test's flow (``_crash_flow.py``) with a circuit breaker that cools down in 1 s.

Two workers share the vendor's transient faults (every third order's first
customer create answers 503, every fifth order's first invoice item drops):
with a backlog after each kill, five of them fall within the default breaker
window and open it for 30 s, which is right in production and only slows
this test down.  Everything else is the single-process campaign's flow.
"""

from __future__ import annotations

import dataclasses

from _crash_flow import flow as _base

from harness import Policy
from harness.policy import BreakerPolicy

flow = dataclasses.replace(
    _base,
    policy=Policy(retry=_base.policy.retry, breaker=BreakerPolicy(failures=5, window=60.0, cooldown=1.0)),
)
