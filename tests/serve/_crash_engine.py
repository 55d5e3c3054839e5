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
campaign goes on with the other; the restarted one may be killed once it
printed its ``ready`` line.  Afterwards the same checks as the
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
from typing import Any

import redis
from _crash import HERE, SECRET, Campaign, Vendor, _free_port

from harness.ledger import Ledger
from harness.ledger.runqueue import RunQueue

BROKER = "redis://127.0.0.1:6379/0"
TARGETS = ("accepted", "inflight", "waiting")
CI_KILLS = 10
SOAK_KILLS = 100
LEASE = "2"  # seconds: a dead worker's runs are resumed quickly, and the test stays short


@dataclass
class EngineCampaign(Campaign):
    """A crash campaign against two Celery workers on a shared PostgreSQL ledger."""

    pg_url: str = ""
    workers: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    starting: dict[int, tuple[subprocess.Popen[bytes], bytes, float]] = field(default_factory=dict)
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
        with open(self.workdir / "serve.log", "ab") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [sys.executable, "-m", "harness.cli", "serve", "--flow", str(HERE / "_crash_engine_flow.py"),
                 "--port", str(port), "--lease", LEASE, "--engine", "celery", "--broker", BROKER,
                 "--queue", self.queue_prefix],
                env=self.env(vendor),
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        return self.await_healthz(proc, port)

    def start_worker(self, vendor: Vendor, slot: int, *, wait: bool = True) -> None:
        """Start worker ``slot``; ``wait``: until its ``ready`` line, else it is promoted to
        the workers that may be killed once that line is read (see :meth:`promote`)."""
        with open(self.workdir / f"worker{slot}.log", "ab") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [sys.executable, "-m", "harness.cli", "worker", "--flow", str(HERE / "_crash_engine_flow.py"),
                 "--broker", BROKER, "--queue", self.queue_prefix, "--threads", "2", "--lease", LEASE],
                env=self.env(vendor),
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert proc.stdout is not None
        self.starting[slot] = (proc, b"", time.monotonic() + 60)
        if wait:
            while slot not in self.workers:
                self.promote(timeout=0.2)

    def promote(self, timeout: float = 0.0) -> None:
        """Move the started workers whose ``ready`` line arrived to :attr:`workers`."""
        for slot, (proc, seen, deadline) in list(self.starting.items()):
            assert proc.stdout is not None
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(
                    f"worker {slot} never said ready (exit {proc.returncode}); see "
                    f"{self.workdir / f'worker{slot}.log'}"
                )
            readable, _, _ = select.select([proc.stdout], [], [], timeout)
            if readable:
                seen += os.read(proc.stdout.fileno(), 4096)
            if b"harness worker: ready" in seen:
                del self.starting[slot]
                self.workers[slot] = proc
            else:
                self.starting[slot] = (proc, seen, deadline)

    def victim(self, queue: RunQueue, target: str) -> int | None:
        """The ready worker to kill once ``target`` is reached, or ``None`` while it is not."""
        self.promote()
        if not self.workers:
            return None
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
        procs = [
            *self.workers.values(),
            *(p for p, _, _ in self.starting.values()),
            *([serve] if serve is not None else []),
        ]
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

    def forget_queues(self) -> None:
        """Delete this campaign's queues from the shared broker (what a killed worker left)."""
        client = redis.Redis.from_url(BROKER)
        try:
            for key in client.scan_iter(f"{self.queue_prefix}*"):
                client.delete(key)
            for key in client.scan_iter(f"harness:{self.queue_prefix}:*"):  # its rate-limit buckets
                client.delete(key)
        finally:
            client.close()

    def run(self) -> None:
        with Vendor() as vendor, Ledger.open(self.ledger_url) as ledger:
            self.vendor = vendor
            queue = RunQueue(ledger)
            serve: subprocess.Popen[bytes] | None = None
            t0 = time.monotonic()
            try:
                serve, port = self.start(vendor)
                self.start_worker(vendor, 0, wait=False)
                self.start_worker(vendor, 1)
                while self.starting:
                    self.promote(timeout=0.2)
                self.log.append(f"{time.monotonic() - t0:.1f}s workers ready")
                for cycle in range(self.kills):
                    target = TARGETS[cycle % len(TARGETS)]
                    resend: list[dict[str, Any]] = list(self.pending)
                    self.pending.clear()
                    self.deliver(port, resend + self.batch())
                    deadline = time.monotonic() + 60
                    while (slot := self.victim(queue, target)) is None:
                        if time.monotonic() > deadline:
                            raise AssertionError(
                                f"cycle {cycle}: the ledger never showed a run {target} "
                                f"(seed {self.seed}); see the logs in {self.workdir}"
                            )
                        time.sleep(0.02)
                    proc = self.workers.pop(slot)
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(30)
                    if proc.stdout is not None:
                        proc.stdout.close()
                    self.killed_at.append(target)
                    self.log.append(f"{time.monotonic() - t0:.1f}s cycle {cycle}: killed worker {slot} at {target}")
                    # restarted at once, killable again once it says ready: the campaign goes
                    # on meanwhile with the other worker
                    self.start_worker(vendor, slot, wait=False)
                    self.restarts += 1
                while self.pending:
                    resend = list(self.pending)
                    self.pending.clear()
                    self.deliver(port, resend)
                self.log.append(f"{time.monotonic() - t0:.1f}s all delivered")
                deadline = time.monotonic() + 120
                # the counts, not the rows: this process also serves the vendor, keep it light
                while any(n for s, n in queue.counts().items() if s in ("accepted", "running", "waiting")):
                    if time.monotonic() > deadline:
                        left = [(r.id, r.state) for r in queue.runs(states=["accepted", "running", "waiting"])]
                        raise AssertionError(f"runs never finished after the last kill: {left}")
                    time.sleep(0.05)
                self.log.append(f"{time.monotonic() - t0:.1f}s all finished")
            finally:
                self.stop_all(serve)
                self.forget_queues()
            self.check(ledger, queue, vendor)
