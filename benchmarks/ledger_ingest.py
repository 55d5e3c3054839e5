"""Benchmark: ledger ingest rate against raw sqlite3, and loading a 90-day window.

    python benchmarks/ledger_ingest.py [--runs 20000] [--events 5] [--batch 500]
                                       [--history 1000000 | --history-url URL]
                                       [--materialize] [--json PATH]

1. **Ingest.**  ``--runs`` runs with ``--events`` events each are written
   through ``Ledger.write_runs`` in batches of ``--batch`` runs (one
   transaction per batch, as a campaign does), and the *same rows* are written
   with raw ``sqlite3`` ``executemany`` into a fresh file with the same schema
   (WAL, synchronous=NORMAL, same batches).  Building the records and the raw
   tuples is not timed; turning records into rows is (it is part of the
   ledger's cost).  Each side runs ``--repeat`` times alternately on a fresh
   file and the best time counts, because this machine is shared and noisy.
   The result is events per second and the **ratio** ledger/raw (target >= 0.5).

2. **90-day window** (``--history N``, 0 to skip).  ``harness simulate`` writes
   an N-run, 90-day synthetic history (its own rate is reported), then the
   benchmark measures time and peak Python memory (tracemalloc, in a second
   pass so that tracing does not distort the time) of: reading the last 7 days
   with ``Ledger.runs``; streaming the whole 90-day window with
   ``Ledger.iter_runs`` (what a report that needs rows should do); and, with
   ``--materialize``, loading the whole window as one list with ``Ledger.runs``.
   ``--history-url URL`` reads a history written before (``harness simulate
   --flow-name deal_won --days 90 --runs-per-day 11112 --ledger URL``) instead.

Benchmarks are not tests: nothing here asserts; numbers go to stdout and, with
``--json``, to a file (``benchmarks/results/`` is ignored by git).
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.ledger import CampaignRecord, EventRecord, Ledger, RunRecord, _codec
from harness.ledger.simulate import simulate_history

DAY = 86400.0


def make_runs(n: int, n_events: int, campaign_id: str) -> list[RunRecord]:
    """Runs shaped like a campaign's: a delivery, calls with faults, an error, an end."""
    runs = []
    wall = 1_780_000_000.0
    kinds = ["delivery", "attempt", "call", "error", "retry_scheduled", "call", "end"]
    for i in range(n):
        events = tuple(
            EventRecord(
                seq=s,
                kind=kinds[s % len(kinds)] if s < n_events - 1 else "end",
                at=s * 0.5,
                wall_at=wall + i + s * 0.001,
                system="stripe" if s % 2 else "hubspot",
                step="create_invoice",
                error_class="transient" if kinds[s % len(kinds)] == "error" else None,
                fault="timeout_after" if s % 3 == 0 else None,
                status=200 if s % 2 else None,
                outcome="ok",
                detail={"method": "POST", "path": "/v1/invoices", "latency": 0.12} if s % 2 else {},
            )
            for s in range(n_events)
        )
        runs.append(
            RunRecord(
                id=f"bench-{i:08d}",
                flow="deal_won",
                mode="orchestrated",
                end_state="succeeded",
                started_at=0.0,
                ended_at=n_events * 0.5,
                wall_started=wall + i,
                wall_ended=wall + i + 1,
                campaign_id=campaign_id,
                segment="new customer" if i % 3 == 0 else "existing customer",
                seed=7,
                example=i,
                event_id=f"evt-{i}",
                object_key=f"deal:{i}",
                dedupe_key=f"deal_won:deal:{i}",
                error_class="transient",
                attempts=2,
                errors=1,
                calls=3,
                retries=1,
                first_error_at=1.0,
                recovered_at=3.5,
                events=events,
            )
        )
    return runs


def _campaign(cid: str) -> CampaignRecord:
    return CampaignRecord(id=cid, flow="deal_won", mode="orchestrated", wall_started=0.0)


def time_ledger(directory: Path, runs: list[RunRecord], batch: int) -> float:
    with Ledger.open(f"sqlite:///{directory / 'ledger.db'}") as ledger:
        ledger.start_campaign(_campaign("bench"))
        gc.collect()
        start = time.perf_counter()
        for i in range(0, len(runs), batch):
            ledger.write_runs(runs[i : i + batch])
        return time.perf_counter() - start


