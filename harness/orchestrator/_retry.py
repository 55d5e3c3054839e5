"""Backoff with full jitter, capped, honouring ``Retry-After``."""

from __future__ import annotations

import random

from harness.policy import RetryPolicy

__all__ = ["backoff_cap", "backoff_delay"]


def backoff_cap(policy: RetryPolicy, failed_attempt: int) -> float:
    """The upper bound of the jittered delay after attempt ``failed_attempt`` (1-based)."""
    exponent = max(0, failed_attempt - 1)
    try:
        raw = policy.base_delay * policy.multiplier**exponent
    except OverflowError:
        raw = policy.max_delay
    return float(min(policy.max_delay, raw))


def backoff_delay(
    policy: RetryPolicy,
    failed_attempt: int,
    rng: random.Random,
    *,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait before the attempt after ``failed_attempt``.

    Full jitter (uniform in ``[0, cap]``, the AWS architecture blog's
    recommendation: it spreads a herd of clients best), where ``cap`` is
    :func:`backoff_cap`.  When the server sent ``Retry-After`` and the policy
    honours it, the delay is at least that long, so we never come back before
    the server said we may; it is then capped at the policy's ``deadline``
    (the caller stops retrying when even that does not fit).
    """
    delay = rng.uniform(0.0, backoff_cap(policy, failed_attempt))
    if retry_after is not None and policy.honour_retry_after:
        delay = max(delay, min(float(retry_after), policy.deadline))
    return delay
