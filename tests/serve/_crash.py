"""The crash campaign: SIGKILL ``harness serve`` at known states while signed deliveries arrive.

A loopback vendor server speaks Stripe (the bundled fake behind a real HTTP
socket, a little slow like a real API) and fails some calls transiently: the
first customer create of every third order answers 503 with ``Retry-After: 2``
(the run waits in backoff), the first invoice item of every fifth order is
made and then the connection drops before the answer (an unknown outcome).

Each cycle starts ``harness serve`` in a subprocess, sends a batch of signed
deliveries (new orders, byte-identical duplicates, redeliveries with a new
event id), resending any that got no 2xx as a vendor would, waits until the
ledger shows a run in the cycle's target state (``accepted``, ``running``
with a write in flight, ``waiting``) and SIGKILLs the process.  A last start
lets everything finish.  Then every accepted delivery must have ended
``succeeded``, ``suppressed`` (a true duplicate of a run that succeeded) or
in the inbox; none may be missing; each order has exactly one customer and one
invoice item.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests

from harness import WallClock
from harness._shared.wire import Request
from harness.ledger import Ledger
from harness.ledger.runqueue import RunQueue
from harness.serve import sign
from harness.systems import World
from harness.systems._stripe import Stripe

HERE = Path(__file__).resolve().parent
SECRET = "crash-test-secret"
TARGETS = ("accepted", "inflight", "waiting")
CI_KILLS = 10  # the test CI runs
SOAK_KILLS = 100  # the soak behind HARNESS_CRASH_SOAK
VENDOR_LATENCY = 0.1  # seconds per call: a real API is not instant, and it keeps states observable


class Vendor:
    """Stripe on a loopback socket, with the transient failures described above."""

    def __init__(self) -> None:
        self.world = World([Stripe()], clock=WallClock())
        self.lock = threading.Lock()
        self.failed: set[tuple[str, str]] = set()
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                time.sleep(VENDOR_LATENCY)
                form = parse_qs(body.decode("utf-8", "replace"))
                order = (form.get("metadata[order]") or [""])[0]
                path = self.path.split("?")[0]
                fault = None
                with vendor.lock:
                    if self.command == "POST" and order.isdigit():
                        if path == "/v1/customers" and int(order) % 3 == 0 and (path, order) not in vendor.failed:
                            vendor.failed.add((path, order))
                            fault = "503"
                        elif path == "/v1/invoiceitems" and int(order) % 5 == 0 and (path, order) not in vendor.failed:
                            vendor.failed.add((path, order))
                            fault = "drop"
                    if fault != "503":
                        request = Request(
                            self.command,
                            "https://api.stripe.com" + self.path,
                            tuple(self.headers.items()),
                            body,
                            10.0,
                            "requests",
                        )
                        response = vendor.world.dispatch(request)
                if fault == "503":
                    payload = json.dumps({"error": {"message": "try again", "type": "api_error"}}).encode()
                    self.send_response(503)
                    self.send_header("Retry-After", "2")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if fault == "drop":
                    # the write happened; the answer never arrives
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(response.status)
                for name, value in response.headers:
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = _serve
            do_POST = _serve

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a killed client leaves a broken pipe: expected here, not news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Vendor:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def effects(self, kind: str) -> dict[str, int]:
        """Records of ``kind`` per order."""
        counts: dict[str, int] = {}
        with self.lock:
            for record in self.world.system("stripe").records()[kind]:
                order = str((record.get("metadata") or {}).get("order"))
                counts[order] = counts.get(order, 0) + 1
        return counts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Campaign:
    """One crash campaign's plan and what happened."""

    workdir: Path
    kills: int
    seed: int
    ledger_url: str = ""
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> event
    killed_at: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ledger_url = f"sqlite:///{self.workdir / 'ledger.db'}"
        self.rng = random.Random(self.seed)
        self.sent: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []  # deliveries with no 2xx yet: the vendor redelivers
        self.next_order = 1
        self.next_event = 1

    # -- the server --------------------------------------------------------------

    def start(self, vendor: Vendor) -> tuple[subprocess.Popen[bytes], int]:
        port = _free_port()
        env = {
            **os.environ,
            "HARNESS_WEBHOOK_SECRET": SECRET,
            "STRIPE_BASE_URL": f"http://127.0.0.1:{vendor.port}",
            "HARNESS_LEDGER_URL": self.ledger_url,
            "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        # the child gets its own copy of the descriptor: the parent's is closed once it started
        with open(self.workdir / "serve.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "harness.cli", "serve", "--flow", str(HERE / "_crash_flow.py"),
                 "--port", str(port), "--workers", "2", "--lease", "2"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        return self.await_healthz(proc, port)

    def await_healthz(
        self, proc: subprocess.Popen[bytes], port: int
    ) -> tuple[subprocess.Popen[bytes], int]:
        """``(proc, port)`` once ``harness serve`` answers ``/healthz`` (it died or 60 s: fail)."""
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"harness serve exited with {proc.returncode}; see {self.workdir / 'serve.log'}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return proc, port
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("harness serve did not answer /healthz within 60s")
            time.sleep(0.05)

    # -- deliveries --------------------------------------------------------------

    def batch(self) -> list[dict[str, Any]]:
        """New orders plus, from the second batch on, duplicates and redeliveries of earlier ones."""
        events: list[dict[str, Any]] = []
        for _ in range(5):
            n = self.next_order
            self.next_order += 1
            events.append({"eventId": self.next_event, "id": n, "email": f"buyer{n}@example.com"})
            self.next_event += 1
        if self.sent:
            events.append(dict(self.rng.choice(self.sent)))  # byte-identical duplicate
            again = dict(self.rng.choice(self.sent))
            again["eventId"] = self.next_event  # redelivery: same order, new event id
            self.next_event += 1
            events.append(again)
        return events

    def deliver(self, port: int, events: list[dict[str, Any]]) -> None:
        for event in events:
            body = json.dumps(event).encode()
            try:
                resp = requests.post(
                    f"http://127.0.0.1:{port}/hooks/crash_orders",
                    data=body,
                    headers={"Content-Type": "application/json", **sign("generic", SECRET, body=body)},
                    timeout=10,
                )
            except requests.RequestException:
                self.pending.append(event)
                continue
            if resp.status_code == 202:
                for accepted in resp.json()["accepted"]:
                    self.accepted[accepted["run_id"]] = event
                self.sent.append(event)
            else:
                self.pending.append(event)

    # -- the states to kill at ------------------------------------------------------

    def reached(self, queue: RunQueue, target: str) -> bool:
        if target == "inflight":
            return any(r.progress.get("inflight") for r in queue.runs(states=["running"]))
        return bool(queue.runs(states=[target]))

    def run(self) -> None:
        with Vendor() as vendor, Ledger.open(self.ledger_url) as ledger:
            self.vendor = vendor
            queue = RunQueue(ledger)
            for cycle in range(self.kills):
                target = TARGETS[cycle % len(TARGETS)]
                proc, port = self.start(vendor)
                resend, self.pending = self.pending, []
                self.deliver(port, resend + self.batch())
                deadline = time.monotonic() + 60
                while not self.reached(queue, target):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        proc.kill()
                        raise AssertionError(
                            f"cycle {cycle}: the ledger never showed a run {target} "
                            f"(seed {self.seed}); see {self.workdir / 'serve.log'}"
                        )
                    time.sleep(0.005)
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                self.killed_at.append(target)
            proc, port = self.start(vendor)
            try:
                while self.pending:
                    resend, self.pending = self.pending, []
                    self.deliver(port, resend)
                deadline = time.monotonic() + 180
                while queue.runs(states=["accepted", "running", "waiting"]):
                    if time.monotonic() > deadline:
                        left = [(r.id, r.state) for r in queue.runs(states=["accepted", "running", "waiting"])]
                        raise AssertionError(f"runs never finished after the last restart: {left}")
                    time.sleep(0.05)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            self.check(ledger, queue, vendor)

    # -- what must hold ----------------------------------------------------------------

    def check(self, ledger: Ledger, queue: RunQueue, vendor: Vendor) -> None:
        where = f"(crash campaign seed {self.seed}, {self.kills} kills at {self.killed_at})"
        rows = {r.id: r for r in queue.runs()}
        runs = {r.id: r for r in ledger.runs(flow="crash_orders")}
        assert set(self.accepted) <= set(rows), f"accepted deliveries missing from the ledger {where}"
        for run_id in self.accepted:
            row = rows[run_id]
            assert row.state in ("succeeded", "suppressed", "manual"), f"run {run_id} ended {row.state} {where}"
            assert run_id in runs, f"run {run_id} ({row.state}) has no run record {where}"
        # the run that did an order's work may be a delivery stored just before a kill that
        # never got its 202 (the vendor then redelivered it): look at every stored run
        # (a run killed in attempt after attempt ends in the inbox when its retries are spent)
        done = {str(r.event["id"]) for r in rows.values() if r.state in ("succeeded", "manual")}
        for run_id in self.accepted:
            row = rows[run_id]
            if row.state == "suppressed":
                # a true duplicate: its order's key belongs to a run that did the work or is
                # in the inbox for a person
                assert str(row.event["id"]) in done, f"run {run_id} suppressed but its order never ended {where}"
        orders = {str(e["id"]) for e in self.accepted.values()}
        manual = {str(r.event["id"]) for r in rows.values() if r.state == "manual"}
        customers = vendor.effects("customer")
        items = vendor.effects("invoiceitem")
        for order in sorted(orders - manual, key=int):
            assert customers.get(order) == 1, f"order {order}: {customers.get(order, 0)} customers {where}"
            assert items.get(order) == 1, f"order {order}: {items.get(order, 0)} invoice items {where}"
        assert not set(customers) - orders, f"customers for orders never accepted {where}"
        # the kills hit what they aimed at: runs were taken over from dead processes
        self.recovered = sum(1 for r in rows.values() if r.recoveries)
        assert self.recovered, f"no run was ever recovered from a dead process {where}"
