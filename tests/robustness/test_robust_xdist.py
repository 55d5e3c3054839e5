"""pytest-xdist workers and threads inside each write one ledger at once: nothing lost, one winner per key.

A generated test module runs under ``pytest -n 2``: each of its tests opens
the shared SQLite ledger, starts a campaign and lets threads write runs (with
their events) and race for shared dedupe keys.  Afterwards the ledger passes
its integrity check, holds every run written, and every key has exactly one
owner, the one writer that was told it won.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from _robust_figures import WRITER_THREADS

TESTS, RUNS_EACH, EVENTS, KEYS = 4, 20, 4, 6

MODULE = f'''
import os, threading, time
from pathlib import Path

import pytest

from harness.ledger import CampaignRecord, EventRecord, Ledger, RunRecord


def _run(run_id, campaign):
    now = time.time()
    events = tuple(
        EventRecord(seq=i, kind="call", at=float(i), wall_at=now, system="stripe", detail={{"i": i}})
        for i in range({EVENTS})
    )
    return RunRecord(
        id=run_id, flow="xdist_flow", mode="orchestrated", end_state="succeeded", started_at=0.0,
        ended_at=1.0, wall_started=now, wall_ended=now, campaign_id=campaign, events=events,
    )


@pytest.mark.parametrize("n", range({TESTS}))
def test_writers(n):
    url = os.environ["ROBUST_XDIST_LEDGER"]
    out = Path(os.environ["ROBUST_XDIST_OUT"])
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with Ledger.open(url) as ledger:
        campaign = f"c-{{n}}"
        ledger.start_campaign(CampaignRecord(id=campaign, flow="xdist_flow", mode="orchestrated", wall_started=time.time()))
        lines, errors = [], []

        def write(t):
            try:
                for k in range({RUNS_EACH}):
                    rid = f"{{campaign}}-t{{t}}-{{k}}"
                    ledger.write_runs([_run(rid, campaign)])
                    lines.append(f"committed {{rid}}")
                    if k < {KEYS} and ledger.claim_dedupe("xdist_flow", f"key-{{k}}", rid, wall_now=time.time(), ttl=None) is None:
                        lines.append(f"won key-{{k}} {{rid}}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(t,)) for t in range({WRITER_THREADS})]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    (out / f"{{worker}}-{{n}}.txt").write_text("\\n".join(lines) + "\\n")
'''


def test_xdist_workers_and_threads_share_one_ledger(tmp_path: Path) -> None:
    (tmp_path / "test_xdist_writers.py").write_text(MODULE)
    out = tmp_path / "out"
    out.mkdir()
    db = tmp_path / "ledger.db"
    env = {**os.environ, "ROBUST_XDIST_LEDGER": f"sqlite:///{db}", "ROBUST_XDIST_OUT": str(out)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:randomly", "-p", "no:cacheprovider",
         "test_xdist_writers.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    reports = sorted(out.glob("*.txt"))
    workers = {p.name.split("-")[0] for p in reports}
    assert len(reports) == TESTS and len(workers) == 2, reports
    lines = [line for p in reports for line in p.read_text().splitlines()]
    committed = {line.split()[1] for line in lines if line.startswith("committed ")}
    winners = {line.split()[1]: line.split()[2] for line in lines if line.startswith("won ")}
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {rid for (rid,) in conn.execute("SELECT id FROM runs")}
        events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        owners = dict(conn.execute("SELECT key, run_id FROM dedupe_keys WHERE flow = 'xdist_flow'").fetchall())
    assert len(committed) == TESTS * WRITER_THREADS * RUNS_EACH
    assert stored == committed
    assert events == len(committed) * EVENTS
    assert Counter(line.split()[1] for line in lines if line.startswith("won ")) == {f"key-{k}": 1 for k in range(KEYS)}
    assert owners == winners
