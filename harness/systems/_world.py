"""The world of fake systems: routing, the fault-hook chain, the call log, the write log.

A :class:`World` owns a set of fake systems (HubSpot, Stripe, Zendesk, record
stores), one clock, and two logs that are the ground truth the oracles judge:

* ``calls``: every HTTP call that reached the transport boundary, with the
  fault injected on it and what the client saw (:class:`Call`);
* ``writes``: every state change a fake made, with the request that caused it
  and the delivery tag that was current (:class:`Write`).

Fault injection lives above this room (``harness.chaos``); it plugs in through
:attr:`World.interceptors`, a chain of plain callables in the style of
structlog processors: each receives the request, the per-call
:class:`CallContext` and ``call_next``, and either returns a response, raises a
:class:`~harness._shared.wire.TransportFault`, or delegates.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar, overload

from harness._shared.redact import redact_url
from harness._shared.wire import (
    Clock,
    Request,
    Response,
    TransportFault,
    UnfakedHost,
    VirtualClock,
)
from harness.errors import InvalidTypeError, InvalidValueError, NotFoundError
from harness.systems._base import FakeSystem
from harness.systems._descriptor import SystemDescriptor
from harness.systems._inspect import RecordOrigin, Snapshot, records_of
from harness.systems._intercept import intercept, parse_passthrough
from harness.systems._log import Call, CallContext, Interceptor, Next, Outcome, Write, last_call

__all__ = [
    "Call",
    "CallContext",
    "Interceptor",
    "Next",
    "Outcome",
    "System",
    "World",
    "Write",
    "created_by",
    "last_call",
    "passthrough_endpoints",
    "records_with_origin",
    "restore",
    "snapshot",
]


class System(Protocol):
    """What a fake system provides to the :class:`World`.

    ``name`` is short and stable (``"stripe"``); ``matches(host)`` says whether
    the system serves that host; ``handle`` answers one request and must never
    raise for a malformed request (it answers with the vendor's error shape).
    Writes are reported through ``world.record_write`` (set by ``attach``).
    """

    name: str

    def attach(self, world: World) -> None:
        """Called once when added to a world: keep the world for clock and write log."""

    def matches(self, host: str) -> bool:
        """Whether this system serves ``host``."""

    def handle(self, request: Request) -> Response:
        """Answer ``request`` with the vendor's semantics."""

    def reset(self) -> None:
        """Forget all state (records, idempotency keys, logs)."""

    def records(self) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        """Every record, grouped by kind (``"customer"``, ``"ticket"`` ...)."""


_S = TypeVar("_S")

class World:
    """A set of fake systems sharing one clock, one call log and one write log.

    Use :meth:`activate` to route the ``requests`` and ``httpx`` calls of the
    current process to the fakes; calls to any other host are refused
    (:class:`~harness._shared.wire.UnfakedHost`) and recorded, never sent.
    """

    def __init__(
        self,
        systems: Sequence[System] = (),
        *,
        clock: Clock | None = None,
        passthrough: Sequence[str] = (),
    ) -> None:
        self.clock: Clock = clock if clock is not None else VirtualClock()
        #: ``(host, port)`` endpoints the automation may reach for real inside
        #: :meth:`activate` (a local test database): named, never implied
        self.passthrough: tuple[tuple[str, int], ...] = passthrough_endpoints(passthrough)
        self.systems: list[System] = []
        self.interceptors: list[Interceptor] = []
        self.calls: list[Call] = []
        self.writes: list[Write] = []
        self.tag: str | None = None
        self._seq = itertools.count(1)
        self._wseq = itertools.count(1)
        self._lock = threading.RLock()
        self._current_request: threading.local = threading.local()
        for system in systems:
            self.add(system)

    # -- systems -----------------------------------------------------------

    def add(self, system: System) -> System:
        """Add ``system``; a second system with the same name is an error."""
        if any(s.name == system.name for s in self.systems):
            raise InvalidValueError(f"a system named {system.name!r} is already in this world")
        self.systems.append(system)
        system.attach(self)
        return system

    @overload
    def system(self, name: str) -> Any: ...

    @overload
    def system(self, name: str, kind: type[_S]) -> _S: ...

    def system(self, name: str, kind: type[Any] | None = None) -> Any:
        """The system called ``name``, typed as ``kind`` when given.

        ``world.system("stripe", Stripe)`` is a :class:`~harness.systems.Stripe`
        to the type checker and checked at run time
        (:class:`~harness.errors.InvalidTypeError` names both types when it is
        another); without ``kind`` the result is untyped, as a test script
        reaching for a fake's helpers wants it.  An unknown name is a
        :class:`~harness.errors.NotFoundError` (a ``KeyError``) listing the names.
        """
        for s in self.systems:
            if s.name == name:
                if kind is not None and not isinstance(s, kind):
                    raise InvalidTypeError(
                        f"world.system({name!r}): the system is a {type(s).__name__}, "
                        f"not a {kind.__name__}"
                    )
                return s
        raise NotFoundError(f"no system {name!r}; this world has {[s.name for s in self.systems]}")

    def descriptor(self, name: str) -> SystemDescriptor:
        """The :class:`SystemDescriptor` of the system called ``name``.

        A system without a ``describe()`` method (or an unknown name: a refused
        host) gets a generic descriptor named after it.
        """
        for s in self.systems:
            if s.name == name:
                describe = getattr(s, "describe", None)
                if describe is not None:
                    described: SystemDescriptor = describe()
                    return described
                break
        safe = re.sub(r"[^a-z0-9_]", "_", name.lower()) or "system"
        if not safe[0].isalpha():
            safe = "s_" + safe
        return SystemDescriptor(name=safe)

    def system_for_request(self, request: Request) -> System | None:
        """The system serving ``request``.

        Systems that can judge the whole URL (a ``claims(request)`` method: the
        harness's fakes, which know configured ports and path prefixes such as
        ``https://gw.internal:8443/stripe``) are asked first; then
        :meth:`system_for` by host name.
        """
        for s in self.systems:
            claims = getattr(s, "claims", None)
            if claims is not None and claims(request):
                return s
        return self.system_for(request.host)

    def system_for(self, host: str) -> System | None:
        host = host.lower()
        for s in self.systems:
            if s.matches(host):
                return s
        return None

    # -- logs ----------------------------------------------------------------

    def record_write(
        self,
        system: str,
        kind: str,
        object_id: str,
        action: str,
        record: Mapping[str, Any],
    ) -> Write:
        """Called by fakes for every state change they make."""
        request = getattr(self._current_request, "value", None)
        write = Write(
            seq=next(self._wseq),
            system=system,
            kind=kind,
            object_id=str(object_id),
            action=action,
            at=self.clock.now(),
            record=dict(record),
            request=request,
            tag=self.tag,
        )
        with self._lock:
            self.writes.append(write)
        return write

    @contextlib.contextmanager
    def tagged(self, tag: str | None) -> Iterator[None]:
        """Attribute every call and write inside the block to ``tag``."""
        previous, self.tag = self.tag, tag
        try:
            yield
        finally:
            self.tag = previous

    def reset(self) -> None:
        """Forget every record, call and write; keep systems and interceptors."""
        for s in self.systems:
            s.reset()
        with self._lock:
            self.calls.clear()
            self.writes.clear()
        self._seq = itertools.count(1)
        self._wseq = itertools.count(1)

    # -- inspection (the types are in harness.systems._inspect) ---------------

    def snapshot(self) -> Snapshot:
        """A cheap :class:`~harness.systems.Snapshot` of every system's records.

        Shallow: fakes never mutate a stored record in place, so records are
        shared with the live state, never copied.
        """
        records: dict[str, dict[str, dict[str, Mapping[str, Any]]]] = {}
        states: dict[str, Any] = {}
        for system in self.systems:
            if isinstance(system, FakeSystem):
                state = system.state()
                states[system.name] = state
                records[system.name] = state[0]
            else:
                records[system.name] = records_of(system)
        return Snapshot(records, states, len(self.calls), len(self.writes), self.clock.now())

    def restore(self, snap: Snapshot, *, logs: bool = True) -> None:
        """Put every system back to ``snap`` (and, with ``logs``, truncate the call and write logs).

        Systems that are not :class:`~harness.systems._base.FakeSystem` (a custom
        :class:`~harness.systems.System`) cannot be restored:
        :class:`~harness.errors.InvalidTypeError` (a ``TypeError``) names them.
        """
        others = [s.name for s in self.systems if s.name not in snap.states]
        if others:
            raise InvalidTypeError(
                f"restore: systems {others} were not captured by the snapshot (only the harness's "
                "own fakes can be restored); call reset() on them instead"
            )
        for system in self.systems:
            system.restore_state(snap.states[system.name])  # type: ignore[attr-defined]
        if logs:
            with self._lock:
                del self.calls[snap.calls :]
                del self.writes[snap.writes :]

    def records_with_origin(self, system: str | None = None) -> list[RecordOrigin]:
        """Every record now held by the fakes, with the write (and request) that created it."""
        creates: dict[tuple[str, str, str], Write] = {}
        for write in self.writes:
            if write.action == "create":
                creates.setdefault((write.system, write.kind, write.object_id), write)
        out: list[RecordOrigin] = []
        for sys in self.systems:
            if system is not None and sys.name != system:
                continue
            for kind, rows in sys.records().items():
                for i, record in enumerate(rows):
                    oid = str(record.get("id", i))
                    out.append(RecordOrigin(sys.name, kind, oid, record, creates.get((sys.name, kind, oid))))
        return out

    def created_by(self, system: str, kind: str, object_id: str) -> Request | None:
        """The request that created ``system``/``kind``/``object_id`` (``None`` if seeded or absent)."""
        for write in self.writes:
            if (write.action == "create" and write.system == system and write.kind == kind
                    and write.object_id == str(object_id)):
                return write.request
        return None

    # -- the transport boundary -------------------------------------------

    def dispatch(self, request: Request) -> Response:
        """Serve one request through the interceptor chain and the fake.

        Always records a :class:`Call`.  Raises :class:`TransportFault`
        subclasses for calls that get no response.
        """
        system = self.system_for_request(request)
        started = self.clock.now()
        ctx = CallContext(
            system=system.name if system is not None else request.host,
            tag=self.tag,
            started_at=started,
        )
        response: Response | None = None
        error: TransportFault | None = None
        try:
            if system is None:
                ctx.fault = "unfaked_host"
                raise UnfakedHost(
                    f"harness refused a call to {request.host!r}: no fake system serves this "
                    f"host ({request.method} {redact_url(request.url)}); add a fake for it or "
                    "point the automation's base URL at a faked host"
                )
            response = self._chain(system, 0)(request, ctx)
            return response
        except TransportFault as exc:
            error = exc
            if exc.executed:
                ctx.executed = True
            raise
        finally:
            self._log_call(request, ctx, response, error)

    def dispatch_refused(self, request: Request) -> None:
        """Record ``request`` as refused (a raw connection to an unfaked endpoint) and raise.

        Always raises :class:`~harness._shared.wire.UnfakedHost`; the call is logged
        with fault ``unfaked_host`` like a refused HTTP call.
        """
        ctx = CallContext(
            system=request.host, tag=self.tag, started_at=self.clock.now(), fault="unfaked_host"
        )
        error = UnfakedHost(
            f"harness refused a connection to {request.host}:{request.parts.port}: no fake "
            "system serves it and it is not a named passthrough (nothing was sent); name it "
            "with passthrough=['HOST:PORT'] (or --passthrough HOST:PORT) if it is a local "
            "service the automation needs"
        )
        try:
            raise error
        finally:
            self._log_call(request, ctx, None, error)

    def _chain(self, system: System, index: int) -> Callable[[Request, CallContext], Response]:
        if index >= len(self.interceptors):

            def serve(req: Request, ctx: CallContext) -> Response:
                self._current_request.value = req
                try:
                    resp = system.handle(req)
                finally:
                    self._current_request.value = None
                # a fake that answered 2xx acted; its 4xx/5xx answers are validation
                # failures that changed nothing
                ctx.executed = ctx.executed or 200 <= resp.status < 300
                return resp

            return serve
        interceptor = self.interceptors[index]
        rest = self._chain(system, index + 1)

        def step(req: Request, ctx: CallContext) -> Response:
            return interceptor(req, ctx, lambda r: rest(r, ctx))

        return step

    def _log_call(
        self,
        request: Request,
        ctx: CallContext,
        response: Response | None,
        error: TransportFault | None,
    ) -> None:
        if response is not None:
            outcome: Outcome = "ok" if 200 <= response.status < 300 else "failed"
        elif ctx.executed:
            outcome = "unknown"
        else:
            outcome = "failed"
        call = Call(
            seq=next(self._seq),
            tag=ctx.tag,
            system=ctx.system,
            method=request.method,
            url=redact_url(request.url),
            status=response.status if response is not None else None,
            error=type(error).__name__ if error is not None else None,
            latency=self.clock.now() - ctx.started_at,
            fault=ctx.fault,
            executed=ctx.executed,
            outcome=outcome,
            timeout=request.timeout,
            started_at=ctx.started_at,
            request=request,
            response=response,
        )
        with self._lock:
            self.calls.append(call)
        # the orchestrator's HTTP hook, above the interception in the same context, reads
        # this to label its own call record with the fault injected at the boundary
        last_call.set(call)

    # -- interception ------------------------------------------------------

    @contextlib.contextmanager
    def activate(self, *, passthrough: Sequence[str] = ()) -> Iterator[World]:
        """Route every HTTP client of the process to this world inside the block.

        requests, urllib3, ``urllib.request``/``http.client``, httpx (sync and
        async) and aiohttp are served at the connection layer, under their own
        retries, pools and timeouts (see ``harness.systems._intercept``).
        Nothing leaves the process: a call to a host no fake serves, and a raw
        socket connection to any internet address, is refused and recorded,
        except the ``HOST:PORT`` endpoints named in :attr:`passthrough` or in
        ``passthrough`` here.  Everything patched is restored on exit, also
        when the block raises (``KeyboardInterrupt`` included).
        """
        allowed = (*self.passthrough, *passthrough_endpoints(passthrough))
        with intercept(self, passthrough=allowed):
            yield self


def passthrough_endpoints(specs: Sequence[str] | str) -> tuple[tuple[str, int], ...]:
    if isinstance(specs, str):
        specs = [specs]
    return tuple(parse_passthrough(s) for s in specs)


def snapshot(world: World) -> Snapshot:
    """Take a snapshot of every system of ``world`` (:meth:`World.snapshot`)."""
    return world.snapshot()


def restore(world: World, snap: Snapshot, *, logs: bool = True) -> None:
    """Put every system of ``world`` back to ``snap`` (:meth:`World.restore`)."""
    world.restore(snap, logs=logs)


def records_with_origin(world: World, system: str | None = None) -> list[RecordOrigin]:
    """Every record now held by ``world``'s fakes with its origin (:meth:`World.records_with_origin`)."""
    return world.records_with_origin(system)


def created_by(world: World, system: str, kind: str, object_id: str) -> Request | None:
    """The request that created a record in ``world`` (:meth:`World.created_by`)."""
    return world.created_by(system, kind, object_id)
