"""The process-wide wrappers of ``requests`` and ``httpx`` that feed the current run's hook.

``requests.Session.send``, ``httpx.Client.send`` and ``httpx.AsyncClient.send``
are wrapped once per process (:func:`install`).  Each wrapper looks up the run
current in this context (a :class:`contextvars.ContextVar` set by the
orchestrator around each attempt); with no current run, or inside a call the
hook is already making, it calls the original untouched.  What the hook does
to a call is described in :mod:`harness.orchestrator._hook`.
"""

from __future__ import annotations

import contextvars
import datetime
import http
import threading
from typing import Any

from harness._shared.wire import Request, Response
from harness.orchestrator._hook import RunHook, _Plan

__all__ = ["activate", "current_hook", "deactivate", "install"]

_CURRENT: contextvars.ContextVar[RunHook | None] = contextvars.ContextVar(
    "harness_orchestrator_run", default=None
)
_IN_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "harness_orchestrator_in_call", default=False
)
_INSTALL_LOCK = threading.Lock()
_INSTALLED = False


def current_hook() -> RunHook | None:
    """The hook of the run current in this context, if any."""
    return _CURRENT.get()


def activate(hook: RunHook | None) -> contextvars.Token[RunHook | None]:
    return _CURRENT.set(hook)


def deactivate(token: contextvars.Token[RunHook | None]) -> None:
    _CURRENT.reset(token)


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    return b""  # a file or generator body is streamed; the hook does not consume it


def _requests_timeout(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        value = value[1] if len(value) > 1 else value[0]
    return None if value is None else float(value)


def _requests_response(wire: Response, prepared: Any) -> Any:
    import requests
    from requests.structures import CaseInsensitiveDict

    resp = requests.Response()
    resp.status_code = wire.status
    resp.headers = CaseInsensitiveDict(dict(wire.headers))
    resp._content = wire.body
    resp._content_consumed = True  # type: ignore[attr-defined]
    resp.url = prepared.url
    resp.request = prepared
    resp.encoding = requests.utils.get_encoding_from_headers(resp.headers)
    try:
        resp.reason = http.HTTPStatus(wire.status).phrase
    except ValueError:
        resp.reason = ""
    resp.elapsed = datetime.timedelta(0)
    return resp


def _install_requests() -> None:
    import requests

    original = requests.Session.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        hook = _CURRENT.get()
        if hook is None or _IN_CALL.get():
            return original(self, request, **kwargs)
        wire = Request(
            method=str(request.method).upper(),
            url=str(request.url),
            headers=tuple((str(k), str(v)) for k, v in request.headers.items()),
            body=_body_bytes(request.body),
            timeout=_requests_timeout(kwargs.get("timeout")),
            client="requests",
        )

        def search(url: str) -> Response:
            prep = requests.Request("GET", url, headers=_search_headers(request.headers)).prepare()
            token = _IN_CALL.set(True)
            try:
                r = original(self, prep, timeout=wire.timeout or hook.policy.timeouts.call)
            finally:
                _IN_CALL.reset(token)
            return Response(r.status_code, tuple(r.headers.items()), r.content)

        plan = hook.before(wire, search=search)
        if plan.replay is not None:
            hook.after(plan, plan.replay, None)
            return _requests_response(plan.replay, request)
        for name, value in plan.headers:
            request.headers[name] = value
        if plan.query:  # an idempotency key sent as a query parameter
            request.url = plan.request.url
        if plan.timeout is not None:
            kwargs["timeout"] = plan.timeout
        token = _IN_CALL.set(True)
        try:
            resp = original(self, request, **kwargs)
        except BaseException as exc:
            hook.after(plan, None, exc)
            raise
        finally:
            _IN_CALL.reset(token)
        _record(hook, plan, resp, streamed=bool(kwargs.get("stream")))
        return resp

    send.__wrapped__ = original  # type: ignore[attr-defined]
    requests.Session.send = send  # type: ignore[method-assign]


def _search_headers(headers: Any) -> dict[str, str]:
    """The write's headers minus those that describe its body or key: reused for the guard's GET."""
    return {
        k: v
        for k, v in headers.items()
        if k.lower() not in ("content-type", "content-length", "idempotency-key")
    }


def _record(hook: RunHook, plan: _Plan, resp: Any, *, streamed: bool) -> None:
    """Tell the hook what came back (a streamed body is not read: the automation owns it)."""
    body = b"" if streamed else resp.content
    hook.after(plan, Response(resp.status_code, tuple(resp.headers.items()), body), None)


def _httpx_response(replay: Response, request: Any) -> Any:
    import httpx

    return httpx.Response(
        replay.status, headers=list(replay.headers), content=replay.body, request=request
    )


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


def _install_httpx() -> None:
    import httpx

    original = httpx.Client.send
    original_async = httpx.AsyncClient.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        hook = _CURRENT.get()
        if hook is None or _IN_CALL.get():
            return original(self, request, **kwargs)
        wire = _httpx_wire(request)

        def search(url: str) -> Response:
            req = self.build_request("GET", url, headers=_search_headers(request.headers))
            token = _IN_CALL.set(True)
            try:
                r = original(self, req, auth=kwargs.get("auth", httpx.USE_CLIENT_DEFAULT))
            finally:
                _IN_CALL.reset(token)
            return Response(r.status_code, tuple(r.headers.items()), r.content)

        plan = hook.before(wire, search=search)
        if plan.replay is not None:
            hook.after(plan, plan.replay, None)
            return _httpx_response(plan.replay, request)
        _httpx_apply(plan, request)
        token = _IN_CALL.set(True)
        try:
            resp = original(self, request, **kwargs)
        except BaseException as exc:
            hook.after(plan, None, exc)
            raise
        finally:
            _IN_CALL.reset(token)
        _record(hook, plan, resp, streamed=bool(kwargs.get("stream")))
        return resp

    async def send_async(self: Any, request: Any, **kwargs: Any) -> Any:
        hook = _CURRENT.get()
        if hook is None or _IN_CALL.get():
            return await original_async(self, request, **kwargs)
        wire = _httpx_wire(request)
        plan = hook.before(wire)  # no search-before-create guard in async code (see module doc)
        if plan.replay is not None:
            hook.after(plan, plan.replay, None)
            return _httpx_response(plan.replay, request)
        _httpx_apply(plan, request)
        token = _IN_CALL.set(True)
        try:
            resp = await original_async(self, request, **kwargs)
        except BaseException as exc:
            hook.after(plan, None, exc)
            raise
        finally:
            _IN_CALL.reset(token)
        _record(hook, plan, resp, streamed=bool(kwargs.get("stream")))
        return resp

    send.__wrapped__ = original  # type: ignore[attr-defined]
    send_async.__wrapped__ = original_async  # type: ignore[attr-defined]
    httpx.Client.send = send  # type: ignore[method-assign]
    httpx.AsyncClient.send = send_async  # type: ignore[method-assign]


def install() -> None:
    """Wrap the clients' ``send`` once per process (idempotent, thread-safe)."""
    global _INSTALLED
    if _INSTALLED:
        return
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        _install_requests()
        _install_httpx()
        _INSTALLED = True
