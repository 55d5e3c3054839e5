"""The process-wide hooks of every supported HTTP client, feeding the current run's hook.

One hook point per layer, installed once per process (:func:`install`):

* **urllib3**: ``HTTPConnectionPool.urlopen``, the outermost call only (its
  own ``Retry`` and redirects recurse into it and stay inside one hooked
  call).  Everything built on urllib3 goes through it: ``requests`` (its
  adapter calls ``urlopen``), urllib3 used directly, and the SDKs on either
  (stripe, hubspot-api-client, zenpy).  ``requests`` is not hooked again above
  it, so a requests call is hooked exactly once.
* **http.client**: ``HTTPConnection.request`` decides and ``getresponse``
  records (or answers a replay without sending).  ``urllib.request`` and the
  SDKs on it (slack_sdk's ``WebClient``) go through it.  urllib3's connections
  are http.client subclasses: inside a hooked urllib3 call they pass through.
* **httpx**: ``Client.send`` and ``AsyncClient.send``.
* **aiohttp** (3.12 or later): a client middleware that every
  ``ClientSession`` request runs through (``ClientSession._request`` appends
  it after the session's own middlewares, so it sees each request as sent,
  once per redirect hop).  slack_sdk's ``AsyncWebClient`` goes through it.

Each wrapper looks up the run current in this context (a
:class:`contextvars.ContextVar` set by the orchestrator around each attempt);
with no current run, or inside a call the hook is already making, it calls the
original untouched.  The wrappers only translate: the client's request to a
:class:`~harness._shared.wire.Request`, the plan back onto the client's request, a
replayed :class:`~harness._shared.wire.Response` into the client's response type, and
the client's response into a ``Response``.  What happens to a call is decided
once, by :meth:`RunHook.decide <harness.orchestrator._hook.RunHook.decide>`,
driven by :func:`~harness.orchestrator._calls.call` in sync code and
:func:`~harness.orchestrator._calls.acall` in async code (where a breaker's
or rate limit's wait is an ``asyncio.sleep`` on the run's clock, so the event
loop keeps running).  What the hook does to a call is described in
:mod:`harness.orchestrator._hook`.
"""

from __future__ import annotations

import functools
import http.client
import io
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from harness._shared.wire import Request, Response
from harness.orchestrator._calls import (
    IN_CALL,
    acall,
    activate,
    body_bytes,
    call,
    current_hook,
    deactivate,
    hooked,
    items,
    read_timeout,
    unhooked,
    wire_response,
)
from harness.orchestrator._hook import RunHook, _Plan
from harness.systems import response_bytes

__all__ = ["activate", "current_hook", "deactivate", "install"]

_INSTALL_LOCK = threading.Lock()
_INSTALLED = False


# -- urllib3 (and requests, and every SDK on either) -----------------------------------


def _install_urllib3() -> None:
    """Wrap ``HTTPConnectionPool.urlopen``: its outermost call inside a run passes the run's hook."""
    import urllib3
    from urllib3.connectionpool import HTTPConnectionPool

    original = HTTPConnectionPool.urlopen

    def urlopen(
        self: Any, method: str, url: str, body: Any = None, headers: Any = None, *args: Any, **kw: Any
    ) -> Any:
        hook = hooked()
        if hook is None:  # also urllib3's own recursion (Retry, redirects), positionally
            return original(self, method, url, body, headers, *args, **kw)
        kw.update(zip(_URLOPEN_POSITIONAL, args, strict=False))
        sent_headers = dict(headers if headers is not None else self.headers)
        timeout = kw.get("timeout", urllib3.util.timeout._DEFAULT_TIMEOUT)
        if timeout is urllib3.util.timeout._DEFAULT_TIMEOUT:
            timeout = self.timeout
        preload = kw.get("preload_content", True)
        decode = kw.get("decode_content", True)
        full_url = url if "://" in url[:12] else _pool_url(self, url)
        wire = Request(
            method=method.upper(),
            url=full_url,
            headers=tuple((str(k), str(v)) for k, v in sent_headers.items()),
            body=body_bytes(body),
            timeout=read_timeout(timeout),
            client="urllib3",
        )
        target = [url]

        def search(request: Request) -> Response:
            r = original(
                self, "GET", _target(request.url), None, dict(request.headers),
                timeout=request.timeout or hook.policy.timeouts.call, retries=False,
            )
            return wire_response(r.status, r.headers.items(), r.data)

        def send() -> Any:
            return original(self, method, target[0], body, sent_headers, **kw)

        return call(
            hook, wire, search=search,
            apply=functools.partial(
                _urllib3_apply, pool=self, hook=hook, url=url, timeout=timeout,
                sent_headers=sent_headers, target=target, kw=kw,
            ),
            send=send,
            seen=functools.partial(_urllib3_seen, preload=preload, decode=decode),
            replay=functools.partial(
                _urllib3_replay, preload=preload, decode=decode, method=method, full_url=full_url
            ),
        )

    urlopen.__wrapped__ = original  # type: ignore[attr-defined]
    HTTPConnectionPool.urlopen = urlopen  # type: ignore[method-assign]


