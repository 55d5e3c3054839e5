"""Which engine runs a backlog fastest: embedded workers, Celery workers, DBOS, on the same flow.

``python -m benchmarks.engine_throughput [--runs 200] [--latency 0.02] [--concurrency 4] [--json PATH]``

One flow (``benchmarks/_engine_flow.py``: a Stripe customer, then an invoice
item for it, with ``requests``) against the bundled Stripe fake behind a
loopback HTTP server in a child process that answers each call after
``--latency`` seconds, as a real API would.  ``--runs`` deliveries are queued,
then the clock runs until every run has ended, in the same invocation for:

* ``embedded (SQLite)``: :class:`harness.orchestrator.Workers`,
  ``--concurrency`` threads in this process, SQLite ledger (``harness serve``'s
  default);
* ``embedded (PostgreSQL)``: the same threads on a PostgreSQL ledger;
* ``celery``: the runs accepted into a PostgreSQL ledger and sent through
  Redis by :class:`harness.serve._celery.CeleryDispatch`; two ``harness
  worker`` processes of ``--concurrency / 2`` threads each (started and ready
  before the clock starts) run them;
* ``dbos``: a DBOS workflow with each call a step, on a PostgreSQL system
  database, enqueued on a DBOS queue of ``--concurrency`` in this process.

Rate limits are off for every variant (DBOS has none here).  Every variant must
end with one customer and one invoice item per delivery, checked from the
fake's state.  The load average is recorded next to the figures: they depend on
what else runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BROKER = "redis://127.0.0.1:6379/0"
FLOW_FILE = Path(__file__).resolve().parent / "_engine_flow.py"
VARIANTS = ("embedded_sqlite", "embedded_pg", "celery", "dbos")


# -- the vendor: Stripe's fake on loopback, in its own process ------------------------------


def _vendor(port_out: Any, latency: float) -> None:
    from harness import WallClock
    from harness._shared.wire import Request
    from harness.systems import World
    from harness.systems._stripe import Stripe

    world = World([Stripe()], clock=WallClock())
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            time.sleep(latency)
            if self.path == "/_effects":
                with lock:
                    records = world.system("stripe").records()
                    payload = json.dumps(
                        {k: len(records[k]) for k in ("customer", "invoiceitem")}
                    ).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            request = Request(
                self.command, "https://api.stripe.com" + self.path, tuple(self.headers.items()), body, 10.0, "requests"
            )
            with lock:
                response = world.dispatch(request)
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = _serve
        do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    server.serve_forever()


@contextmanager
def vendor(latency: float) -> Iterator[str]:
    """A fresh Stripe fake on loopback (its base URL), stopped afterwards."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_vendor, args=(out, latency), daemon=True)
    proc.start()
    try:
        yield f"http://127.0.0.1:{out.get(timeout=60)}"
    finally:
        proc.terminate()
        proc.join(10)


def effects(base: str) -> dict[str, int]:
    return dict(requests.get(f"{base}/_effects", timeout=10).json())


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (its URL), dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"harness_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def events(n: int) -> list[dict[str, Any]]:
    return [{"eventId": i, "id": i, "email": f"buyer{i}@example.com"} for i in range(1, n + 1)]


def _wait_finished(ledger: Any, runs: int, timeout: float) -> None:
    from harness.ledger.runqueue import ACTIVE_STATES, RunQueue

    queue = RunQueue(ledger)
    deadline = time.monotonic() + timeout
    while True:
        counts = queue.counts()
        if sum(counts.values()) >= runs and not any(counts.get(s) for s in ACTIVE_STATES):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"runs not finished after {timeout}s: {counts}")
        time.sleep(0.05)


def _flow() -> Any:
    from harness.flow import load_flow

    return load_flow(str(FLOW_FILE))


# -- the variants ----------------------------------------------------------------------------


def embedded(ledger_url: str, runs: int, concurrency: int) -> float:
    from harness.ledger import Ledger
    from harness.orchestrator import DurableOrchestrator, RateLimiter, Workers

    with Ledger.open(ledger_url) as ledger:
        orch = DurableOrchestrator(_flow(), ledger=ledger, budget=0.0, rate_limiter=RateLimiter({}))
        workers = Workers([orch], threads=concurrency, poll=0.05)
        for event in events(runs):
            orch.accept(event)
        start = time.perf_counter()
        workers.start()
        try:
            _wait_finished(ledger, runs, 600)
        finally:
            workers.stop()
        return time.perf_counter() - start


