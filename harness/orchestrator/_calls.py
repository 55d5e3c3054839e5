"""The current run's hook and the two drivers every client wrapper calls (sync and async).

A wrapper in :mod:`harness.orchestrator._clients` turns the client's request
into a :class:`~harness._shared.wire.Request` and hands :func:`call` (or
:func:`acall`) four small functions: apply the plan to the client's request,
send it, read what came back, build a client response from a replayed
answer.  The decision itself is :meth:`RunHook.decide
<harness.orchestrator._hook.RunHook.decide>`, the same for every client; in
async code its waits are ``asyncio.sleep`` on the run's clock, so the event
loop keeps running.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from harness._aio import sleep as aio_sleep
from harness._shared.wire import Request, Response
from harness.orchestrator._hook import RunHook, Wait, _Plan
from harness.systems import harness_traffic

__all__ = [
    "IN_CALL",
    "acall",
    "activate",
    "body_bytes",
    "call",
    "current_hook",
    "deactivate",
    "hooked",
    "items",
    "read_timeout",
    "unhooked",
    "wire_response",
]

_CURRENT: contextvars.ContextVar[RunHook | None] = contextvars.ContextVar(
    "harness_orchestrator_run", default=None
)
IN_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "harness_orchestrator_in_call", default=False
)

T = TypeVar("T")


def current_hook() -> RunHook | None:
    """The hook of the run current in this context, if any."""
    return _CURRENT.get()


def activate(hook: RunHook | None) -> contextvars.Token[RunHook | None]:
    return _CURRENT.set(hook)


def deactivate(token: contextvars.Token[RunHook | None]) -> None:
    _CURRENT.reset(token)


def hooked() -> RunHook | None:
    """The hook a call made now must pass, or ``None``: no run, the hook's own call, or the
    harness's own traffic (an alert sent while a run's call waits on its breaker)."""
    if IN_CALL.get() or harness_traffic():
        return None
    return _CURRENT.get()


# -- the two drivers: one decision, sync or async ------------------------------------


def call(
    hook: RunHook,
    wire: Request,
    *,
    search: Callable[[Request], Response],
    apply: Callable[[_Plan], None],
    send: Callable[[], T],
    seen: Callable[[T], tuple[T, Response]],
    replay: Callable[[Response], T],
) -> T:
    """One call of a sync client through ``hook``.

    ``search`` sends a guard's GET with the same client, ``apply`` puts the plan
    (headers, query, timeout) on the client's request, ``send`` makes the call,
    ``seen`` reads what came back (the client's response, maybe rebuilt, and its
    wire form: reading the body belongs to the call, so a read error is its
    outcome), ``replay`` builds the client's response from a journaled answer.
    """
    plan = hook.before(wire, search=unhooked(search))
    if plan.replay is not None:
        hook.after(plan, plan.replay, None)
        return replay(plan.replay)
    apply(plan)
    token = IN_CALL.set(True)
    try:
        resp, response = seen(send())
    except BaseException as exc:
        hook.after(plan, None, exc)
        raise
    finally:
        IN_CALL.reset(token)
    hook.after(plan, response, None)
    return resp


async def acall(
    hook: RunHook,
    wire: Request,
    *,
    search: Callable[[Request], Awaitable[Response]],
    apply: Callable[[_Plan], None],
    send: Callable[[], Awaitable[T]],
    seen: Callable[[T], Awaitable[tuple[T, Response]]],
    replay: Callable[[Response], T],
) -> T:
    """:func:`_call` for an async client: the same decision, waits without blocking the loop."""
    decision = hook.decide(wire)
    answer: Response | None = None
    try:
        while True:
            step = decision.send(answer)
            if isinstance(step, Wait):
                await aio_sleep(step.seconds, hook.clock)
                answer = None
            else:
                token = IN_CALL.set(True)
                try:
                    answer = await search(step.request)
                finally:
                    IN_CALL.reset(token)
    except StopIteration as done:
        plan: _Plan = done.value
    if plan.replay is not None:
        hook.after(plan, plan.replay, None)
        return replay(plan.replay)
    apply(plan)
    token = IN_CALL.set(True)
    try:
        resp, response = await seen(await send())
    except BaseException as exc:
        hook.after(plan, None, exc)
        raise
    finally:
        IN_CALL.reset(token)
    hook.after(plan, response, None)
    return resp


def unhooked(search: Callable[[Request], Response]) -> Callable[[Request], Response]:
    def run(request: Request) -> Response:
        token = IN_CALL.set(True)
        try:
            return search(request)
        finally:
            IN_CALL.reset(token)

    return run


# -- shared translation helpers ------------------------------------------------------


def body_bytes(body: Any) -> bytes:
    """A request body as bytes; a file or generator body is streamed and not consumed here."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    return b""


#: headers that describe how the body travelled, not what it is: dropped from what the
#: journal keeps (its body is stored decoded and whole)
_FRAMING = frozenset({"content-encoding", "transfer-encoding", "content-length"})


def wire_response(status: int, headers: Any, body: bytes) -> Response:
    """What the journal keeps of an answer: the status, the headers minus framing, the decoded body."""
    kept = tuple((str(k), str(v)) for k, v in headers if str(k).lower() not in _FRAMING)
    return Response(status, kept, body)


def items(headers: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in headers.items())


def read_timeout(value: Any) -> float | None:
    """A read timeout in seconds from a number, a ``(connect, read)`` tuple or a urllib3 ``Timeout``."""
    import socket

    if value is None or value is socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
        return None
    if isinstance(value, tuple):
        value = value[1] if len(value) > 1 else value[0]
    read = getattr(value, "read_timeout", value)
    try:
        return None if read is None else float(read)
    except (TypeError, ValueError):  # urllib3's "socket default" sentinel
        return None