def _urllib3_apply(
    plan: _Plan,
    *,
    pool: Any,
    hook: RunHook,
    url: str,
    timeout: Any,
    sent_headers: dict[str, Any],
    target: list[str],
    kw: dict[str, Any],
) -> None:
    """Put ``plan`` onto a ``urlopen`` call: its headers, its target (a key in the query), its
    timeout bound, and no read retries by urllib3 when a resend would not be safe."""
    import urllib3
    from urllib3.util.retry import Retry

    for name, value in plan.headers:
        sent_headers[name] = value
    if plan.query:  # an idempotency key sent as a query parameter
        target[0] = plan.request.url if "://" in url[:12] else _target(plan.request.url)
    if plan.timeout is not None:
        connect = getattr(timeout, "connect_timeout", None)
        bound = plan.timeout
        bound_connect = min(float(connect), bound) if isinstance(connect, int | float) else bound
        kw["timeout"] = urllib3.Timeout(connect=bound_connect, read=bound)
    if not hook.resend_safe(plan):
        # the unknown-outcome rule, below the hook: urllib3's own Retry must not
        # re-send this POST after a read error or a reset (it may have happened)
        retries = Retry.from_int(kw.get("retries"), redirect=kw.get("redirect", True),
                                 default=pool.retries)
        kw["retries"] = retries.new(read=False) if retries.read is not False else retries


def _urllib3_seen(resp: Any, *, preload: bool, decode: bool) -> tuple[Any, Response]:
    """The response to hand back and its wire form; an unread body is read whole first."""
    if preload:
        return resp, wire_response(resp.status, resp.headers.items(), resp.data)
    # the caller (requests) reads the body later: read it now, whole, and hand
    # back a response over the same bytes, headers and connection details
    raw = resp.read(decode_content=False)
    resp.release_conn()
    again = _urllib3_response(resp.status, resp.headers, raw, resp, decode=decode)
    plain = _urllib3_response(resp.status, resp.headers, raw, resp, decode=True, preload=True)
    return again, wire_response(resp.status, resp.headers.items(), plain.data)


def _urllib3_replay(answer: Response, *, preload: bool, decode: bool, method: str, full_url: str) -> Any:
    """A urllib3 response carrying a replayed answer, read as the caller asked."""
    from urllib3.response import HTTPResponse

    return HTTPResponse(
        body=io.BytesIO(answer.body), headers=dict(answer.headers), status=answer.status,
        preload_content=preload, decode_content=decode, request_method=method,
        request_url=full_url,
    )


#: ``HTTPConnectionPool.urlopen``'s parameters after ``headers``, in order
_URLOPEN_POSITIONAL = (
    "retries", "redirect", "assert_same_host", "timeout", "pool_timeout", "release_conn",
    "chunked", "body_pos", "preload_content", "decode_content",
)


def _pool_url(pool: Any, target: str) -> str:
    default = 443 if pool.scheme == "https" else 80
    port = "" if pool.port in (None, default) else f":{pool.port}"
    return f"{pool.scheme}://{pool.host}{port}{target}"


def _target(url: str) -> str:
    """The request target (path and query) of an absolute URL."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _urllib3_response(
    status: int, headers: Any, raw: bytes, like: Any, *, decode: bool, preload: bool = False
) -> Any:
    from urllib3.response import HTTPResponse

    return HTTPResponse(
        body=io.BytesIO(raw),
        headers=headers,
        status=status,
        version=getattr(like, "version", 11),
        reason=getattr(like, "reason", None),
        preload_content=preload,
        decode_content=decode,
        original_response=getattr(like, "_original_response", None),
        request_method=getattr(like, "_request_method", None),
        request_url=getattr(like, "_request_url", None),
        retries=getattr(like, "retries", None),
        enforce_content_length=False,
    )


# -- http.client (and urllib.request, and SDKs on it) ---------------------------------


class _BytesSocket:
    """Just enough of a socket for ``http.client.HTTPResponse`` to parse ``data``."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self._data))


