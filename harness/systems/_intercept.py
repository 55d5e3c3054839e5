"""Every HTTP client of the process, served by a :class:`World` at the connection layer.

Where each client is intercepted, and why there:

* **urllib3** (and so ``requests``, ``hubspot-api-client``, ``stripe``'s
  requests client and every SDK built on them) and **http.client** (and so
  ``urllib.request``): the connection's socket is replaced by an in-memory
  :class:`FakeSocket` when the connection opens.  The client writes real
  HTTP/1.1 bytes into it and parses a real HTTP/1.1 response out of it, so its
  pool, its ``Retry`` (connect, read *and* status retries, ``backoff_factor``,
  ``Retry-After``), its redirects and its timeouts all run as on a network.
  An injected fault surfaces where the network would raise it: a reset or a
  timeout when the client reads the response (``socket.timeout`` →
  ``urllib3.exceptions.ReadTimeoutError`` → ``requests.ReadTimeout``), so a
  ``Retry`` that allows POST re-sends after the server acted, as it would in
  production.  An HTTPS connection to a faked host does no TLS and no DNS.
  The default SSL context ``http.client.HTTPSConnection`` builds in its
  constructor is built once per process while a world is active.
* **httpx** (sync and async): at the transport (``HTTPTransport.handle_request``),
  the approach respx takes: httpx has no retries above the transport, and the
  one retry below it (``HTTPTransport(retries=N)``, connect failures only) is
  reproduced here with httpcore's own backoff.  The SSL context an
  ``httpx.Client()`` builds (loading certifi's bundle: about 15 ms a client)
  is built once per activation and reused, since no faked call uses it.
* **aiohttp**: at the connector (``TCPConnector._create_connection``); a
  faked host gets an in-memory asyncio transport speaking HTTP/1.1 to
  aiohttp's own protocol and parser, so its timeouts (``ClientTimeout``) and
  its connection pool run unchanged.  An unfaked host is refused at connect.
* **raw sockets**: ``socket.socket.connect``/``connect_ex``/``sendto`` to an
  internet address (AF_INET, AF_INET6) refuse anything not named in the
  world's passthrough, and record the refusal as a call.  C extensions that
  open their own sockets (libpq, for instance) and subprocesses are outside
  the process's Python socket layer and are not seen.

Why our own fake connections rather than libraries: ``responses`` answers
above urllib3 (so connection and read retries never ran: the false
``transient_unrecovered`` of issue 14), respx covers httpx only, aioresponses
replaces ``ClientSession._request`` whole (no timeouts, no pool), and vcrpy's
connection stubs replay cassettes rather than call a live fake.  Patching the
socket of the connection classes is the one place every one of those clients
shares.  Measured per call, split into the client, the interception and the fake
(``python -m benchmarks --only intercept``): see the README's interception table.

Calls to a host no fake serves are never sent: a connection-layer client
gets the refusal as a connection refused when it reads the response (the
call, with its method and URL, is in the world's call log as
``unfaked_host``); hosts named in ``passthrough`` (``HOST:PORT``) use the
real network, untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import http.client
import io
import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from harness._shared.wire import (
    ConnectionReset,
    Request,
    Response,
    Timeout,
    TransportFault,
    UnfakedHost,
)
from harness.errors import UsageError
from harness.systems._wirebytes import RequestParser, response_bytes, to_request

if TYPE_CHECKING:
    from harness.systems._world import World

__all__ = [
    "FakeSocket",
    "Passthrough",
    "harness_traffic",
    "intercept",
    "parse_passthrough",
    "real_network",
]

#: set by :func:`real_network`: the harness's own traffic (alert sinks), never the automation's
_REAL: contextvars.ContextVar[bool] = contextvars.ContextVar("harness_real_network", default=False)


@contextlib.contextmanager
def real_network() -> Iterator[None]:
    """Let the calls made in this context (this thread or task) use the real network.

    For the harness's own traffic while a world is active (the orchestrator's
    alert sinks); an automation never runs inside it.
    """
    token = _REAL.set(True)
    try:
        yield
    finally:
        _REAL.reset(token)


def harness_traffic() -> bool:
    """Whether calls made now are the harness's own (inside :func:`real_network`): the
    orchestrator's hook lets them pass untouched too."""
    return _REAL.get()


