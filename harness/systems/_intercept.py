"""Route ``requests`` (through ``responses``) and ``httpx`` calls to a :class:`World`.

Both clients see their own exception types: a :class:`~harness._wire.Timeout`
becomes ``requests.exceptions.ReadTimeout`` / ``httpx.ReadTimeout``, a
:class:`~harness._wire.ConnectionReset` or a refused unfaked host becomes
``requests.exceptions.ConnectionError`` / ``httpx.ConnectError``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from unittest import mock

import httpx
import requests
import responses

from harness._wire import ConnectionReset, Request, Response, Timeout, TransportFault

if TYPE_CHECKING:
    from harness.systems._world import World

__all__ = ["intercept"]

_ANY_URL = re.compile(r".*")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _requests_timeout(value: Any) -> float | None:
    # requests accepts a number or a (connect, read) tuple; the read part is what
    # bounds a stalled server.
    if value is None:
        return None
    if isinstance(value, tuple):
        value = value[1] if len(value) > 1 else value[0]
    return None if value is None else float(value)


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return bytes(b"".join(body))


def _requests_exception(fault: TransportFault, prepared: Any) -> Exception:
    msg = str(fault)
    exc: Exception
    if isinstance(fault, Timeout):
        exc = (
            requests.exceptions.ConnectTimeout(msg)
            if fault.phase == "connect"
            else requests.exceptions.ReadTimeout(msg)
        )
    else:
        exc = requests.exceptions.ConnectionError(msg)
    exc.request = prepared
    return exc


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


def _no_proxies(url: str, no_proxy: Any = None) -> dict[str, str]:
    return {}


@contextlib.contextmanager
def intercept(world: World) -> Iterator[None]:
    """Patch both clients to serve from ``world`` for the duration of the block."""

    def requests_callback(prepared: Any) -> tuple[int, dict[str, str], bytes]:
        kwargs = getattr(prepared, "req_kwargs", {}) or {}
        req = Request(
            method=str(prepared.method).upper(),
            url=str(prepared.url),
            headers=tuple((str(k), str(v)) for k, v in prepared.headers.items()),
            body=_body_bytes(prepared.body),
            timeout=_requests_timeout(kwargs.get("timeout")),
            client="requests",
        )
        try:
            resp = world.dispatch(req)
        except TransportFault as fault:
            raise _requests_exception(fault, prepared) from None
        # responses joins repeated headers; the fakes never repeat one
        return resp.status, dict(resp.headers), resp.body

    def to_request(request: httpx.Request) -> Request:
        timeout = request.extensions.get("timeout", {}) or {}
        read = timeout.get("read")
        return Request(
            method=request.method.upper(),
            url=str(request.url),
            headers=tuple((k, v) for k, v in request.headers.items()),
            body=request.read(),
            timeout=None if read is None else float(read),
            client="httpx",
        )

    def to_httpx(resp: Response, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            resp.status, headers=list(resp.headers), content=resp.body, request=request
        )

    def handle_request(self: Any, request: httpx.Request) -> httpx.Response:
        try:
            return to_httpx(world.dispatch(to_request(request)), request)
        except TransportFault as fault:
            raise _httpx_exception(fault, request) from None

    async def handle_async_request(self: Any, request: httpx.Request) -> httpx.Response:
        await request.aread()
        try:
            return to_httpx(world.dispatch(to_request(request)), request)
        except TransportFault as fault:
            raise _httpx_exception(fault, request) from None

    mocker = responses.RequestsMock(assert_all_requests_are_fired=False)
    for method in _METHODS:
        mocker.add_callback(method, _ANY_URL, callback=requests_callback)
    with contextlib.ExitStack() as stack:
        stack.enter_context(mocker)
        # Proxies never apply to an intercepted call (nothing leaves the process), and
        # requests' per-call scan of the environment for them cost more than the fake.
        stack.enter_context(
            mock.patch.object(requests.sessions, "get_environ_proxies", _no_proxies)
        )
        stack.enter_context(
            mock.patch.object(httpx.HTTPTransport, "handle_request", handle_request)
        )
        stack.enter_context(
            mock.patch.object(
                httpx.AsyncHTTPTransport, "handle_async_request", handle_async_request
            )
        )
        yield