def _http_client_response(answer: Response, method: str) -> http.client.HTTPResponse:
    resp = http.client.HTTPResponse(_BytesSocket(response_bytes(answer, method=method)), method=method)  # type: ignore[arg-type]
    resp.begin()
    return resp


def _install_http_client() -> None:
    """Wrap ``HTTPConnection.request`` (decides) and ``getresponse`` (records, or answers a replay)."""
    original_request = http.client.HTTPConnection.request
    original_getresponse = http.client.HTTPConnection.getresponse

    def request(self: Any, method: str, url: str, body: Any = None, headers: Any = None, **kw: Any) -> None:
        self.__dict__.pop("_harness_call", None)  # a plan whose response was never read
        hook = hooked()
        if hook is None:
            original_request(self, method, url, body, headers if headers is not None else {}, **kw)
            return
        sent_headers = dict(headers or {})
        host = self._tunnel_host or self.host
        port = self._tunnel_port or self.port
        wire = _http_client_wire(self, host, port, method, url, body, sent_headers)

        def search(req: Request) -> Response:
            conn = type(self)(host, port, timeout=req.timeout or hook.policy.timeouts.call)
            try:
                conn.request("GET", _target(req.url), headers=dict(req.headers))
                r = conn.getresponse()
                return wire_response(r.status, r.getheaders(), r.read())
            finally:
                conn.close()

        plan = hook.before(wire, search=unhooked(search))
        if plan.replay is None:
            _http_client_send(
                self, hook, plan, url, sent_headers,
                lambda to: original_request(self, method, to, body, sent_headers, **kw),
            )
        # the outcome is known at getresponse(): the plan waits there (a replay too)
        self._harness_call = (hook, plan)

    def getresponse(self: Any) -> Any:
        pending = self.__dict__.pop("_harness_call", None)
        if pending is None:
            return original_getresponse(self)
        hook, plan = pending
        return _http_client_answer(hook, plan, lambda: original_getresponse(self))

    request.__wrapped__ = original_request  # type: ignore[attr-defined]
    getresponse.__wrapped__ = original_getresponse  # type: ignore[attr-defined]
    http.client.HTTPConnection.request = request  # type: ignore[method-assign]
    http.client.HTTPConnection.getresponse = getresponse  # type: ignore[method-assign]


def _http_client_wire(
    conn: Any, host: str, port: int, method: str, url: str, body: Any, sent_headers: dict[str, Any]
) -> Request:
    """The wire request of ``conn.request(method, url, ...)``, its URL made absolute."""
    scheme = "https" if isinstance(conn, http.client.HTTPSConnection) else "http"
    default = 443 if scheme == "https" else 80
    full_url = url if "://" in url[:12] else (
        f"{scheme}://{host}{'' if port == default else f':{port}'}{url}"
    )
    return Request(
        method=method.upper(),
        url=full_url,
        headers=tuple((str(k), str(v)) for k, v in sent_headers.items()),
        body=body_bytes(body),
        timeout=read_timeout(conn.timeout),
        client="http.client",
    )


def _http_client_send(
    conn: Any,
    hook: RunHook,
    plan: _Plan,
    url: str,
    sent_headers: dict[str, Any],
    send: Callable[[str], None],
) -> None:
    """Put ``plan`` onto the request (headers, target, timeout) and ``send`` it to the
    target; a failure to send reaches the hook before it propagates."""
    for name, value in plan.headers:
        sent_headers[name] = value
    target = plan.request.url if "://" in url[:12] else _target(plan.request.url)
    if plan.timeout is not None:
        conn.timeout = plan.timeout
        if conn.sock is not None:
            conn.sock.settimeout(plan.timeout)
    token = IN_CALL.set(True)
    try:
        send(target if plan.query else url)
    except BaseException as exc:
        hook.after(plan, None, exc)
        raise
    finally:
        IN_CALL.reset(token)


