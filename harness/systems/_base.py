"""What every fake system shares: host matching, routing, the record store, fault hooks.

A fake is a :class:`FakeSystem` subclass that declares its routes (method, path
regex, handler) and renders errors in its vendor's shape.  The base class
guarantees the :class:`~harness.systems._world.System` contract:

* ``handle`` never raises: an unexpected exception inside a handler becomes the
  vendor's 500 error (and the exception is kept on :attr:`FakeSystem.crashes`
  so a bug in a fake is never silent);
* records live in one dict per kind and are **never mutated in place**: an
  update stores a new dict.  That makes a snapshot a cheap shallow copy and lets
  the write log and snapshots share record objects safely;
* every state change goes through :meth:`FakeSystem._store_record`, which feeds
  ``world.record_write`` (the oracles' ground truth).
"""

from __future__ import annotations

import random
import re
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from harness._shared.wire import Request, Response, VirtualClock
from harness.errors import InvalidValueError
from harness.systems._descriptor import SystemDescriptor

if TYPE_CHECKING:
    from harness.systems._world import World

__all__ = ["Failure", "FakeSystem", "HostRule", "iso8601", "parse_host_spec"]

Record = dict[str, Any]
Handler = Any  # each fake decides what a route points at

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True, slots=True)
class HostRule:
    """One host a fake serves: an exact name or a ``*.suffix`` wildcard, with a path prefix.

    ``prefix`` is the path of a configured base URL (``https://gw.internal/stripe``
    serves ``/stripe/v1/customers`` as ``/v1/customers``); ``port`` is the
    base URL's explicit port (``None``: any port).
    """

    host: str
    _: KW_ONLY
    prefix: str = ""
    port: int | None = None

    def claims(self, host: str, port: int | None, path: str) -> bool:
        """Whether a request to ``host:port`` with ``path`` belongs to this rule."""
        if not self.matches(host):
            return False
        if self.port is not None and port != self.port:
            return False
        return not self.prefix or path == self.prefix or path.startswith(self.prefix + "/")

    @property
    def wildcard(self) -> bool:
        return self.host.startswith("*.")

    def matches(self, host: str) -> bool:
        if self.wildcard:
            suffix = self.host[1:]  # ".zendesk.com"
            return host.endswith(suffix) and len(host) > len(suffix)
        return host == self.host


def parse_host_spec(spec: str) -> HostRule:
    """``"api.example.com"``, ``"*.example.com"`` or a base URL -> :class:`HostRule`.

    Raises :class:`~harness.errors.InvalidValueError` (a ``ValueError``) naming the spec when it has no host.
    """
    text = spec.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError as exc:
        raise InvalidValueError(f"extra_hosts: {spec!r} is not a host or base URL ({exc})") from None
    prefix = parts.path.rstrip("/")
    if not host or host in ("*", "*."):
        raise InvalidValueError(
            f"extra_hosts: {spec!r} names no host; expected a host name "
            "('billing.internal'), a wildcard ('*.example.com') or a base URL "
            "('https://billing.internal/stripe')"
        )
    return HostRule(host, prefix=prefix, port=port)


