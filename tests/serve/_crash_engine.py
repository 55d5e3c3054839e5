"""The scale-out crash campaign: SIGKILL ``harness worker`` processes sharing a PostgreSQL ledger.

The same loopback vendor, flow and deliveries as ``_crash.py``, but the runs
go through the distributed engine: one ``harness serve --engine celery``
accepts the signed deliveries into a PostgreSQL ledger and sends each run to
Celery (Redis broker, a queue prefix of its own per campaign); two
``harness worker`` processes run them.  Each cycle sends a batch, waits until
the ledger shows the cycle's target state and SIGKILLs a worker: the one
holding a run with a write in flight (``inflight``), or one drawn from the
seed while runs sit accepted or waiting for their backoff (their messages, or
their countdowns, die with it).  The killed worker is restarted and the next
cycle waits for its ``ready`` line.  Afterwards the same checks as the
single-process campaign hold.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import IO

import requests
from _crash import HERE, SECRET, Campaign, Vendor, _free_port

from harness.ledger import Ledger
from harness.ledger.runqueue import RunQueue

BROKER = "redis://127.0.0.1:6379/0"
TARGETS = ("accepted", "inflight", "waiting")
CI_KILLS = 10
SOAK_KILLS = 100
LEASE = "2"  # seconds: a dead worker's runs are resumed quickly, and the test stays short


def _wait_line(proc: subprocess.Popen[bytes], stream: IO[bytes], text: str, timeout: float) -> None:
    """Read ``stream`` until a line contains ``text`` (a known state, not a sleep)."""
    deadline = time.monotonic() + timeout
    buffered = b""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the process exited with {proc.returncode} before {text!r}")
        ready, _, _ = select.select([stream], [], [], 0.2)
        if not ready:
            continue
        chunk = os.read(stream.fileno(), 4096)
        buffered += chunk
        if text.encode() in buffered:
            return
    raise AssertionError(f"no {text!r} within {timeout}s")


@dataclass
class EngineCampaign(Campaign):
    """A crash campaign against two Celery workers on a shared PostgreSQL ledger."""

    pg_url: str = ""
    workers: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.ledger_url = self.pg_url
        self.queue_prefix = f"harness-crash-{uuid.uuid4().hex[:8]}"

    def env(self, vendor: Vendor) -> dict[str, str]:
        return {
            **os.environ,
            "HARNESS_WEBHOOK_SECRET": SECRET,
            "STRIPE_BASE_URL": f"http://127.0.0.1:{vendor.port}",
            "HARNESS_LEDGER_URL": self.ledger_url,
            "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }

    def start(self, vendor: Vendor) -> tuple[subprocess.Popen[bytes], int]:
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "serve", "--flow", str(HERE / "_crash_flow.py"),
             "--port", str(port), "--lease", LEASE, "--engine", "celery", "--broker", BROKER,
             "--queue", self.queue_prefix],
            env=self.env(vendor),
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "serve.log", "ab"),  # noqa: SIM115 -- the child owns it
        )
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

    def start_worker(self, vendor: Vendor, slot: int) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "worker", "--flow", str(HERE / "_crash_flow.py"),
             "--broker", BROKER, "--queue", self.queue_prefix, "--threads", "2", "--lease", LEASE],
            env=self.env(vendor),
            stdout=subprocess.PIPE,
            stderr=open(self.workdir / f"worker{slot}.log", "ab"),  # noqa: SIM115 -- the child owns it
        )
        assert proc.stdout is not None
        try:
            _wait_line(proc, proc.stdout, "harness worker: ready", 60)
        except AssertionError as exc:
            proc.kill()
            raise AssertionError(f"worker {slot}: {exc}; see {self.workdir / f'worker{slot}.log'}") from None
        self.workers[slot] = proc

    def victim(self, queue: RunQueue, target: str) -> int | None:
        """The worker slot to kill once ``target`` is reached, or ``None`` while it is not."""
        if target == "inflight":
            pids = {p.pid: slot for slot, p in self.workers.items()}
            for row in queue.runs(states=["running"]):
                if row.progress.get("inflight") and row.lease_owner:
                    pid = int(row.lease_owner.split(":")[1])
                    if pid in pids:
                        return pids[pid]
            return None
        if queue.runs(states=[target]):
            return self.rng.choice(sorted(self.workers))
        return None

    def stop_all(self, serve: subprocess.Popen[bytes] | None) -> None:
        procs = [*self.workers.values(), *([serve] if serve is not None else [])]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()

    def run(self) -> None:
        with Vendor() as vendor, Ledger.open(self.ledger_url) as ledger:
            self.vendor = vendor
            queue = RunQueue(ledger)
            serve: subprocess.Popen[bytes] | None = None
            try:
                serve, port = self.start(vendor)
                for slot in (0, 1):
                    self.start_worker(vendor, slot)
                for cycle in range(self.kills):
                    target = TARGETS[cycle % len(TARGETS)]
                    resend, self.pending = self.pending, []
                    self.deliver(port, resend + self.batch())
                    deadline = time.monotonic() + 60
                    while (slot := self.victim(queue, target)) is None:
                        if time.monotonic() > deadline:
                            raise AssertionError(
                                f"cycle {cycle}: the ledger never showed a run {target} "
                                f"(seed {self.seed}); see the logs in {self.workdir}"
                            )
                        time.sleep(0.005)
                    proc = self.workers.pop(slot)
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(30)
                    if proc.stdout is not None:
                        proc.stdout.close()
                    self.killed_at.append(target)
                    self.start_worker(vendor, slot)
                    self.restarts += 1
                while self.pending:
                    resend, self.pending = self.pending, []
                    self.deliver(port, resend)
                deadline = time.monotonic() + 120
                while queue.runs(states=["accepted", "running", "waiting"]):
                    if time.monotonic() > deadline:
                        left = [(r.id, r.state) for r in queue.runs(states=["accepted", "running", "waiting"])]
                        raise AssertionError(f"runs never finished after the last kill: {left}")
                    time.sleep(0.05)
            finally:
                self.stop_all(serve)
            self.check(ledger, queue, vendor)
