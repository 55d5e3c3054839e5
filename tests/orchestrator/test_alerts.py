"""Alerts of critical flows reach a real webhook server and a real SMTP server, throttled."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from _orch_fakes import fail_once
from _orch_support import make_flow, order

from harness import AlertPolicy, Policy, RetryPolicy, VirtualClock
from harness.orchestrator import Alert, Alerter, Orchestrator
from harness.policy import BreakerPolicy
from harness.systems import World

Make = Callable[..., Orchestrator]


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(
                {"body": json.loads(self.rfile.read(length)), "type": self.headers["Content-Type"]}
            )
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[Any]]]:
    from aiosmtpd.controller import Controller

    messages: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            messages.append(envelope)
            return "250 Message accepted for delivery"

    with socket.socket() as probe:  # a free port: aiosmtpd's readiness check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, messages
    finally:
        controller.stop()


def test_inbox_alert_reaches_webhook_and_email_while_the_world_intercepts(
    world: World,
    orchestrate: Make,
    webhook: tuple[str, list[dict[str, Any]]],
    smtp: tuple[int, list[Any]],
) -> None:
    url, received = webhook
    port, messages = smtp
    flow = make_flow(
        "bill",
        criticality="high",
        policy=Policy(
            alerts=AlertPolicy(sinks=("log", f"webhook:{url}", f"smtp://127.0.0.1:{port}/ops@example.com"))
        ),
    )
    with world.activate():
        result = orchestrate(flow).handle(order(email="broken"))
    assert result.end_state == "manual"
    assert len(received) == 1
    body = received[0]["body"]
    assert received[0]["type"] == "application/json"
    assert body["kind"] == "inbox" and body["flow"] == "orders" and body["run_id"] == result.run.id
    assert result.inbox_item is not None and result.inbox_item.id in body["text"]
    deadline = time.monotonic() + 10  # aiosmtpd hands the message over on its own thread
    while not messages and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(messages) == 1
    assert messages[0].rcpt_tos == ["ops@example.com"]
    assert b"[harness] inbox: orders" in messages[0].content
    alerts = [e.detail for e in result.run.events if e.kind == "alert"]
    assert sorted(a["sink"] for a in alerts) == sorted(
        ["log", url, f"smtp://127.0.0.1:{port}/ops@example.com"]
    )
    assert not any(a["throttled"] for a in alerts)


def test_low_criticality_flows_do_not_alert(world: World, orchestrate: Make) -> None:
    sent: list[Alert] = []
    alerter = Alerter(sinks=[("test", sent.append)])
    with world.activate():
        result = orchestrate(make_flow("bill"), alerts=alerter).handle(order(email="broken"))
    assert result.end_state == "manual" and sent == []


def test_repeated_alerts_are_throttled_but_recorded(
    world: World, orchestrate: Make, clock: VirtualClock
) -> None:
    sent: list[Alert] = []
    alerter = Alerter(AlertPolicy(throttle=600.0, failure_rate=None), clock=clock, sinks=[("test", sent.append)])
    flow = make_flow(
        "bill",
        criticality="critical",
        policy=Policy(
            retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=2.0),
            breaker=BreakerPolicy(failures=2, cooldown=5.0),
        ),
    )
    world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "status", times=10_000))
    orch = orchestrate(flow, alerts=alerter)
    with world.activate():
        first = orch.handle(order(1))
        second = orch.handle(order(2))
    opened = [a for a in sent if a.kind == "breaker_open"]
    assert len(opened) == 1 and opened[0].subject == "zendesk"
    throttled = [
        e.detail for r in (first, second) for e in r.run.events if e.kind == "alert" and e.detail["throttled"]
    ]
    assert throttled and all(d["kind"] == "breaker_open" for d in throttled)
    # each inbox item is its own subject: both are sent
    assert len([a for a in sent if a.kind == "inbox"]) == 2
    clock.advance(601.0)
    alerter.send(Alert(kind="breaker_open", flow="orders", text="again", subject="zendesk"))
    assert len([a for a in sent if a.kind == "breaker_open"]) == 2


def test_failure_rate_alert_when_the_threshold_is_crossed(
    world: World, orchestrate: Make, clock: VirtualClock
) -> None:
    sent: list[Alert] = []
    alerter = Alerter(
        AlertPolicy(failure_rate=0.5, failure_window=4), clock=clock, sinks=[("test", sent.append)]
    )
    orch = orchestrate(make_flow("bill", criticality="high"), alerts=alerter)
    with world.activate():
        for n in range(1, 4):
            orch.handle(order(n))
        for n in range(4, 6):
            orch.handle(order(n, email="broken"))
    rates = [a for a in sent if a.kind == "failure_rate"]
    assert len(rates) == 1 and rates[0].detail["rate"] == 0.5


def test_a_failing_sink_does_not_fail_the_run_and_is_recorded(
    world: World, orchestrate: Make, caplog: pytest.LogCaptureFixture
) -> None:
    flow = make_flow(
        "bill",
        criticality="high",
        policy=Policy(alerts=AlertPolicy(sinks=("webhook:http://127.0.0.1:9/unreachable",))),
    )
    with world.activate():
        result = orchestrate(flow).handle(order(email="broken"))
    assert result.end_state == "manual"
    alert = next(e for e in result.run.events if e.kind == "alert")
    assert "error" in alert.detail
    assert any("alert sink" in r.getMessage() for r in caplog.records)
