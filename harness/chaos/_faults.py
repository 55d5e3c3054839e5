"""The fault model: named, registered injectors with parameters, at two boundaries.

* **trigger** faults change what is delivered: ``duplicate`` (the same event
  again, ``attemptNumber`` incremented), ``redelivery`` (the same object under
  a new event id, or the same id for senders whose retries keep it),
  ``out_of_order`` (an event that happened earlier arrives later) and
  ``bad_value`` (a missing, null, empty or wrong-typed value in the event or in
  a record the automation reads).
* **transport** faults change what an HTTP call meets, as an interceptor in
  :attr:`harness.systems.World.interceptors`: a status before execution
  (``server_error``, ``rate_limited``, ``client_error`` in the vendor's error
  shape), ``execute_then_timeout`` (the server acts, the client sees a
  timeout), ``stall``, ``slow``, ``connection_reset`` and ``outage`` of a whole
  system for a window of virtual time.

A registry of :class:`FaultKind` by name; registering a name twice fails at
once, and an unknown name is a :class:`~harness.errors.UsageError` listing
the known ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

from harness._shared.redact import redact_url
from harness._shared.samedef import same_definition
from harness._shared.wire import ConnectionReset, Request, Response, Timeout, VirtualClock
from harness.errors import (
    InvalidTypeError,
    InvalidValueError,
    NameTakenError,
    UsageError,
    did_you_mean,
)
from harness.systems import (
    DEFAULT_ID_SHAPES,
    CallContext,
    SystemDescriptor,
    World,
    known_descriptor,
    template_endpoint,
)

__all__ = [
    "STALL_CAP",
    "FaultKind",
    "TransportInjector",
    "endpoint_in",
    "endpoint_of",
    "fault_kinds",
    "fault_names",
    "get_fault",
    "register_fault",
    "vendor_error",
]

Boundary = Literal["trigger", "transport"]
Next = Callable[[Request], Response]
#: ``inject(request, ctx, call_next, params, injector)``; the injector gives
#: ``clock`` and ``error(system, status, retry_after=None)``
Inject = Callable[[Request, CallContext, Next, Mapping[str, Any], "TransportInjector"], Response]

#: how long the harness lets a call without a timeout hang on a stall before it
#: cuts it: an hour, long enough that any deadline is visibly passed
STALL_CAP = 3600.0


@dataclass(frozen=True)
class FaultKind:
    """One kind of fault.

    ``params`` maps each parameter to the values scenarios draw from (the
    first is the simplest, the one shrinking moves toward).  ``transient``
    says whether a well-built client should retry it.  ``inject`` is set for
    transport faults: ``inject(request, ctx, call_next, params, injector)``
    returns a response or raises a :class:`~harness._shared.wire.TransportFault`.
    ``persistent`` faults (a logical 4xx) hit every matching call once armed.
    """

    name: str
    boundary: Boundary
    description: str
    _: KW_ONLY
    transient: bool = True
    params: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    inject: Inject | None = None
    persistent: bool = False
    system_wide: bool = False


_REGISTRY: dict[str, FaultKind] = {}


def register_fault(kind: FaultKind) -> FaultKind:
    """Add ``kind`` to the registry and return the registered kind.

    Registering the same definition again (a flow file imported by name and
    again by :func:`~harness.load_flow`) is harmless and returns the kind
    already registered; a different kind under a taken name is a
    :class:`~harness.errors.NameTakenError`.
    """
    if not isinstance(kind, FaultKind):
        raise InvalidTypeError(f"register_fault: expected a harness.FaultKind, got {kind!r}")
    if kind.boundary == "transport" and kind.inject is None:
        raise InvalidValueError(
            f"register_fault: transport fault {kind.name!r} needs an 'inject' function"
        )
    taken = _REGISTRY.get(kind.name)
    if taken is not None:
        if same_definition(taken, kind):
            return taken
        raise NameTakenError(
            f"register_fault: a different fault named {kind.name!r} is already registered "
            f"({taken.boundary} boundary: {taken.description}); choose another name"
        )
    _REGISTRY[kind.name] = kind
    return kind


def fault_names() -> list[str]:
    return sorted(_REGISTRY)


def fault_kinds(boundary: Boundary | None = None) -> list[FaultKind]:
    """Registered kinds in registration order (simplest first), optionally of one boundary."""
    return [k for k in _REGISTRY.values() if boundary is None or k.boundary == boundary]


def get_fault(name: str) -> FaultKind:
    """The fault called ``name``; :class:`UsageError` listing the names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(
            f"unknown fault {name!r}{did_you_mean(name, _REGISTRY)}; known faults: "
            f"{', '.join(fault_names())}"
        ) from None


# -- endpoints -------------------------------------------------------------------


def endpoint_of(method: str, path: str, descriptor: SystemDescriptor | None = None) -> str:
    """``"POST /v1/invoices/{id}/finalize"``: the method and path with ids templated.

    Ids are recognised by ``descriptor``'s id shapes, or by the common shapes
    (numeric, UUID, long hex, prefixed like ``cus_…``) without one.
    """
    if descriptor is not None:
        return descriptor.endpoint(method, path)
    return template_endpoint(method, path, DEFAULT_ID_SHAPES)