# -- passthrough --------------------------------------------------------------------


Passthrough = tuple[str, int]


def parse_passthrough(spec: str) -> Passthrough:
    """``"HOST:PORT"`` as ``(host, port)``; :class:`~harness.errors.UsageError` otherwise."""
    text = spec.strip()
    host, sep, port = text.rpartition(":")
    host = host.strip("[]").lower()
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"passthrough {spec!r} is not HOST:PORT; name the host and the port the "
            "automation connects to, for example 127.0.0.1:5432 or localhost:6379"
        )
    return host, int(port)


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Net:
    """What one activation knows: the world, and the endpoints that may pass."""

    def __init__(self, world: World, passthrough: Sequence[Passthrough]) -> None:
        self.world = world
        self.passthrough = frozenset((h.lower(), p) for h, p in passthrough)
        # a passthrough named "localhost" also admits the loopback address it resolves to
        self._loopback_ports = frozenset(p for h, p in self.passthrough if _is_loopback(h))

    def passes(self, host: str, port: int | None) -> bool:
        if not self.passthrough or port is None:
            return _REAL.get()
        host = host.lower().strip("[]")
        if (host, port) in self.passthrough:
            return True
        return (port in self._loopback_ports and _is_loopback(host)) or _REAL.get()

    def refuse_socket(self, address: Any) -> OSError:
        """Record a refused raw connection and return the error to raise."""
        host, port = str(address[0]), int(address[1])
        request = Request(
            "CONNECT", f"tcp://{host}:{port}", client="socket"
        )
        try:
            self.world.dispatch_refused(request)
        except UnfakedHost as fault:
            return ConnectionRefusedError(111, str(fault))
        return ConnectionRefusedError(111, f"harness refused a connection to {host}:{port}")


#: the activations in force, innermost last (the patches are process-wide, so is this)
_ACTIVE: list[_Net] = []

_STALE = (
    "connection reset: it was opened to a fake system inside a World.activate() block that "
    "has ended (a pooled keep-alive connection reused outside the campaign)"
)


def _current(opened_by: _Net) -> _Net | None:
    """The world a fake connection talks to now: the innermost active one.

    A pooled keep-alive connection outlives the scenario that opened it (a
    module-level ``requests.Session`` is reused by the next scenario, as in
    production by the next event), so it serves whatever world is active when
    it is used; outside every activation it is reset, never sent anywhere.
    """
    return _ACTIVE[-1] if _ACTIVE else None


# -- the fake socket (http.client, urllib3) --------------------------------------------


class _FailingReader(io.RawIOBase):
    """A response stream that raises ``exc`` at the first read: where a network fails."""

    def __init__(self, exc: BaseException) -> None:
        self._exc = exc

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        raise self._exc

    def readline(self, size: int | None = -1) -> bytes:
        raise self._exc

    def read(self, size: int | None = -1) -> bytes:
        raise self._exc

    def peek(self, size: int = 0) -> bytes:  # http.client calls it on some paths
        raise self._exc


def _socket_error(fault: TransportFault) -> OSError:
    if isinstance(fault, Timeout):
        return TimeoutError(str(fault))
    if isinstance(fault, UnfakedHost):
        return ConnectionRefusedError(111, str(fault))
    return ConnectionResetError(104, str(fault))


