"""The words every room uses for how a run ended and what kind of error stopped it.

Defined here, below every room, so the policy (which names error classes), the
orchestrator and the ledger (which stores them) share one definition;
:mod:`harness.ledger.records` re-exports them.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["END_STATES", "ERROR_CLASSES", "EndState", "ErrorClass", "Mode"]

EndState = Literal["succeeded", "suppressed", "manual", "failed"]
END_STATES: tuple[str, ...] = ("succeeded", "suppressed", "manual", "failed")

ErrorClass = Literal["transient", "logical", "duplicate", "unknown"]
ERROR_CLASSES: tuple[str, ...] = ("transient", "logical", "duplicate", "unknown")

Mode = Literal["bare", "orchestrated", "production"]