def endpoint_in(world: Any, system: str, method: str, path: str) -> str:
    """The endpoint of a call to ``system`` in ``world``, templated by that system's descriptor."""
    if world is None:
        return endpoint_of(method, path)
    descriptor: SystemDescriptor = world.descriptor(system)
    return descriptor.endpoint(method, path)


# -- error shapes ------------------------------------------------------------------


def vendor_error(
    descriptor: SystemDescriptor | str, status: int, *, retry_after: float | None = None
) -> Response:
    """An error response in the shape ``descriptor`` declares (its :class:`~harness.systems.ErrorShape`).

    A system name instead of a descriptor is looked up among the descriptors
    of the loaded fakes (:func:`harness.systems.known_descriptor`); an unknown
    name gets the generic shape.
    """
    if isinstance(descriptor, str):
        descriptor = known_descriptor(descriptor)
    headers = descriptor.error_headers(status)
    if retry_after is not None:
        headers["Retry-After"] = str(int(max(1, retry_after)))
    return Response.of_json(status, descriptor.error_body(status, None), headers)


# -- transport injectors ----------------------------------------------------------


def _label(ctx: CallContext, name: str, params: Mapping[str, Any]) -> None:
    ctx.fault = name
    if params:
        ctx.notes["fault_params"] = dict(params)


def _stall_for(request: Request, env: TransportInjector, ctx: CallContext) -> None:
    """Advance the clock as a stalled client would wait: its timeout, or the cap."""
    if request.timeout is None:
        ctx.notes["unbounded"] = True
        env.clock.advance(STALL_CAP)
    else:
        env.clock.advance(request.timeout)


def _timeout_error(request: Request, *, executed: bool) -> Timeout:
    where = f"{request.method} {redact_url(request.url)}"
    if request.timeout is None:
        return Timeout(
            f"no response to {where}: the client set no timeout and would have waited forever; "
            f"harness cut the call after {STALL_CAP:.0f}s of virtual time",
            executed=executed,
        )
    return Timeout(f"read timed out after {request.timeout}s ({where})", executed=executed)


def _server_error(req: Request, ctx: CallContext, nxt: Next, params: Mapping[str, Any], env: TransportInjector) -> Response:
    _label(ctx, "server_error", params)
    return env.error(ctx.system, int(params.get("status", 503)))


def _rate_limited(req: Request, ctx: CallContext, nxt: Next, params: Mapping[str, Any], env: TransportInjector) -> Response:
    _label(ctx, "rate_limited", params)
    return env.error(ctx.system, 429, retry_after=float(params.get("retry_after", 1)))


def _client_error(req: Request, ctx: CallContext, nxt: Next, params: Mapping[str, Any], env: TransportInjector) -> Response:
    _label(ctx, "client_error", params)
    # the system's usual logical rejection, as its descriptor declares it: a
    # payment API declines with 402, a support desk refuses an invalid record with 422
    errors = env.descriptor(ctx.system).errors
    status = errors.invalid if params.get("kind", "rejected") == "invalid" else errors.declined
    return env.error(ctx.system, status)


def _execute_then_timeout(
    req: Request, ctx: CallContext, nxt: Next, params: Mapping[str, Any], env: TransportInjector
) -> Response:
    _label(ctx, "execute_then_timeout", params)
    response = nxt(req)
    # the server acted (if it answered 2xx); the response is lost on the way back
    executed = 200 <= response.status < 300
    ctx.executed = ctx.executed or executed
    _stall_for(req, env, ctx)
    raise _timeout_error(req, executed=executed)


def _stall(req: Request, ctx: CallContext, nxt: Next, params: Mapping[str, Any], env: TransportInjector) -> Response:
    _label(ctx, "stall", params)
    _stall_for(req, env, ctx)
    raise _timeout_error(req, executed=False)


def _slow(req: Request, ctx: CallContext, nxt: Next, params: Mapping[str, Any], env: TransportInjector) -> Response:
    _label(ctx, "slow", params)
    seconds = float(params.get("seconds", 5))
    if req.timeout is not None and seconds > req.timeout:
        # the answer comes after the client gave up: it acted, the client cannot know
        response = nxt(req)
        executed = 200 <= response.status < 300
        ctx.executed = ctx.executed or executed
        env.clock.advance(req.timeout)
        raise _timeout_error(req, executed=executed)
    env.clock.advance(seconds)
    return nxt(req)


def _connection_reset(
    req: Request, ctx: CallContext, nxt: Next, params: Mapping[str, Any], env: TransportInjector
) -> Response:
    _label(ctx, "connection_reset", params)
    raise ConnectionReset(
        f"connection reset by peer ({req.method} {redact_url(req.url)})", executed=False
    )


def _outage(req: Request, ctx: CallContext, nxt: Next, params: Mapping[str, Any], env: TransportInjector) -> Response:
    _label(ctx, "outage", params)
    return env.error(ctx.system, 503)