class FakeSocket:
    """An in-memory socket whose peer is a :class:`World`.

    Bytes written are parsed as HTTP/1.1 requests; when the client opens the
    response stream (``makefile``) the request is dispatched to the world at
    the socket's current timeout (the client's read timeout) and the response
    is served as bytes, or the fault is raised by the stream's first read.
    After a fault the socket is closed, as a reset or timed-out connection is.
    """

    def __init__(self, net: _Net, scheme: str, host: str, port: int, client: str) -> None:
        self._net = net
        self._scheme = scheme
        self._host = host
        self._port = port
        self._client = client
        self._parser = RequestParser()
        self._timeout: float | None = None
        self.closed = False
        self.family = socket.AF_INET
        self.type = socket.SOCK_STREAM

    # the socket API the clients use
    def settimeout(self, value: float | None) -> None:
        self._timeout = None if value is None else float(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def setsockopt(self, *args: Any) -> None:
        return None

    def setblocking(self, flag: bool) -> None:
        return None

    def fileno(self) -> int:
        return -1

    def getpeername(self) -> tuple[str, int]:
        return (self._host, self._port)

    def sendall(self, data: Any) -> None:
        if self.closed:
            raise BrokenPipeError(32, "Broken pipe")
        self._parser.feed(bytes(data))

    def send(self, data: Any) -> int:
        self.sendall(data)
        return len(data)

    def shutdown(self, how: int) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True

    def makefile(self, mode: str = "rb", buffering: int | None = None, **kwargs: Any) -> Any:
        parsed = self._parser.take()
        if parsed is None:
            # the client reads before its request is complete: a server would wait for
            # the rest, and the client's timeout would fire
            return _FailingReader(TimeoutError("timed out (incomplete request)"))
        request = to_request(
            parsed,
            scheme=self._scheme,
            host=self._host,
            port=self._port,
            timeout=self._timeout,
            client=self._client,
        )
        net = _current(self._net)
        if net is None:
            self.closed = True
            return _FailingReader(ConnectionResetError(104, _STALE))
        try:
            response = net.world.dispatch(request)
        except TransportFault as fault:
            self.closed = True
            return _FailingReader(_socket_error(fault))
        return io.BufferedReader(io.BytesIO(response_bytes(response, method=request.method)))


# -- patching ----------------------------------------------------------------------


_MISSING = object()
_CALL = object()


class _Patches:
    """Set attributes and put them back (deleting those that were inherited)."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def set(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    def on_restore(self, fn: Callable[[], None]) -> None:
        self._saved.append((fn, "", _CALL))

    def restore(self) -> None:
        while self._saved:
            owner, name, old = self._saved.pop()
            if old is _CALL:
                owner()
            elif old is _MISSING:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
            else:
                setattr(owner, name, old)


def _timeout_value(value: Any) -> float | None:
    if value is None or value is socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
        return None
    return float(value)


def _patch_http_client(p: _Patches, net: _Net) -> None:
    base_connect = http.client.HTTPConnection.connect
    tls_connect = http.client.HTTPSConnection.connect

    def fake(conn: Any, scheme: str) -> FakeSocket:
        host = conn._tunnel_host or conn.host
        port = conn._tunnel_port or conn.port
        sock = FakeSocket(net, scheme, host, port, "http.client")
        sock.settimeout(_timeout_value(conn.timeout))
        return sock

    def connect(self: Any) -> None:
        if net.passes(self.host, self.port):
            base_connect(self)
            return
        self.sock = fake(self, "http")

    def connect_tls(self: Any) -> None:
        if net.passes(self._tunnel_host or self.host, self._tunnel_port or self.port):
            tls_connect(self)
            return
        self.sock = fake(self, "https")

    p.set(http.client.HTTPConnection, "connect", connect)
    p.set(http.client.HTTPSConnection, "connect", connect_tls)

    # An HTTPSConnection builds the default context (loading the CA bundle: most of the
    # cost of a urllib.request call) in __init__, before any connect: build it once.
    # Only the stock factory is cached; a context the user configured is left alone.
    if ssl._create_default_https_context is ssl.create_default_context:

        def default_https_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
            if args or kwargs:
                return ssl.create_default_context(*args, **kwargs)
            with _SSL_LOCK:
                ctx = _SSL_CONTEXTS.get("http.client")
                if ctx is None:
                    ctx = _SSL_CONTEXTS["http.client"] = ssl.create_default_context()
            return ctx

        p.set(ssl, "_create_default_https_context", default_https_context)


def _patch_urllib3(p: _Patches, net: _Net) -> None:
    try:
        import urllib3.connection as u3
    except ImportError:  # pragma: no cover - requests depends on urllib3
        return
    new_conn = u3.HTTPConnection._new_conn
    tls_connect = u3.HTTPSConnection.connect
    is_connected = u3.HTTPConnection.is_connected

    def fake(conn: Any, scheme: str) -> FakeSocket:
        sock = FakeSocket(net, scheme, conn.host, conn.port, "urllib3")
        sock.settimeout(_timeout_value(conn.timeout))
        return sock

    def _new_conn(self: Any) -> Any:
        if net.passes(self.host, self.port):
            return new_conn(self)
        return fake(self, "http")

    def connect_tls(self: Any) -> None:
        if net.passes(self._tunnel_host or self.host, self._tunnel_port or self.port):
            tls_connect(self)
            return
        # no certificate loading, no handshake: the peer is in this process
        self.sock = fake(self, "https")
        self.is_verified = True
        self.proxy_is_verified = None
        self._has_connected_to_proxy = False

    def connected(self: Any) -> bool:
        sock = self.sock
        if isinstance(sock, FakeSocket):
            return not sock.closed and bool(_ACTIVE)
        return bool(is_connected.fget(self))  # type: ignore[attr-defined]

    p.set(u3.HTTPConnection, "_new_conn", _new_conn)
    p.set(u3.HTTPSConnection, "connect", connect_tls)
    p.set(u3.HTTPConnection, "is_connected", property(connected))


def _patch_requests(p: _Patches) -> None:
    try:
        import requests.sessions
    except ImportError:  # pragma: no cover - requests is a dependency
        return

    def no_proxies(url: str, no_proxy: Any = None) -> dict[str, str]:
        return {}

    # Proxies never apply to an intercepted call (nothing leaves the process), and
    # requests' per-call scan of the environment for them cost more than the fake.
    p.set(requests.sessions, "get_environ_proxies", no_proxies)


# -- httpx -------------------------------------------------------------------------


def _httpx_exception(fault: TransportFault, request: httpx.Request) -> Exception:
    msg = str(fault)
    if isinstance(fault, Timeout):
        if fault.phase == "connect":
            return httpx.ConnectTimeout(msg, request=request)
        return httpx.ReadTimeout(msg, request=request)
    if isinstance(fault, ConnectionReset):
        return httpx.ReadError(msg, request=request) if fault.executed else httpx.ConnectError(
            msg, request=request
        )
    return httpx.ConnectError(msg, request=request)


def _connect_phase(fault: TransportFault) -> bool:
    """Whether httpcore's connect retries (``HTTPTransport(retries=N)``) apply to ``fault``."""
    if isinstance(fault, UnfakedHost):
        return True
    return isinstance(fault, Timeout) and fault.phase == "connect"


def _httpx_wire(request: httpx.Request, body: bytes) -> Request:
    timeout = request.extensions.get("timeout", {}) or {}
    read = timeout.get("read")
    return Request(
        method=request.method.upper(),
        url=str(request.url),
        headers=tuple((k, v) for k, v in request.headers.items()),
        body=body,
        timeout=None if read is None else float(read),
        client="httpx",
    )


def _to_httpx(resp: Response, request: httpx.Request) -> httpx.Response:
    return httpx.Response(resp.status, headers=list(resp.headers), content=resp.body, request=request)


def _retries_of(transport: Any) -> int:
    return int(getattr(getattr(transport, "_pool", None), "_retries", 0) or 0)


def _patch_httpx(p: _Patches, net: _Net) -> None:
    import httpx._transports.default as default

    sync_handle = httpx.HTTPTransport.handle_request
    async_handle = httpx.AsyncHTTPTransport.handle_async_request
    # the name httpx's transports call (maybe already wrapped), not httpx._config's original
    real_ssl: Callable[..., ssl.SSLContext] = vars(default)["create_ssl_context"]

    def serve(transport: Any, request: httpx.Request, body: bytes) -> httpx.Response:
        # httpcore retries a failed connect `retries` times with exponential backoff
        # (0, 0.5, 1, 2 ... seconds; time.sleep, so virtual in a campaign)
        from httpcore._sync.connection import RETRIES_BACKOFF_FACTOR, exponential_backoff

        retries = _retries_of(transport)
        delays = exponential_backoff(factor=RETRIES_BACKOFF_FACTOR)
        wire = _httpx_wire(request, body)
        while True:
            try:
                return _to_httpx(net.world.dispatch(wire), request)
            except TransportFault as fault:
                if retries > 0 and _connect_phase(fault):
                    retries -= 1
                    import time

                    time.sleep(next(delays))
                    continue
                raise _httpx_exception(fault, request) from None

    def handle_request(self: Any, request: httpx.Request) -> httpx.Response:
        if net.passes(request.url.host, request.url.port or (443 if request.url.scheme == "https" else 80)):
            return sync_handle(self, request)
        return serve(self, request, request.read())

    async def handle_async_request(self: Any, request: httpx.Request) -> httpx.Response:
        if net.passes(request.url.host, request.url.port or (443 if request.url.scheme == "https" else 80)):
            return await async_handle(self, request)
        return serve(self, request, await request.aread())

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        # The default context (certifi's bundle, or $SSL_CERT_FILE/$SSL_CERT_DIR with
        # trust_env) is the same for every client: build it once.  Anything else
        # (a path, a context, verify=False, a client certificate) is built as asked.
        if verify is not True or cert is not None:
            return real_ssl(verify=verify, cert=cert, trust_env=trust_env)
        key = (
            trust_env,
            os.environ.get("SSL_CERT_FILE") if trust_env else None,
            os.environ.get("SSL_CERT_DIR") if trust_env else None,
        )
        with _SSL_LOCK:
            ctx = _SSL_CONTEXTS.get(key)
            if ctx is None:
                ctx = _SSL_CONTEXTS[key] = real_ssl(verify=verify, cert=cert, trust_env=trust_env)
        return ctx

    p.set(httpx.HTTPTransport, "handle_request", handle_request)
    p.set(httpx.AsyncHTTPTransport, "handle_async_request", handle_async_request)
    p.set(default, "create_ssl_context", create_ssl_context)


#: httpx's default SSL contexts, built once per process (kept across activations: a
#: campaign activates a world per scenario)
_SSL_CONTEXTS: dict[Any, Any] = {}
_SSL_LOCK = threading.Lock()


# -- aiohttp -------------------------------------------------------------------------


class _AioTransport(asyncio.Transport):
    """An in-memory asyncio transport whose peer is a :class:`World` (aiohttp's connection).

    Request bytes aiohttp writes are parsed; each complete request is
    dispatched at once (so calls made concurrently with ``asyncio.gather``
    enter the call log in the order they were sent) and the answer is handed
    to aiohttp's protocol on the next loop iteration, as a network would.
    """

    def __init__(
        self,
        net: _Net,
        protocol: Any,
        loop: asyncio.AbstractEventLoop,
        scheme: str,
        host: str,
        port: int,
        total: float | None,
    ) -> None:
        super().__init__()
        self._net = net
        self._protocol = protocol
        self._loop = loop
        self._scheme = scheme
        self._host = host
        self._port = port
        self._total = total
        self._parser = RequestParser()
        self._closing = False

    def _timeout(self) -> float | None:
        read = getattr(self._protocol, "read_timeout", None)
        bounds = [t for t in (read, self._total) if t]
        return min(bounds) if bounds else None

    def write(self, data: Any) -> None:
        if self._closing:
            return
        self._parser.feed(bytes(data))
        while True:
            parsed = self._parser.take()
            if parsed is None:
                return
            self._serve(parsed)

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(bytes(d) for d in list_of_data))

    def _serve(self, parsed: Any) -> None:
        request = to_request(
            parsed, scheme=self._scheme, host=self._host, port=self._port,
            timeout=self._timeout(), client="aiohttp",
        )
        net = _current(self._net)
        if net is None:
            self._closing = True
            self._loop.call_soon(self._protocol.connection_lost, ConnectionResetError(104, _STALE))
            return
        try:
            response = net.world.dispatch(request)
        except TransportFault as fault:
            self._closing = True
            self._loop.call_soon(self._fail, fault)
            return
        self._loop.call_soon(self._deliver, response_bytes(response, method=request.method))

    def _deliver(self, data: bytes) -> None:
        if not self._closing or self._protocol.transport is self:
            self._protocol.data_received(data)

    def _fail(self, fault: TransportFault) -> None:
        import aiohttp.client_exceptions as errors

        timeout_error = getattr(errors, "SocketTimeoutError", errors.ServerTimeoutError)
        if isinstance(fault, Timeout):
            # what aiohttp's own read timer raises (the clock has already moved past it)
            self._protocol.set_exception(timeout_error(f"Timeout on reading data from socket: {fault}"))
            self._protocol.connection_lost(None)
        else:
            self._protocol.connection_lost(_socket_error(fault))

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._loop.call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": (self._host, self._port), "sockname": ("127.0.0.1", 0)}.get(
            name, default
        )

    def can_write_eof(self) -> bool:
        return False

    def write_eof(self) -> None:
        return None

    def is_reading(self) -> bool:
        return True

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        return None

    def get_write_buffer_size(self) -> int:
        return 0