def celery(ledger_url: str, runs: int, concurrency: int, base: str) -> float:
    from harness.ledger import Ledger
    from harness.orchestrator import DurableOrchestrator
    from harness.serve._celery import CeleryDispatch

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "STRIPE_BASE_URL": base}
    procs = []
    with Ledger.open(ledger_url) as ledger:
        try:
            for _ in range(2):
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "harness.cli", "worker", "--flow", str(FLOW_FILE), "--ledger", ledger_url,
                     "--broker", BROKER, "--queue", prefix, "--threads", str(max(1, concurrency // 2)),
                     "--rate-limit", "stripe=1000000/1"],
                    env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                ))
            for proc in procs:
                _wait_ready(proc)
            orch = DurableOrchestrator(_flow(), ledger=ledger, budget=0.0)
            dispatch = CeleryDispatch(BROKER, queue=prefix)
            accepted = [orch.accept(e)[0] for e in events(runs)]
            start = time.perf_counter()
            dispatch("engine_bench", accepted)
            _wait_finished(ledger, runs, 600)
            return time.perf_counter() - start
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _wait_ready(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + 120
    while b"harness worker: ready" not in seen:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"harness worker did not start (exit {proc.returncode})")
        if select.select([proc.stdout], [], [], 0.2)[0]:
            seen += os.read(proc.stdout.fileno(), 4096)


def dbos(runs: int, concurrency: int, base: str) -> float:
    os.environ["STRIPE_BASE_URL"] = base
    from dbos import DBOS, SetWorkflowID

    from benchmarks._engine_flow import create_customer, create_item

    with pg_database() as url:
        DBOS(config={
            "name": "harness_engine_bench",
            "system_database_url": url.replace("postgresql+psycopg://", "postgresql://"),
            "log_level": "WARNING",
            "enable_otlp": False,
        })
        step_customer = DBOS.step(retries_allowed=True, max_attempts=8)(create_customer)
        step_item = DBOS.step(retries_allowed=True, max_attempts=8)(create_item)

        @DBOS.workflow()
        def bill(event: dict[str, Any]) -> str:
            customer = step_customer(event)
            return str(step_item(event, customer))

        DBOS.launch()
        try:
            # polled every 0.1 s (default 1 s): the harness's sweep polls every 0.5 s, Celery pushes
            queue = DBOS.register_queue(
                f"bench_{uuid.uuid4().hex[:6]}", worker_concurrency=concurrency, polling_interval_sec=0.1
            )
            start = time.perf_counter()
            handles = []
            for event in events(runs):
                with SetWorkflowID(f"order-{event['id']}"):  # DBOS's way to run an order once
                    handles.append(queue.enqueue(bill, event))
            for handle in handles:
                handle.get_result()
            return time.perf_counter() - start
        finally:
            DBOS.destroy(destroy_registry=True)


def measure(runs: int, latency: float, concurrency: int, only: tuple[str, ...] = VARIANTS) -> dict[str, Any]:
    results: dict[str, Any] = {
        "runs": runs, "latency_s": latency, "concurrency": concurrency,
        "loadavg_before": os.getloadavg(), "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    jobs: dict[str, Callable[[str], float]] = {}
    tmp = tempfile.mkdtemp()
    jobs["embedded_sqlite"] = lambda base: embedded(f"sqlite:///{tmp}/ledger.db", runs, concurrency)

    def on_pg(job: Callable[[str, str], float]) -> Callable[[str], float]:
        def run(base: str) -> float:
            with pg_database() as url:
                return job(url, base)
        return run

    jobs["embedded_pg"] = on_pg(lambda url, base: embedded(url, runs, concurrency))
    jobs["celery"] = on_pg(lambda url, base: celery(url, runs, concurrency, base))
    jobs["dbos"] = lambda base: dbos(runs, concurrency, base)
    for name in only:
        with vendor(latency) as base:
            os.environ["STRIPE_BASE_URL"] = base  # the embedded variants run the flow here
            elapsed = jobs[name](base)
            made = effects(base)
        results[name] = {"seconds": round(elapsed, 2), "runs_per_s": round(runs / elapsed, 1), "effects": made}
        if made != {"customer": runs, "invoiceitem": runs}:
            raise RuntimeError(f"{name}: expected {runs} customers and invoice items, the fake holds {made}")
    results["loadavg_after"] = os.getloadavg()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine_throughput")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per vendor call")
    parser.add_argument("--concurrency", type=int, default=4, help="runs in flight at once (per variant)")
    parser.add_argument("--only", default=",".join(VARIANTS), help=f"comma-separated: {', '.join(VARIANTS)}")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    only = tuple(v for v in args.only.split(",") if v)
    unknown = [v for v in only if v not in VARIANTS]
    if unknown:
        parser.error(f"--only: unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    results = measure(args.runs, args.latency, args.concurrency, only)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