def _http_client_answer(hook: RunHook, plan: _Plan, receive: Callable[[], Any]) -> Any:
    """The response to a planned request: the replay, or the one ``receive`` reads, recorded by
    the hook and handed back readable again."""
    method = plan.request.method.upper()
    if plan.replay is not None:
        hook.after(plan, plan.replay, None)
        return _http_client_response(plan.replay, method)
    token = IN_CALL.set(True)
    try:
        resp = receive()
        raw = resp.read()
    except BaseException as exc:
        hook.after(plan, None, exc)
        raise
    finally:
        IN_CALL.reset(token)
    answer = wire_response(resp.status, resp.getheaders(), raw)
    hook.after(plan, answer, None)
    # the same status, headers and body, readable again by the caller
    again = _http_client_response(
        Response(resp.status, tuple((k, v) for k, v in resp.getheaders()
                                    if k.lower() not in ("transfer-encoding", "content-length")), raw),
        method,
    )
    again.reason = resp.reason
    return again


# -- httpx ---------------------------------------------------------------------------


def _httpx_wire(request: Any) -> Request:
    timeout = request.extensions.get("timeout", {}) or {}
    read = timeout.get("read")
    try:
        body = request.content
    except Exception:  # a streaming body: not read by the hook
        body = b""
    return Request(
        method=request.method.upper(),
        url=str(request.url),
        headers=tuple((k, v) for k, v in request.headers.items()),
        body=body,
        timeout=None if read is None else float(read),
        client="httpx",
    )


def _httpx_apply(plan: _Plan, request: Any) -> None:
    for name, value in plan.headers:
        request.headers[name] = value
    if plan.query:  # an idempotency key sent as a query parameter
        import httpx

        request.url = httpx.URL(plan.request.url)
    if plan.timeout is not None:
        t = plan.timeout
        request.extensions["timeout"] = {"connect": t, "read": t, "write": t, "pool": t}


def _httpx_seen(resp: Any, *, streamed: bool) -> tuple[Any, Response]:
    # a streamed body is not read: the automation owns it (the journal keeps no body)
    body = b"" if streamed else resp.content
    return resp, wire_response(resp.status_code, resp.headers.items(), body)


def _install_httpx() -> None:
    import httpx

    original = httpx.Client.send
    original_async = httpx.AsyncClient.send

    def replay_of(request: Any) -> Callable[[Response], Any]:
        def replay(answer: Response) -> Any:
            return httpx.Response(answer.status, headers=list(answer.headers), content=answer.body, request=request)

        return replay

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        hook = hooked()
        if hook is None:
            return original(self, request, **kwargs)

        def search(req: Request) -> Response:
            r = original(self, self.build_request("GET", req.url, headers=list(req.headers)),
                         auth=kwargs.get("auth", httpx.USE_CLIENT_DEFAULT))
            return wire_response(r.status_code, r.headers.items(), r.content)

        streamed = bool(kwargs.get("stream"))
        return call(
            hook, _httpx_wire(request), search=search,
            apply=functools.partial(_httpx_apply, request=request),
            send=lambda: original(self, request, **kwargs),
            seen=functools.partial(_httpx_seen, streamed=streamed),
            replay=replay_of(request),
        )

    async def send_async(self: Any, request: Any, **kwargs: Any) -> Any:
        hook = hooked()
        if hook is None:
            return await original_async(self, request, **kwargs)

        async def search(req: Request) -> Response:
            r = await original_async(self, self.build_request("GET", req.url, headers=list(req.headers)),
                                     auth=kwargs.get("auth", httpx.USE_CLIENT_DEFAULT))
            return wire_response(r.status_code, r.headers.items(), r.content)

        streamed = bool(kwargs.get("stream"))

        async def seen(resp: Any) -> tuple[Any, Response]:
            return _httpx_seen(resp, streamed=streamed)

        return await acall(
            hook, _httpx_wire(request), search=search,
            apply=functools.partial(_httpx_apply, request=request),
            send=lambda: original_async(self, request, **kwargs),
            seen=seen,
            replay=replay_of(request),
        )

    send.__wrapped__ = original  # type: ignore[attr-defined]
    send_async.__wrapped__ = original_async  # type: ignore[attr-defined]
    httpx.Client.send = send  # type: ignore[method-assign]
    httpx.AsyncClient.send = send_async  # type: ignore[method-assign]


# -- aiohttp -------------------------------------------------------------------------


def _aio_body(req: Any) -> bytes:
    from aiohttp.payload import BytesPayload

    body = req.body
    if isinstance(body, BytesPayload):
        return bytes(body._value)
    return body_bytes(body)