def _patch_aiohttp(p: _Patches, net: _Net) -> None:
    try:
        import aiohttp
        from aiohttp.client_exceptions import ClientConnectorError
    except ImportError:
        return
    original = aiohttp.TCPConnector._create_connection

    async def _create_connection(self: Any, req: Any, traces: Any, timeout: Any) -> Any:
        url = req.url
        host = str(url.host or "")
        port = int(url.port or (443 if url.scheme in ("https", "wss") else 80))
        if req.proxy is None and net.passes(host, port):
            return await original(self, req, traces, timeout)
        probe = Request(req.method, str(url), client="aiohttp")
        if net.world.system_for_request(probe) is None:
            # refused at connect, with the call that wanted it in the log
            try:
                net.world.dispatch(probe)
            except TransportFault as fault:
                raise ClientConnectorError(
                    req.connection_key, ConnectionRefusedError(111, str(fault))
                ) from None
        loop = asyncio.get_running_loop()
        protocol = self._factory()
        total = getattr(timeout, "total", None)
        transport = _AioTransport(
            net, protocol, loop, "https" if url.scheme in ("https", "wss") else "http",
            host, port, total,
        )
        protocol.connection_made(transport)
        return protocol

    p.set(aiohttp.TCPConnector, "_create_connection", _create_connection)


