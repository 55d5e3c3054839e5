"""Nothing committed is lost: not to SIGKILL, not to concurrent writers."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from _writer import make_run

from harness.ledger import CampaignRecord, Ledger

WRITER = str(Path(__file__).with_name("_writer.py"))


def _writer(url: str, prefix: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WRITER, url, prefix, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _committed(lines: list[str]) -> list[str]:
    return [line.split()[1] for line in lines if line.startswith("committed ")]


def test_sigkill_mid_campaign_keeps_every_committed_run_whole(sqlite_url: str) -> None:
    rng = random.Random(20261126)
    n_events = 6
    committed: list[str] = []
    for round_ in range(3):
        # `with` closes the pipes of the killed writer (an open pipe is a ResourceWarning)
        with _writer(sqlite_url, f"k{round_}", "--events", str(n_events), "--batch", "25") as proc:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # the writer is inside its write loop
            assert first.startswith("committed "), first + (proc.stderr.read() if proc.stderr else "")
            time.sleep(rng.uniform(0.05, 0.6))
            proc.send_signal(signal.SIGKILL)
            rest = proc.stdout.read()
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        committed += _committed([first, *rest.splitlines()])
    # a rerun continues the same campaign and completes normally
    with _writer(sqlite_url, "rerun", "--runs", "60", "--events", str(n_events), "--batch", "25") as proc:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    committed += _committed(out.splitlines())

    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Ledger.open(sqlite_url) as ledger:
        runs = ledger.runs(campaign_id="crash", with_events=True)
        assert ledger.campaign("crash").status == "running"
    stored = {r.id: r for r in runs}
    missing = [rid for rid in committed if rid not in stored]
    assert missing == [], f"{len(missing)} committed runs lost, e.g. {missing[:3]}"
    # all or nothing: no run was stored without all its events
    partial = [r.id for r in runs if [e.seq for e in r.events] != list(range(n_events))]
    assert partial == []
    assert len(committed) >= 3 + 60


@pytest.mark.parametrize(("processes", "threads"), [(2, 4)])
def test_two_processes_and_four_threads_lose_nothing(
    ledger_url: str, tmp_path: Path, processes: int, threads: int
) -> None:
    runs_each, events_each, batch, keys = 150, 5, 10, 8
    go = tmp_path / "go"
    with Ledger.open(ledger_url) as ledger:
        ledger.start_campaign(
            CampaignRecord(id="crash", flow="crash_flow", mode="orchestrated", wall_started=time.time())
        )
        procs = [
            _writer(ledger_url, f"proc{p}", "--runs", str(runs_each), "--events", str(events_each),
                    "--batch", str(batch), "--go", str(go), "--claims", str(keys))
            for p in range(processes)
        ]
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line == "ready\n", line + (proc.stderr.read() if proc.stderr else "")
        errors: list[BaseException] = []
        wins: list[str] = []

        def write(t: int) -> None:
            try:
                for start in range(0, runs_each, batch):
                    ledger.write_runs(
                        [make_run(f"thread{t}-{n}", events_each) for n in range(start, start + batch)]
                    )
                    k = start // batch
                    if k < keys and ledger.claim_dedupe(
                        "crash_flow", f"key-{k}", f"thread{t}", wall_now=time.time(), ttl=None
                    ) is None:
                        wins.append(f"key-{k}")
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
        go.touch()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        outputs = [proc.communicate(timeout=180) for proc in procs]
        for proc, (_out, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err
            assert "locked" not in err
        assert errors == []
        for out, _err in outputs:
            wins += [line.split()[1] for line in out.splitlines() if line.startswith("won ")]
        info = ledger.info()
        writers = processes + threads
        assert info.runs == writers * runs_each
        assert info.events == writers * runs_each * events_each
        # every shared dedupe key has exactly one winner among all writers
        assert Counter(wins) == {f"key-{k}": 1 for k in range(keys)}


def _child_writes(url: str, run_id: str) -> None:
    # uses the ledger object inherited from the parent through fork
    _FORKED.write_runs([make_run(run_id, 3)])


_FORKED: Ledger


@pytest.mark.skipif(sys.platform == "win32", reason="fork start method")
def test_a_forked_child_writes_through_an_inherited_ledger(sqlite_url: str) -> None:
    import multiprocessing

    global _FORKED
    with Ledger.open(sqlite_url) as ledger:
        _FORKED = ledger
        ledger.start_campaign(
            CampaignRecord(id="crash", flow="crash_flow", mode="orchestrated", wall_started=time.time())
        )
        ledger.write_runs([make_run("parent-0", 3)])  # the pool holds a connection now
        ctx = multiprocessing.get_context("fork")
        children = [ctx.Process(target=_child_writes, args=(sqlite_url, f"child-{i}")) for i in range(2)]
        for child in children:
            child.start()
        ledger.write_runs([make_run("parent-1", 3)])
        for child in children:
            child.join(60)
            assert child.exitcode == 0
        assert sorted(r.id for r in ledger.runs()) == ["child-0", "child-1", "parent-0", "parent-1"]
        assert ledger.info().events == 12
