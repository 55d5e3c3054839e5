"""``harness.create_app`` mounted inside a team's own web app: FastAPI, Starlette, Flask, Django.

Each test mounts the real app under ``/harness``, sends a signed delivery
through the host framework, and waits until a worker has run it: the host
routes the request, the signature (HubSpot's covers the URL) still verifies,
and the run happens.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from _serve_support import deal_event, deal_flow, order_flow

from harness import create_app
from harness.ledger import Ledger
from harness.ledger.runqueue import RunQueue
from harness.serve import sign
from harness.systems import World

SECRETS = {"HARNESS_WEBHOOK_SECRET": "generic-secret", "HUBSPOT_CLIENT_SECRET": "hubspot-secret"}
BASE = "https://hooks.example.com"


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def harness_app(ledger: Ledger) -> Any:
    # threads: the runs must reach this process's world of fakes
    return create_app([order_flow(), deal_flow()], ledger=ledger, secrets=SECRETS, poll=0.05, worker_mode="threads")


def order_delivery(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"eventId": n, "id": n, "email": f"m{n}@example.com"}).encode()
    return body, {"Content-Type": "application/json", **sign("generic", "generic-secret", body=body)}


def deal_delivery(deal: int, url: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps([deal_event(deal, deal)]).encode()
    return body, {"Content-Type": "application/json", **sign("hubspot", "hubspot-secret", body=body, url=url)}


def assert_ran(ledger: Ledger, answers: list[tuple[int, Any]], world: World) -> None:
    queue = RunQueue(ledger)
    ids = []
    for status, payload in answers:
        assert status == 202, payload
        ids += [a["run_id"] for a in json.loads(payload)["accepted"]]
    assert len(ids) == 2
    wait_for("the runs", lambda: all(queue.get(i).state == "succeeded" for i in ids))
    assert len(world.system("stripe").records()["customer"]) == 2


def test_mounted_in_fastapi(sqlite_ledger: Ledger, world: World) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    inner = harness_app(sqlite_ledger)
    app = FastAPI()

    @app.get("/")
    def home() -> dict[str, str]:
        return {"app": "ours"}

    app.mount("/harness", inner)
    client = TestClient(app, base_url=BASE)
    try:
        assert client.get("/").json() == {"app": "ours"}
        body, headers = order_delivery(1)
        first = client.post("/harness/hooks/orders", content=body, headers=headers)
        url = f"{BASE}/harness/hooks/deal_won"
        body, headers = deal_delivery(2, url)
        second = client.post(url, content=body, headers=headers)
        assert_ran(sqlite_ledger, [(r.status_code, r.text) for r in (first, second)], world)
        assert client.get("/harness/healthz").json()["status"] == "ok"
        assert "harness_ack_seconds" in client.get("/harness/metrics").text
        bad = client.post("/harness/hooks/orders", content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"})
        assert bad.status_code == 401
    finally:
        inner.state.harness.stop()


def test_mounted_in_starlette_through_httpx_asgi_transport(sqlite_ledger: Ledger, world: World) -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Mount

    inner = harness_app(sqlite_ledger)
    app = Starlette(routes=[Mount("/harness", app=inner)])

    async def deliver() -> list[tuple[int, str]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            body, headers = order_delivery(3)
            first = await client.post("/harness/hooks/orders", content=body, headers=headers)
            url = f"{BASE}/harness/hooks/deal_won"
            body, headers = deal_delivery(4, url)
            second = await client.post(url, content=body, headers=headers)
            return [(r.status_code, r.text) for r in (first, second)]

    try:
        assert_ran(sqlite_ledger, asyncio.run(deliver()), world)
    finally:
        inner.state.harness.stop()


def test_mounted_in_flask_through_a2wsgi(sqlite_ledger: Ledger, world: World) -> None:
    from a2wsgi import ASGIMiddleware
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    inner = harness_app(sqlite_ledger)
    flask_app = Flask("ours")

    @flask_app.get("/")
    def home() -> dict[str, str]:
        return {"app": "ours"}

    flask_app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        flask_app.wsgi_app, {"/harness": ASGIMiddleware(inner)}  # type: ignore[dict-item]
    )
    client = flask_app.test_client()
    try:
        assert client.get("/", base_url=BASE).json == {"app": "ours"}
        body, headers = order_delivery(5)
        first = client.post("/harness/hooks/orders", data=body, headers=headers, base_url=BASE)
        url = f"{BASE}/harness/hooks/deal_won"
        body, headers = deal_delivery(6, url)
        second = client.post("/harness/hooks/deal_won", data=body, headers=headers, base_url=BASE)
        assert_ran(sqlite_ledger, [(r.status_code, r.get_data(as_text=True)) for r in (first, second)], world)
    finally:
        inner.state.harness.stop()


def test_mounted_beside_django_with_an_asgi_dispatcher(sqlite_ledger: Ledger, world: World) -> None:
    pytest.importorskip("django", reason="Django is not installed")
    import django
    import httpx
    from django.conf import settings
    from django.http import JsonResponse
    from django.urls import path

    def home(request: Any) -> JsonResponse:
        return JsonResponse({"app": "ours"})

    if not settings.configured:
        settings.configure(
            ROOT_URLCONF=__name__, ALLOWED_HOSTS=["hooks.example.com"], SECRET_KEY="test-only", DEBUG=False
        )
        django.setup()
    global urlpatterns
    urlpatterns = [path("", home)]
    from django.core.asgi import get_asgi_application

    django_app = get_asgi_application()
    inner = harness_app(sqlite_ledger)

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        # the dispatcher the README documents: /harness/ to harness, the rest to Django
        if scope["type"] == "http" and scope["path"].startswith("/harness/"):
            scope = {**scope, "root_path": scope.get("root_path", "") + "/harness"}
            await inner(scope, receive, send)
        else:
            await django_app(scope, receive, send)

    async def deliver() -> list[tuple[int, str]]:
        transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            assert (await client.get("/")).json() == {"app": "ours"}
            body, headers = order_delivery(7)
            first = await client.post("/harness/hooks/orders", content=body, headers=headers)
            url = f"{BASE}/harness/hooks/deal_won"
            body, headers = deal_delivery(8, url)
            second = await client.post(url, content=body, headers=headers)
            return [(r.status_code, r.text) for r in (first, second)]

    try:
        assert_ran(sqlite_ledger, asyncio.run(deliver()), world)
    finally:
        inner.state.harness.stop()


urlpatterns: list[Any] = []