# -- raw sockets -------------------------------------------------------------------


_INET = (socket.AF_INET, socket.AF_INET6)


def _patch_socket(p: _Patches, net: _Net) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto

    def allowed(sock: Any, address: Any) -> bool:
        if sock.family not in _INET or not isinstance(address, tuple) or len(address) < 2:
            return True
        return net.passes(str(address[0]), int(address[1]))

    def connect(self: Any, address: Any) -> None:
        if not allowed(self, address):
            raise net.refuse_socket(address)
        return real_connect(self, address)

    def connect_ex(self: Any, address: Any) -> int:
        if not allowed(self, address):
            net.refuse_socket(address)
            return 111  # ECONNREFUSED
        return real_connect_ex(self, address)

    def sendto(self: Any, *args: Any) -> int:
        address = args[-1]
        if not allowed(self, address):
            raise net.refuse_socket(address)
        return real_sendto(self, *args)

    p.set(socket.socket, "connect", connect)
    p.set(socket.socket, "connect_ex", connect_ex)
    p.set(socket.socket, "sendto", sendto)


@contextlib.contextmanager
def intercept(world: World, *, passthrough: Sequence[Passthrough] = ()) -> Iterator[None]:
    """Serve every HTTP client of the process from ``world`` for the duration of the block.

    Connections to the endpoints in ``passthrough`` use the real network;
    everything else is answered by the world or refused and recorded.
    Everything patched is restored on exit, also when the block raises.
    """
    net = _Net(world, passthrough)
    patches = _Patches()
    _ACTIVE.append(net)
    patches.on_restore(lambda: _ACTIVE.remove(net))
    try:
        _patch_http_client(patches, net)
        _patch_urllib3(patches, net)
        _patch_requests(patches)
        _patch_httpx(patches, net)
        _patch_aiohttp(patches, net)
        _patch_socket(patches, net)
        yield
    finally:
        patches.restore()
