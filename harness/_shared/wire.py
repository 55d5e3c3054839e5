"""Client-neutral HTTP exchange types, the lowest room of the harness.

Every HTTP call an automation makes, through ``requests`` or ``httpx``, is
turned into a :class:`Request` at the interception point and answered with a
:class:`Response` or one of the :class:`TransportFault` exceptions below.  The
interception adapters (``harness.systems._intercept``) translate those
exceptions into the client's own exception types (``requests.ReadTimeout``,
``httpx.ConnectError`` ...), so fake systems, fault injectors and the
orchestrator never depend on which client the automation uses.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "Clock",
    "ConnectionReset",
    "Headers",
    "Request",
    "Response",
    "Timeout",
    "TransportFault",
    "UnfakedHost",
    "VirtualClock",
    "WallClock",
    "real_time",
]

Headers = tuple[tuple[str, str], ...]


def _get_header(headers: Headers, name: str) -> str | None:
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the server sees it.

    ``timeout`` is the read timeout the *client* set, in seconds, or ``None``
    when the client set none (a call that would hang forever on a stall).
    ``client`` names the layer that saw it: ``"urllib3"`` (also under
    ``requests``), ``"http.client"``, ``"httpx"``, ``"aiohttp"`` or ``"socket"``.
    """

    method: str
    url: str
    headers: Headers = ()
    body: bytes = b""
    timeout: float | None = None
    client: str = "requests"

    @property
    def parts(self) -> Any:
        return urlsplit(self.url)

    @property
    def host(self) -> str:
        return (self.parts.hostname or "").lower()

    @property
    def path(self) -> str:
        return str(self.parts.path) or "/"

    @property
    def query(self) -> list[tuple[str, str]]:
        """Query parameters in order, repeated keys kept."""
        return parse_qsl(self.parts.query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        return _get_header(self.headers, name)

    def form(self) -> list[tuple[str, str]]:
        """The body parsed as ``application/x-www-form-urlencoded``.

        Raises ``ValueError`` when the body is not valid form encoding.
        """
        text = self.body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not."""
        return json.loads(self.body.decode("utf-8"))

    def with_header(self, name: str, value: str) -> Request:
        """A copy with ``name`` set to ``value`` (replacing any previous one)."""
        lname = name.lower()
        kept = tuple((k, v) for k, v in self.headers if k.lower() != lname)
        return Request(
            self.method, self.url, (*kept, (name, value)), self.body, self.timeout, self.client
        )


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP response; ``body`` is bytes, usually JSON."""

    status: int
    headers: Headers = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return _get_header(self.headers, name)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @classmethod
    def of_json(
        cls, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> Response:
        """A JSON response with ``Content-Type: application/json``."""
        hdrs: list[tuple[str, str]] = [("Content-Type", "application/json")]
        if headers:
            hdrs.extend(headers.items())
        return cls(status, tuple(hdrs), json.dumps(payload, separators=(",", ":")).encode())


class TransportFault(Exception):
    """A call that got no HTTP response.  The adapters map it to the client's type."""

    #: whether the server executed the request before the client lost it
    executed: bool = False


class Timeout(TransportFault):
    """The client's timeout expired.  ``phase`` is ``connect`` or ``read``."""

    def __init__(
        self, message: str, *, phase: Literal["connect", "read"] = "read", executed: bool = False
    ) -> None:
        super().__init__(message)
        self.phase = phase
        self.executed = executed


class ConnectionReset(TransportFault):
    """The connection was reset or refused (``executed`` says whether the server acted)."""

    def __init__(self, message: str, *, executed: bool = False) -> None:
        super().__init__(message)
        self.executed = executed


class UnfakedHost(TransportFault):
    """The automation called a host no fake serves; the call never left the process."""


class Clock(Protocol):
    """What the harness reads time from: the wall clock or a virtual one."""

    def now(self) -> float:
        """Seconds since the epoch in this clock."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``: really (wall) or by advancing (virtual)."""


def real_time() -> float:
    """Epoch seconds of the real clock, even inside a scenario's virtual time.

    Campaigns patch ``time.time`` (through time-machine) so the automation sees
    virtual time; the ledger's ``wall_*`` stamps must still be real, or a
    campaign's runs would land on the virtual clock's date in every report.
    """
    try:
        import time_machine
    except ImportError:  # pragma: no cover - time-machine is a dependency
        return time.time()
    if time_machine.escape_hatch.is_travelling():
        return float(time_machine.escape_hatch.time.time())
    return time.time()


class WallClock:
    """The real clock; used in production and for wall-time stamps."""

    def now(self) -> float:
        return real_time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


@dataclass(kw_only=True)
class VirtualClock:
    """A clock that only moves when told to.

    ``sleep`` advances it instantly, so an hour of backoff costs nothing.
    Listeners registered with :meth:`on_advance` are told of every move (the
    chaos room uses that to keep the patched ``time``/``datetime`` in step).
    Thread-safe: advances are serialised.
    """

    start: float = 1_767_225_600.0  # 2026-01-01T00:00:00Z: a fixed, readable origin
    _now: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)
    _listeners: list[Callable[[float], None]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._now = self.start

    def now(self) -> float:
        return self._now

    def elapsed(self) -> float:
        """Seconds since :attr:`start`."""
        return self._now - self.start

    def advance(self, seconds: float) -> None:
        """Move forward ``seconds`` (negative values are ignored: time never runs back)."""
        if seconds <= 0:
            return
        with self._lock:
            self._now += seconds
            now = self._now
        for listener in list(self._listeners):
            listener(now)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def on_advance(self, listener: Callable[[float], None]) -> Callable[[], None]:
        """Register ``listener(now)``; returns a function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove
