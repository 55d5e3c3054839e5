"""PostgreSQL drops the ledger's connections mid-campaign: a clear error or a recovery, never a lost run.

Another connection terminates every backend of the ledger's database
(``pg_terminate_backend``) several times while a campaign writes to it.  The
campaign either finishes (the pool reconnects) or stops with one
:class:`~harness.errors.LedgerError` naming the ledger with its password
hidden; either way every run whose commit returned is in the ledger, whole.
"""

from __future__ import annotations

import threading
from typing import Any, cast

import psycopg
import pytest
from sqlalchemy import make_url

from harness.chaos import run_campaign
from harness.errors import LedgerError
from harness.flow import load_flow
from harness.ledger import Ledger


class _Recording:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.committed: list[str] = []
        self.commits = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)

    def write_runs(self, runs: Any, **kwargs: Any) -> None:
        self._ledger.write_runs(runs, **kwargs)
        self.committed += [r.id for r in runs]
        self.commits.set()


def test_terminated_backends_lose_no_committed_run(pg_url: str) -> None:
    url = make_url(pg_url)
    flow = load_flow("scenarios/deal_won/flow.py")
    terminated: list[int] = []
    stop = threading.Event()

    def terminator(recording: _Recording) -> None:
        recording.commits.wait(timeout=60)
        with psycopg.connect(
            host=url.host, port=url.port or 5432, user=url.username, dbname="postgres", autocommit=True
        ) as admin:
            for _ in range(4):
                if stop.wait(0.15):
                    return
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (url.database,),
                ).fetchall()
                terminated.append(len(rows))

    with Ledger.open(pg_url) as ledger:
        recording = _Recording(ledger)
        killer = threading.Thread(target=terminator, args=(recording,))
        killer.start()
        error: LedgerError | None = None
        try:
            run_campaign(flow, ledger=cast(Ledger, recording), examples=40, seed=11, modes=("orchestrated",), shrink=False)
        except LedgerError as exc:
            error = exc
        finally:
            stop.set()
            killer.join()
    assert sum(terminated) >= 1, "no backend was terminated: the test did not test anything"
    if error is not None:
        text = str(error)
        assert text.startswith("ledger postgresql+psycopg://postgres@127.0.0.1"), text
        assert "\n" not in text.strip()
    with Ledger.open(pg_url) as ledger:
        stored = {r.id: r for r in ledger.runs(with_events=True)}
    lost = [rid for rid in recording.committed if rid not in stored]
    assert recording.committed and lost == []
    assert all(r.events for r in stored.values())


pytestmark = [
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]
