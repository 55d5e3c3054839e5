"""Small helpers for the orchestrator's tests: a Zendesk-shaped ticket desk, fault interceptors.

The desk speaks the subset of Zendesk Support's tickets API the guard relies
on: ``POST /api/v2/tickets.json`` (201 ``{"ticket": ...}``) and
``GET /api/v2/tickets.json?external_id=X`` (``{"tickets": [...]}``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness._shared.wire import ConnectionReset, Request, Response, Timeout
from harness.systems import CallContext, World

Next = Callable[[Request], Response]


class Desk:
    """A Zendesk-shaped ticket store (host ``acme.zendesk.com``)."""

    name = "zendesk"

    def __init__(self) -> None:
        self.world: World | None = None
        self.tickets: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def attach(self, world: World) -> None:
        self.world = world

    def matches(self, host: str) -> bool:
        return host.endswith(".zendesk.com")

    def reset(self) -> None:
        self.tickets.clear()

    def records(self) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        return {"ticket": list(self.tickets)}

    def handle(self, request: Request) -> Response:
        if request.path == "/api/v2/tickets.json" and request.method == "POST":
            try:
                body = request.json()["ticket"]
            except (ValueError, KeyError, TypeError):
                return Response.of_json(400, {"error": "RecordInvalid"})
            ticket = {"id": next(self._ids), **body}
            self.tickets.append(ticket)
            if self.world is not None:
                self.world.record_write("zendesk", "ticket", str(ticket["id"]), "create", ticket)
            return Response.of_json(201, {"ticket": ticket})
        if request.path == "/api/v2/tickets.json" and request.method == "GET":
            wanted = dict(request.query).get("external_id")
            found = [t for t in self.tickets if wanted is None or t.get("external_id") == wanted]
            return Response.of_json(200, {"tickets": found, "count": len(found)})
        return Response.of_json(404, {"error": "InvalidEndpoint"})


def fail_once(
    method: str,
    path: str,
    fault: str,
    *,
    times: int = 1,
    status: int = 503,
    retry_after: str | None = None,
) -> Callable[[Request, CallContext, Next], Response]:
    """An interceptor that injects ``fault`` on the first ``times`` matching calls.

    ``fault``: ``timeout_after`` (server acts, client times out), ``timeout``
    (before the server), ``reset``, ``status`` (an HTTP ``status`` answer),
    ``stall`` (a read timeout after the request's own timeout).
    """
    left = [times]

    def intercept(req: Request, ctx: CallContext, call_next: Next) -> Response:
        if req.method != method or not req.path.endswith(path) or left[0] <= 0:
            return call_next(req)
        left[0] -= 1
        ctx.fault = fault
        if fault == "timeout_after":
            call_next(req)
            ctx.executed = True
            raise Timeout("read timed out", executed=True)
        if fault == "timeout":
            raise Timeout("connect timed out", phase="connect")
        if fault == "reset":
            raise ConnectionReset("connection reset by peer")
        if fault == "stall":
            if req.timeout is None:
                raise AssertionError("a call with no timeout would hang forever")
            raise Timeout(f"read timed out after {req.timeout}s")
        headers = {"Retry-After": retry_after} if retry_after is not None else None
        return Response.of_json(status, {"error": {"message": "injected"}}, headers)

    return intercept


def json_body(request: Request) -> Any:
    return json.loads(request.body)
