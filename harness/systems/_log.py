"""The call and write logs of a world: what crossed the transport boundary and what the fakes changed.

Kept apart from :mod:`harness.systems._world` so that the inspection helpers
(:mod:`harness.systems._inspect`) can name a :class:`Write` without importing the world.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

from harness._shared.wire import Request, Response

__all__ = ["Call", "CallContext", "Interceptor", "Next", "Outcome", "Write", "last_call"]

Outcome = Literal["ok", "failed", "unknown"]


@dataclass(frozen=True, slots=True)
class Write:
    """One state change made by a fake; ground truth for the oracles.

    ``kind`` is the record kind (``"invoice"``), ``action`` is ``create``,
    ``update``, ``delete`` or a vendor verb such as ``finalize``; ``record`` is
    the record as stored after the change; ``tag`` the delivery that was
    current when it happened (``None`` outside any delivery).
    """

    seq: int
    system: str
    kind: str
    object_id: str
    action: str
    at: float
    record: Mapping[str, Any]
    request: Request | None
    tag: str | None


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP call as it crossed the transport boundary.

    ``status`` is the status the client saw (``None`` when it saw a transport
    fault, named in ``error``).  ``executed`` says whether the server acted.
    ``outcome`` is ``ok`` (2xx seen), ``failed`` (non-2xx seen, or no response
    and the server did not act) or ``unknown`` (no response although the
    server acted: the client cannot know).  ``latency`` is in the world's clock.
    ``timeout`` is the client's read timeout (``None``: none set).
    """

    seq: int
    tag: str | None
    system: str
    method: str
    url: str
    status: int | None
    error: str | None
    latency: float
    fault: str | None
    executed: bool
    outcome: Outcome
    timeout: float | None
    started_at: float
    request: Request
    response: Response | None


@dataclass
class CallContext:
    """Mutable notes about the call in flight, shared along the interceptor chain.

    Interceptors set ``fault`` to the label of the fault they injected and
    ``executed`` when they let the server act before failing the client.
    """

    system: str
    tag: str | None
    started_at: float
    _: KW_ONLY
    fault: str | None = None
    executed: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


#: the last :class:`Call` logged in the current context (thread or task); ``None`` before any
last_call: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "harness_last_call", default=None
)

Next = Callable[[Request], Response]
Interceptor = Callable[[Request, CallContext, Next], Response]