for _kind in (
    FaultKind("duplicate", "trigger", "the same event delivered again, attemptNumber incremented"),
    FaultKind(
        "redelivery",
        "trigger",
        "the same object delivered again under a new event id (the same id where the sender's "
        "retries keep it (Trigger.redelivery_keeps_id); an overlapping tick for a schedule)",
    ),
    FaultKind("out_of_order", "trigger", "an event that happened earlier arrives after a later one"),
    FaultKind(
        "bad_value",
        "trigger",
        "a value missing, null, empty or of the wrong type, in the event or in a record read",
        transient=False,
        params={"how": ("null", "empty", "absent", "wrong_type", "zero")},
    ),
    FaultKind(
        "server_error", "transport", "a 5xx in the vendor's error shape, before execution",
        params={"status": (503, 500, 502)}, inject=_server_error,
    ),
    FaultKind(
        "rate_limited", "transport", "429 with Retry-After, before execution",
        params={"retry_after": (1, 5, 30)}, inject=_rate_limited,
    ),
    FaultKind(
        "client_error", "transport",
        "a logical 4xx in the vendor's shape, persisting: kind 'rejected' is the vendor's usual "
        "refusal (the descriptor's 'declined' status: a card declined, a record refused), "
        "'invalid' its 'invalid' status",
        transient=False, params={"kind": ("rejected", "invalid")}, inject=_client_error,
        persistent=True,
    ),
    FaultKind(
        "execute_then_timeout", "transport",
        "the server acts, the response is lost: the client sees a timeout",
        inject=_execute_then_timeout,
    ),
    FaultKind(
        "stall", "transport",
        "no answer: a client with a timeout times out, one without would hang",
        inject=_stall,
    ),
    FaultKind(
        "slow", "transport", "the answer comes after some seconds (past a short timeout: lost)",
        params={"seconds": (3, 8, 30)}, inject=_slow,
    ),
    FaultKind("connection_reset", "transport", "the connection is reset before the request is sent",
              inject=_connection_reset),
    FaultKind(
        "outage", "transport", "the whole system answers 503 for a window of virtual time",
        params={"seconds": (60, 600)}, inject=_outage, system_wide=True,
    ),
):
    register_fault(_kind)


# -- the interceptor ---------------------------------------------------------------


@dataclass
class _Armed:
    kind: FaultKind
    system: str
    endpoint: str
    params: Mapping[str, Any]
    remaining: int
    window_end: float | None = None  # outages: virtual time the window closes
    hits: int = 0


class TransportInjector:
    """The chaos interceptor: applies armed transport faults to matching calls.

    A fault armed with :meth:`arm` hits the next ``times`` calls to its
    system and endpoint (``"*"``: any endpoint); a persistent fault hits every
    later match; an outage makes its system answer 503 from the first call it
    meets until ``seconds`` of virtual time have passed.  Counts of injected
    faults by kind are kept in :attr:`injected`.
    """

    def __init__(self, clock: VirtualClock, world: World | None = None) -> None:
        self.clock = clock
        self.world = world
        self.armed: list[_Armed] = []
        self.injected: dict[str, int] = {}
        self.enabled = True

    def descriptor(self, system: str) -> SystemDescriptor:
        """The descriptor of ``system`` (from the world, else among the loaded fakes)."""
        if self.world is not None:
            return self.world.descriptor(system)
        return known_descriptor(system)

    def error(self, system: str, status: int, *, retry_after: float | None = None) -> Response:
        """``system``'s own error response: the fake's, else one in its descriptor's shape."""
        if self.world is not None:
            try:
                fake = self.world.system(system)
            except KeyError:
                fake = None
            if fake is not None and hasattr(fake, "error_response"):
                response: Response = fake.error_response(status, retry_after=retry_after)
                return response
        return vendor_error(self.descriptor(system), status, retry_after=retry_after)

    def arm(self, kind: FaultKind, system: str, endpoint: str, params: Mapping[str, Any], times: int) -> None:
        self.armed.append(_Armed(kind, system, endpoint, dict(params), times))

    def _match(self, armed: _Armed, request: Request, system: str) -> bool:
        if armed.system != system:
            return False
        if armed.kind.system_wide:
            if armed.window_end is None:
                return True
            return self.clock.now() < armed.window_end
        if armed.remaining <= 0 and not armed.kind.persistent:
            return False
        return armed.endpoint in ("*", endpoint_in(self.world, system, request.method, request.path))

    def __call__(self, request: Request, ctx: CallContext, call_next: Next) -> Response:
        if not self.enabled:
            return call_next(request)
        for armed in self.armed:
            if self._match(armed, request, ctx.system):
                if armed.kind.system_wide and armed.window_end is None:
                    armed.window_end = self.clock.now() + float(armed.params.get("seconds", 60))
                armed.remaining -= 1
                armed.hits += 1
                self.injected[armed.kind.name] = self.injected.get(armed.kind.name, 0) + 1
                assert armed.kind.inject is not None
                return armed.kind.inject(request, ctx, call_next, armed.params, self)
        return call_next(request)


def params_text(params: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> str:
    items = params.items() if isinstance(params, Mapping) else params
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in items)