def _aio_response(answer: Response, req: Any) -> Any:
    """A finished ``ClientResponse`` holding ``answer`` (a replay: no connection is made)."""
    import asyncio
    import inspect
    import types

    from aiohttp import ClientResponse
    from aiohttp.helpers import TimerNoop
    from multidict import CIMultiDict, CIMultiDictProxy

    kwargs: dict[str, Any] = {
        "writer": None, "continue100": None, "timer": TimerNoop(), "request_info": req.request_info,
        "traces": [], "loop": asyncio.get_running_loop(), "session": req.session,
    }
    if "stream_writer" in inspect.signature(ClientResponse.__init__).parameters:
        kwargs["stream_writer"] = types.SimpleNamespace(output_size=0)
    resp = req.response_class(req.method, req.url, **kwargs)
    resp.status = answer.status
    try:
        resp.reason = http.HTTPStatus(answer.status).phrase
    except ValueError:  # a status the standard does not name
        resp.reason = ""
    resp._headers = CIMultiDictProxy(CIMultiDict(answer.headers))
    resp._raw_headers = tuple((k.encode(), v.encode()) for k, v in answer.headers)
    resp._body = answer.body
    return resp


def _install_aiohttp() -> None:
    try:
        import aiohttp
        from aiohttp.client import ClientSession
    except ImportError:
        return
    if not hasattr(aiohttp, "ClientMiddlewareType"):  # pragma: no cover - aiohttp < 3.12
        return
    original = ClientSession._request
    sentinel = object()

    async def _request(self: Any, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        hook = hooked()
        if hook is None:
            return await original(self, method, str_or_url, **kwargs)
        given = kwargs.get("timeout", sentinel)
        timeout = self.timeout if given is sentinel else given
        if not isinstance(timeout, aiohttp.ClientTimeout):
            timeout = aiohttp.ClientTimeout(total=timeout)
        bounds = [t for t in (timeout.sock_read, timeout.total) if t]
        read = min(bounds) if bounds else None
        bound = hook.call_timeout(read)
        if bound is not None:
            # the bound must be in place before aiohttp arms its read timer, that is before
            # the middleware runs; the middleware's decision records it (timeout_defaulted)
            kwargs["timeout"] = aiohttp.ClientTimeout(
                total=timeout.total if timeout.total is None else min(timeout.total, bound),
                connect=timeout.connect, sock_read=bound, sock_connect=timeout.sock_connect,
                ceil_threshold=timeout.ceil_threshold,
            )
        chosen = kwargs.get("middlewares")
        own = self._middlewares if chosen is None else chosen
        kwargs["middlewares"] = (*own, functools.partial(_aio_middleware, read_timeout=read))
        return await original(self, method, str_or_url, **kwargs)

    _request.__wrapped__ = original  # type: ignore[attr-defined]
    ClientSession._request = _request  # type: ignore[method-assign]


async def _aio_middleware(req: Any, handler: Any, *, read_timeout: float | None) -> Any:
    hook = hooked()
    if hook is None:
        return await handler(req)
    from yarl import URL

    wire = Request(
        method=req.method.upper(),
        url=str(req.url),
        headers=items(req.headers),
        body=_aio_body(req),
        timeout=read_timeout,
        client="aiohttp",
    )

    async def search(request: Request) -> Response:
        async with req.session.request("GET", request.url, headers=dict(request.headers)) as r:
            return wire_response(r.status, r.headers.items(), await r.read())

    def apply(plan: _Plan) -> None:
        for name, value in plan.headers:
            req.headers[name] = value
        if plan.query:  # an idempotency key sent as a query parameter
            req.url = URL(plan.request.url)

    async def seen(resp: Any) -> tuple[Any, Response]:
        # read now (aiohttp keeps it: the automation's read()/json() get the same bytes)
        return resp, wire_response(resp.status, resp.headers.items(), await resp.read())

    return await acall(
        hook, wire, search=search, apply=apply, send=lambda: handler(req), seen=seen,
        replay=functools.partial(_aio_response, req=req),
    )


def install() -> None:
    """Hook every supported client once per process (idempotent, thread-safe)."""
    global _INSTALLED
    if _INSTALLED:
        return
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        _install_urllib3()
        _install_http_client()
        _install_httpx()
        _install_aiohttp()
        _INSTALLED = True
