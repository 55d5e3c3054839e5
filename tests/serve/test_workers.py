"""Worker processes: the serving process only accepts; its children run the runs and die with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from _serve_support import order_flow

from harness.ledger import Ledger
from harness.ledger.runqueue import RunQueue
from harness.orchestrator import RateLimit
from harness.serve import create_app, sign
from harness.serve._dispatch import share_limits
from harness.systems import World

HERE = Path(__file__).resolve().parent
SECRETS = {"HARNESS_WEBHOOK_SECRET": "generic-secret"}

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and /proc: Linux")


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_worker_process_runs_the_delivery_the_serving_process_accepted(
    sqlite_ledger: Ledger, world: World
) -> None:
    from starlette.testclient import TestClient

    app = create_app([order_flow()], ledger=sqlite_ledger, secrets=SECRETS, poll=0.05, workers=2)
    server = app.state.harness
    body = json.dumps({"eventId": 5, "id": 5, "email": "p@example.com"}).encode()
    with TestClient(app) as client:
        wait_for("two worker processes", lambda: server.workers.alive() == 2)
        resp = client.post("/hooks/orders", content=body, headers=sign("generic", "generic-secret", body=body))
        assert resp.status_code == 202, resp.text
        run_id = resp.json()["accepted"][0]["run_id"]
        queue = RunQueue(sqlite_ledger)
        wait_for("a worker process to finish the run", lambda: queue.get(run_id).state == "succeeded")
        assert client.get("/healthz").json()["workers"] == 2
    # the run's call went to a worker's (forked) copy of the fake, never to this process's
    assert world.system("stripe").records()["customer"] == []
    assert sqlite_ledger.run(run_id).end_state == "succeeded"
    assert server.workers.alive() == 0  # the lifespan's end stopped them


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next((line.split()[1] for line in status.splitlines() if line.startswith("State:")), "X")
    return state not in ("Z", "X")  # a zombie has stopped; only its parent's reaper is missing


def _serve(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """``harness serve --workers 2`` in a subprocess, once it shows two live worker processes."""
    port = _free_port()
    env = {
        **os.environ,
        "HARNESS_WEBHOOK_SECRET": "s",
        "STRIPE_BASE_URL": "http://127.0.0.1:9",
        "HARNESS_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
        "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    # the child inherits the log's descriptor; the parent's copy is closed once it started
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "serve", "--flow", str(HERE / "_crash_flow.py"),
             "--port", str(port), "--workers", "2"],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )

    def two_workers() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"harness serve exited: {(tmp_path / 'serve.log').read_text()}")
        try:
            resp = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except requests.RequestException:
            return False
        return resp.status_code == 200 and resp.json()["workers"] == 2

    wait_for("harness serve with two worker processes", two_workers)
    children = _children(proc.pid)
    assert len(children) == 2 and all(_running(c) for c in children)
    return proc, children


def test_the_worker_processes_die_with_a_killed_server(tmp_path: Path) -> None:
    proc, children = _serve(tmp_path)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        wait_for("the orphaned workers to die", lambda: not any(_running(c) for c in children), timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_stopped_server_stops_its_worker_processes_cleanly(tmp_path: Path) -> None:
    proc, children = _serve(tmp_path)
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after its shutdown
        wait_for("the workers to end", lambda: not any(_running(c) for c in children), timeout=30)
        log = (tmp_path / "serve.log").read_text()
        assert "Traceback" not in log and "error" not in log.lower(), log
    finally:
        if proc.poll() is None:
            proc.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_each_worker_process_gets_its_share_of_a_rate_limit() -> None:
    shared = share_limits({"hubspot": RateLimit(calls=100, per=10.0), "stripe": RateLimit(calls=25, per=1.0)}, 2)
    assert shared["hubspot"] == RateLimit(calls=50, per=10.0)
    for name, total in (("hubspot", 10.0), ("stripe", 25.0)):
        assert shared[name].calls / shared[name].per * 2 == pytest.approx(total)  # the same rate together
    assert share_limits({"x": RateLimit(calls=1, per=1.0)}, 3)["x"].calls == 1


def test_worker_processes_started_by_a_mounted_apps_first_delivery_outlive_its_thread(
    sqlite_ledger: Ledger, world: World
) -> None:
    # no lifespan reaches a mounted app: the first delivery forks the workers, here from the
    # test client's short-lived event-loop thread, and they must keep running after it ends
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    inner = create_app([order_flow()], ledger=sqlite_ledger, secrets=SECRETS, poll=0.05)
    app = FastAPI()
    app.mount("/harness", inner)
    body = json.dumps({"eventId": 6, "id": 6, "email": "q@example.com"}).encode()
    try:
        resp = TestClient(app).post("/harness/hooks/orders", content=body, headers=sign("generic", "generic-secret", body=body))
        assert resp.status_code == 202, resp.text
        run_id = resp.json()["accepted"][0]["run_id"]
        wait_for("a worker process to finish the run", lambda: RunQueue(sqlite_ledger).get(run_id).state == "succeeded")
        assert inner.state.harness.workers.alive() == 2
    finally:
        inner.state.harness.stop()
    assert inner.state.harness.workers.alive() == 0