def iso8601(ts: float, *, millis: bool = True) -> str:
    """Epoch seconds -> ``2026-01-01T00:00:00.000Z`` (HubSpot) or without millis (Zendesk)."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Failure:
    """A scripted failure armed with :meth:`FakeSystem.fail_next`."""

    status: int
    method: str | None
    path: re.Pattern[str] | None
    remaining: int
    retry_after: float | None
    message: str | None

    def applies(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path is None or self.path.search(path) is not None


class FakeSystem:
    """Base of the vendor fakes; subclasses set ``name``, hosts, kinds and routes."""

    name: str = "fake"
    #: hosts served without configuration (exact names or ``*.suffix`` wildcards)
    default_hosts: tuple[str, ...] = ()
    #: record kinds this fake stores
    kinds: tuple[str, ...] = ()
    #: what engines ask about this system (hosts, ids, errors, idempotency, records);
    #: ``None``: a generic descriptor named after the fake (see :meth:`describe`)
    descriptor: ClassVar[SystemDescriptor | None] = None

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
    ) -> None:
        if isinstance(extra_hosts, str):
            extra_hosts = (extra_hosts,)
        rules = [HostRule(h) for h in self.default_hosts]
        rules.extend(parse_host_spec(h) for h in extra_hosts)
        self.host_rules: tuple[HostRule, ...] = tuple(rules)
        # rules with a port or a path prefix only claim whole URLs (see `claims`); the
        # plain ones also answer `matches(host)`
        self._specific = tuple(r for r in rules if r.port is not None or r.prefix)
        plain = [r for r in rules if r not in self._specific]
        self._exact = {r.host: r for r in plain if not r.wildcard}
        self._wild = tuple(r for r in plain if r.wildcard)
        if rate_limit is not None:
            count, window = rate_limit
            if int(count) < 1 or float(window) <= 0:
                raise InvalidValueError(
                    f"{self.name}: 'rate_limit' must be (requests >= 1, seconds > 0): {rate_limit!r}"
                )
        self.rate_limit = rate_limit
        self.world: World | None = None
        self.crashes: list[BaseException] = []
        self._seed = seed
        self._lock = threading.RLock()
        self._own_clock = VirtualClock()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._failures: list[Failure] = []
        self._hits: deque[float] = deque()
        self._store: dict[str, dict[str, Record]] = {}
        self._init_state()
        self._install_routes()

    # -- System protocol -----------------------------------------------------

    def describe(self) -> SystemDescriptor:
        """This system's :class:`SystemDescriptor` (a generic one when the class declares none)."""
        if self.descriptor is not None:
            return self.descriptor
        generic = self.__dict__.get("_generic_descriptor")
        if generic is None:
            generic = SystemDescriptor(name=self.name, hosts=self.default_hosts)
            self.__dict__["_generic_descriptor"] = generic
        return generic

    def attach(self, world: World) -> None:
        self.world = world

    def matches(self, host: str) -> bool:
        if host in self._exact:
            return True
        return any(r.matches(host) for r in self._wild)

    def claims(self, request: Request) -> bool:
        """Whether ``request`` is for this fake, judged on host, port and path prefix.

        Only rules with a port or a path prefix claim requests here; plain
        host rules are found through :meth:`matches`.
        """
        if not self._specific:
            return False
        parts = request.parts
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:
            return False
        path = parts.path or "/"
        return any(r.claims(host, port, path) for r in self._specific)

    def handle(self, request: Request) -> Response:
        """Answer ``request``; never raises (a crash becomes the vendor's 500)."""
        try:
            with self._lock:
                path = self._local_path(request)
                limited = self._rate_limited()
                if limited is not None:
                    return self.error_response(429, retry_after=limited)
                return self._serve(request, path)
        except Exception as exc:  # the contract: a fake answers, it never raises
            self.crashes.append(exc)
            return self.error_response(500)

    def reset(self) -> None:
        """Forget every record, key and scripted failure (ids restart from the seed)."""
        with self._lock:
            self._init_state()
            self._failures.clear()
            self._hits.clear()

    def records(self) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        """Every record by kind, oldest first (the stored dicts: do not mutate them)."""
        return {kind: list(self._store[kind].values()) for kind in self.kinds}

    # -- inspection and state ----------------------------------------------

    def get(self, kind: str, object_id: str) -> Mapping[str, Any] | None:
        """The stored record ``kind``/``object_id`` or ``None``."""
        return self._store[kind].get(str(object_id))

    def state(self) -> Any:
        """An opaque, cheap copy of the full state (records, counters, keys)."""
        with self._lock:
            return (
                {k: dict(v) for k, v in self._store.items()},
                self._rng.getstate(),
                self._counter_state(),
                self._extra_state(),
            )

    def restore_state(self, state: Any) -> None:
        """Go back to a state taken with :meth:`state` (records are shared, not copied)."""
        store, rng, counters, extra = state
        with self._lock:
            self._store.clear()
            self._store.update({k: dict(v) for k, v in store.items()})
            self._rng.setstate(rng)
            self._restore_counters(counters)
            self._restore_extra(extra)

    # -- fault hooks -----------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` in the vendor's shape.

        Unlike an interceptor returning an error *before* the fake, the failure
        happens inside the endpoint: for Stripe the answer is stored under the
        request's idempotency key and replayed, as Stripe documents for 500s.
        ``path`` is a regular expression searched in the request path.
        """
        if not 400 <= int(status) <= 599:
            raise InvalidValueError(f"fail_next: 'status' must be a 4xx or 5xx code: {status!r}")
        if int(times) < 1:
            raise InvalidValueError(f"fail_next: 'times' must be >= 1: {times!r}")
        with self._lock:
            self._failures.append(
                Failure(
                    int(status),
                    method.upper() if method else None,
                    re.compile(path) if path else None,
                    int(times),
                    retry_after,
                    message,
                )
            )

    def _scripted_failure(self, request: Request, path: str) -> Response | None:
        for failure in self._failures:
            if failure.applies(request.method, path):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return self.error_response(
                    failure.status, retry_after=failure.retry_after, message=failure.message
                )
        return None

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        """A ``status`` error in this vendor's shape (429 carries ``Retry-After``).

        The default builds it from the descriptor's :class:`~harness.systems.ErrorShape`.
        """
        descriptor = self.describe()
        headers = descriptor.error_headers(status)
        if retry_after is not None:
            headers["Retry-After"] = str(int(max(1, retry_after)))
        return Response.of_json(status, descriptor.error_body(status, message), headers)

    # -- subclass hooks ----------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Handler]]:
        return ()

    def _serve(self, request: Request, path: str) -> Response:
        raise NotImplementedError

    def _init_state(self) -> None:
        self._store = {kind: {} for kind in self.kinds}
        self._rng = random.Random(f"{self.name}:{self._seed}")
        self._next_id = 1

    def _counter_state(self) -> Any:
        return self._next_id

    def _restore_counters(self, state: Any) -> None:
        self._next_id = state

    def _extra_state(self) -> Any:
        return None

    def _restore_extra(self, state: Any) -> None:
        return None

    # -- helpers for subclasses --------------------------------------------------

    def _install_routes(self) -> None:
        self._routes = [
            (method, re.compile(pattern), handler)
            for method, pattern, handler in self._routes_table()
        ]

    def _route(self, request: Request, path: str) -> tuple[Any, re.Match[str]] | bool | None:
        """The handler for ``path``; ``False`` when the path exists for another method."""
        path_known = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method == request.method:
                return handler, match
            path_known = True
        return False if path_known else None

    def _local_path(self, request: Request) -> str:
        path = request.path
        if self._specific:
            parts = request.parts
            host = (parts.hostname or "").lower()
            try:
                port = parts.port
            except ValueError:
                port = None
            for rule in self._specific:
                if rule.prefix and rule.claims(host, port, path):
                    return path[len(rule.prefix) :] or "/"
        return path

    def _rate_limited(self) -> float | None:
        """Seconds to wait when the rate limit is exhausted, else ``None`` (and count the hit)."""
        if self.rate_limit is None:
            return None
        count, window = self.rate_limit
        now = self.now()
        hits = self._hits
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= count:
            return max(1.0, hits[0] + window - now)
        hits.append(now)
        return None

    def now(self) -> float:
        """The world's clock (or a private virtual clock before ``attach``)."""
        world = self.world
        return world.clock.now() if world is not None else self._own_clock.now()

    def _random_id(self, prefix: str, length: int = 14) -> str:
        return prefix + "".join(self._rng.choices(_ALNUM, k=length))

    def _numeric_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def _store_record(self, kind: str, object_id: str, record: Record, action: str) -> Record:
        """Store ``record`` (a new dict) and report the write to the world."""
        self._store[kind][str(object_id)] = record
        world = self.world
        if world is not None:
            world.record_write(self.name, kind, str(object_id), action, record)
        return record

    def seed_record(self, kind: str, object_id: str, record: Record) -> None:
        """Store a record without reporting a write (seeding a world before a run)."""
        with self._lock:
            self._store[kind][str(object_id)] = record