def time_raw(directory: Path, runs: list[RunRecord], batch: int) -> float:
    path = directory / "raw.db"
    with Ledger.open(f"sqlite:///{path}") as ledger:  # the same schema and indexes
        ledger.start_campaign(_campaign("bench"))
        run_sql, event_sql = ledger._insert_sql["runs"], ledger._insert_sql["events"]
    batches = []
    for i in range(0, len(runs), batch):
        part = runs[i : i + batch]
        batches.append(
            (
                [_codec.run_row(r) for r in part],
                [_codec.event_row(r.id, e) for r in part for e in r.events],
            )
        )
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    gc.collect()
    start = time.perf_counter()
    for run_rows, event_rows in batches:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(run_sql, run_rows)
        conn.executemany(event_sql, event_rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    runs = make_runs(args.runs, args.events, "bench")
    n_events = args.runs * args.events
    best = {"ledger": float("inf"), "raw": float("inf")}
    for _ in range(args.repeat):
        for side, fn in (("raw", time_raw), ("ledger", time_ledger)):
            with tempfile.TemporaryDirectory() as tmp:
                best[side] = min(best[side], fn(Path(tmp), runs, args.batch))
    ledger_rate = n_events / best["ledger"]
    raw_rate = n_events / best["raw"]
    return {
        "runs": args.runs,
        "events": n_events,
        "batch_runs": args.batch,
        "ledger_seconds": round(best["ledger"], 3),
        "raw_seconds": round(best["raw"], 3),
        "ledger_events_per_s": round(ledger_rate),
        "raw_events_per_s": round(raw_rate),
        "ledger_rows_per_s": round((n_events + args.runs) / best["ledger"]),
        "raw_rows_per_s": round((n_events + args.runs) / best["raw"]),
        "ratio": round(ledger_rate / raw_rate, 3),
        "target_ratio": 0.5,
    }


def _measure(fn: Callable[[], int]) -> dict[str, Any]:
    gc.collect()
    start = time.perf_counter()
    count = fn()
    elapsed = time.perf_counter() - start
    gc.collect()
    tracemalloc.start()
    fn()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"runs": count, "seconds": round(elapsed, 3), "peak_python_mib": round(peak / 2**20, 1)}


def window(args: argparse.Namespace) -> dict[str, Any]:
    per_day = max(1, args.history // 90)
    end = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.history_url or f"sqlite:///{Path(tmp) / 'history.db'}"
        with Ledger.open(url) as ledger:
            if args.history_url:
                # reuse a history written before (harness simulate --flow-name deal_won)
                sim_seconds = float("nan")
                info = ledger.info()
                end = (info.last_wall or end) + 1.0
            else:
                start = time.perf_counter()
                simulate_history(
                    ledger, flow="deal_won", days=90, runs_per_day=per_day, seed=1, end_wall=end
                )
                sim_seconds = time.perf_counter() - start
                info = ledger.info()
        # a fresh process-level view: a report opens the ledger and reads
        with Ledger.open(url) as ledger:

            def last_week() -> int:
                return len(ledger.runs(flow="deal_won", since=end - 7 * DAY, until=end))

            def stream_window() -> int:
                states: Counter[str] = Counter()
                for run in ledger.iter_runs(flow="deal_won", since=end - 90 * DAY, until=end):
                    states[run.end_state] += 1
                return sum(states.values())

            def load_window() -> int:
                return len(ledger.runs(flow="deal_won", since=end - 90 * DAY, until=end))

            result: dict[str, Any] = {
                "history_runs": info.runs,
                "history_events": info.events,
                "file_mib": round((info.size_bytes or 0) / 2**20, 1),
                "simulate_seconds": None if sim_seconds != sim_seconds else round(sim_seconds, 2),
                "simulate_runs_per_s": None if sim_seconds != sim_seconds else round(info.runs / sim_seconds),
                "read_last_7_days": _measure(last_week),
                "stream_90_day_window": _measure(stream_window),
            }
            if args.materialize:
                result["load_90_day_window_as_list"] = _measure(load_window)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20_000, help="runs to ingest (default 20000)")
    parser.add_argument("--events", type=int, default=5, help="events per run (default 5)")
    parser.add_argument("--batch", type=int, default=500, help="runs per write_runs call (default 500)")
    parser.add_argument("--repeat", type=int, default=2, help="alternate rounds; best counts (default 2)")
    parser.add_argument("--history", type=int, default=0, help="runs in the 90-day history (0: skip)")
    parser.add_argument("--history-url", help="read this existing history instead of simulating one")
    parser.add_argument("--materialize", action="store_true", help="also load the window as one list")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"ingest": ingest(args)}
    ing = results["ingest"]
    print(
        f"ingest: {ing['runs']} runs, {ing['events']} events in batches of {ing['batch_runs']}: "
        f"ledger {ing['ledger_events_per_s']:,} events/s, raw sqlite3 {ing['raw_events_per_s']:,} "
        f"events/s, ratio {ing['ratio']} (target >= {ing['target_ratio']})"
    )
    if args.history or args.history_url:
        results["window"] = win = window(args)
        simulated = (
            f", simulated in {win['simulate_seconds']} s ({win['simulate_runs_per_s']:,} runs/s)"
            if win["simulate_seconds"] is not None
            else f" (read from {args.history_url})"
        )
        print(
            f"history: {win['history_runs']:,} runs, {win['history_events']:,} events, "
            f"{win['file_mib']} MiB{simulated}"
        )
        for key in ("read_last_7_days", "stream_90_day_window", "load_90_day_window_as_list"):
            if key in win:
                m = win[key]
                print(f"{key}: {m['runs']:,} runs in {m['seconds']} s, peak {m['peak_python_mib']} MiB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
