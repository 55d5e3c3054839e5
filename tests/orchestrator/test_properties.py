"""Properties: backoff stays in bounds, logical errors are never retried, one end state per run."""

from __future__ import annotations

import random
from typing import Any

from _orch_support import Recorder, make_flow, order
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import Policy, RetryPolicy, VirtualClock
from harness.ledger.records import END_STATES
from harness.orchestrator import MemoryDedupe, Orchestrator, backoff_cap, backoff_delay

policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 100),
    base_delay=st.floats(0.001, 100.0),
    multiplier=st.floats(1.0, 10.0),
    max_delay=st.floats(0.001, 3600.0),
    deadline=st.floats(1.0, 86400.0),
)


@settings(deadline=None, max_examples=200, derandomize=True)
@given(
    policy=policies,
    attempt=st.integers(1, 200),
    seed=st.integers(0, 2**32),
    retry_after=st.none() | st.floats(0.0, 10**6),
)
def test_backoff_delay_stays_within_its_bounds(
    policy: RetryPolicy, attempt: int, seed: int, retry_after: float | None
) -> None:
    delay = backoff_delay(policy, attempt, random.Random(seed), retry_after=retry_after)
    cap = backoff_cap(policy, attempt)
    assert 0.0 <= cap <= policy.max_delay
    assert cap <= policy.base_delay * policy.multiplier ** (attempt - 1) + 1e-9 or cap == policy.max_delay
    if retry_after is None:
        assert 0.0 <= delay <= cap
    else:
        assert delay >= min(retry_after, policy.deadline) - 1e-9
        assert delay <= max(cap, min(retry_after, policy.deadline)) + 1e-9


@settings(deadline=None, max_examples=50, derandomize=True)
@given(policy=policies, attempts=st.integers(2, 12))
def test_backoff_cap_never_decreases(policy: RetryPolicy, attempts: int) -> None:
    caps = [backoff_cap(policy, n) for n in range(1, attempts + 1)]
    assert caps == sorted(caps)


class Logical(Exception):
    pass


# one outcome per attempt: ok, a transient error, a logical error, an unknown error
OUTCOMES = st.lists(st.sampled_from(["ok", "transient", "logical", "unknown"]), min_size=1, max_size=8)


def scripted(outcomes: list[str]) -> Any:
    import requests

    script = iter(outcomes)

    def automation(event: Any) -> Any:
        what = next(script, "ok")
        if what == "transient":
            raise requests.ConnectionError("connection reset")
        if what == "logical":
            response = requests.Response()
            response.status_code = 400
            raise requests.HTTPError("400 Bad Request", response=response)
        if what == "unknown":
            raise KeyError("properties")
        return {"status": "ok"}

    return automation


@settings(
    deadline=None,
    max_examples=150,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    outcomes=OUTCOMES,
    max_attempts=st.integers(1, 6),
    retry_unknown=st.booleans(),
    bad_event=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_every_run_ends_in_exactly_one_end_state_and_logical_errors_are_never_retried(
    outcomes: list[str], max_attempts: int, retry_unknown: bool, bad_event: bool, seed: int
) -> None:
    flow = make_flow(
        scripted(outcomes),
        policy=Policy(retry=RetryPolicy(max_attempts=max_attempts, retry_unknown=retry_unknown)),
    )
    recorder = Recorder()
    orch = Orchestrator(
        flow, clock=VirtualClock(), rng=random.Random(seed), dedupe=MemoryDedupe(), sink=recorder
    )
    event = order(email="nope") if bad_event else order()
    result = orch.handle(event)
    run = result.run

    # exactly one end state, one end event, recorded once
    assert run.end_state in END_STATES
    ends = [e for e in run.events if e.kind == "end"]
    assert len(ends) == 1 and ends[0].detail["end_state"] == run.end_state
    assert recorder.runs == [run]
    assert (result.inbox_item is not None) == (run.end_state == "manual")

    if bad_event:
        assert run.end_state == "manual" and run.attempts == 0
        return
    # replay the script to know what must have happened
    expected_attempts = 0
    expected_end = "manual"
    for n, what in enumerate(outcomes + ["ok"] * max_attempts, start=1):
        expected_attempts = n
        if what == "ok":
            expected_end = "succeeded"
            break
        retryable = what == "transient" or (what == "unknown" and retry_unknown)
        if not retryable or n == max_attempts:
            break
    assert run.attempts == expected_attempts
    assert run.end_state == expected_end
    # a logical error is never followed by another attempt
    errors = [e for e in run.events if e.kind == "error"]
    for err in errors:
        if err.error_class == "logical":
            later = [e for e in run.events if e.seq > err.seq and e.kind == "attempt"]
            assert later == []
    assert run.retries == len([e for e in run.events if e.kind == "retry_scheduled"])
    assert run.retries == run.attempts - 1
