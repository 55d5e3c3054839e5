"""Ack latency of ``harness serve`` under concurrent signed deliveries on loopback.

``python -m benchmarks.serve_ack [--rate 200] [--seconds 10] [--workers 2]
[--mode processes|threads|both] [--json PATH]`` starts ``harness serve``
(uvicorn, a SQLite ledger in a temporary directory) with a flow whose
automation makes no call, then sends signed
generic-webhook deliveries open-loop at ``--rate`` per second (each send is
scheduled at its time whether or not earlier ones were answered, as vendors
do) and measures, per delivery, the time from sending to the 202: the
signature check, the durable acceptance (one SQLite transaction) and the
answer.  It also reports how fast the embedded workers finished the runs.

``--mode both`` (the default) measures the worker threads in the serving
process (``--worker-threads``, the old default) and then the worker
processes (the default since), one after the other in the same run, so the
two figures share the machine's load of the moment.

The goal of issue 17 is p99 under 50 ms at 200 deliveries per second on a
2-core machine; the figures depend on what else runs on the machine, so the
JSON records the load average next to them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from harness.ledger import Ledger
from harness.ledger.runqueue import RunQueue
from harness.serve import sign

SECRET = "bench-secret"
FLOW = '''
from harness import Contract, Field, Flow
from harness.flow import Trigger

TRIGGER = Trigger(
    name="bench.order",
    system="shop",
    contract=Contract((Field("eventId", "int"), Field("id", "int"))),
    object_key=lambda e: f"order:{e['id']}",
    example={"eventId": 1, "id": 1},
)


def noop(event):
    return {"status": "ok"}


flow = Flow(name="bench", automation=noop, trigger=TRIGGER, dedupe_key="order:{id}")
'''


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _post(port: int, body: bytes, headers: dict[str, str]) -> int:
    """One delivery on its own connection: a raw HTTP/1.1 request, the status of the answer.

    The load generator must cost far less than the server it measures: with a
    general client (httpx's pool) the sender itself spent its CPU assigning
    thousands of queued requests to connections and fell behind 200 per second
    on this machine, so the first figures measured the sender, not the server.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(
            f"POST /hooks/bench HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n{head}\r\n".encode() + body
        )
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()  # the rest, until the server closes
        return int(status_line.split()[1])
    finally:
        writer.close()


async def _load(port: int, rate: float, seconds: float) -> tuple[list[float], int, float]:
    """Open-loop deliveries; each latency counts from the delivery's *scheduled* send time, so
    a lagging sender cannot hide the server's slowness (no coordinated omission)."""
    latencies: list[float] = []
    failures = 0
    lag = 0.0

    async def one(n: int, due: float) -> None:
        nonlocal failures
        body = json.dumps({"eventId": n, "id": n}).encode()
        headers = {"Content-Type": "application/json", **sign("generic", SECRET, body=body)}
        try:
            status = await asyncio.wait_for(_post(port, body, headers), timeout=30)
        except (TimeoutError, OSError, ValueError, IndexError):
            failures += 1
            return
        if status == 202:
            latencies.append(time.perf_counter() - due)
        else:
            failures += 1

    tasks = []
    start = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            lag = max(lag, -delay)
        tasks.append(asyncio.create_task(one(n + 1, due)))
    await asyncio.gather(*tasks)
    return latencies, failures, lag


def run(rate: float, seconds: float, workers: int, mode: str = "processes") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        flow_file = Path(tmp) / "bench_flow.py"
        flow_file.write_text(FLOW)
        ledger_url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        port = _port()
        env = {**os.environ, "HARNESS_WEBHOOK_SECRET": SECRET, "HARNESS_LEDGER_URL": ledger_url}
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "serve", "--flow", str(flow_file), "--port", str(port),
             "--workers", str(workers), *(["--worker-threads"] if mode == "threads" else [])],
            env=env,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("harness serve did not start")
                time.sleep(0.05)
            began = time.perf_counter()
            latencies, failures, lag = asyncio.run(_load(port, rate, seconds))
            sent_for = time.perf_counter() - began
            with Ledger.open(ledger_url) as ledger:
                queue = RunQueue(ledger)
                while queue.runs(states=["accepted", "running", "waiting"]):
                    time.sleep(0.05)
                drained = time.perf_counter() - began
                done = sum(queue.counts().get(s, 0) for s in ("succeeded", "suppressed", "manual", "failed"))
        finally:
            proc.terminate()
            proc.wait(30)
    return {
        "mode": mode,
        "rate": rate,
        "seconds": seconds,
        "workers": workers,
        "deliveries": int(rate * seconds),
        "acked": len(latencies),
        "failures": failures,
        "ack_p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "ack_p99_ms": round(_percentile(latencies, 0.99) * 1000, 2) if latencies else None,
        "ack_max_ms": round(max(latencies) * 1000, 2) if latencies else None,
        "sent_for_s": round(sent_for, 2),
        "sender_max_lag_ms": round(lag * 1000, 2),
        "runs_finished": done,
        "runs_per_s": round(done / drained, 1) if drained else None,
        "loadavg": os.getloadavg(),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve_ack", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second (default 200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to send (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="workers of harness serve (default 2)")
    parser.add_argument("--mode", choices=("processes", "threads", "both"), default="both",
                        help="worker processes, worker threads, or both in turn (default)")
    parser.add_argument("--json", type=Path, default=None, help="write the result here too")
    args = parser.parse_args(argv)
    modes = ("threads", "processes") if args.mode == "both" else (args.mode,)
    results = [run(args.rate, args.seconds, args.workers, mode) for mode in modes]
    result: Any = results[0] if len(results) == 1 else results
    print(json.dumps(result, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
