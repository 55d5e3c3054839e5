"""``harness inbox retry`` killed by SIGKILL leaves the item actionable: nothing is stranded.

The retry claims the item (``retried``) before it runs the flow again.  Here
the flow's automation, on retry, writes a marker file and then blocks: the
test waits for that marker (a known state: the claim is committed, the new
run is not) and sends SIGKILL.  Afterwards the item is listed with the open
ones, ``inbox retry`` takes it again and succeeds, and in the other rounds
``inbox resolve`` takes it.  A retry that did write its run is refused as
before: only stranded claims are reopened.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import Flow, VirtualClock
from harness.cli import main
from harness.ledger import Ledger
from harness.orchestrator import Orchestrator

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

#: kill rounds: each kills one retry at its known state, then retries or resolves
ROUNDS = 4

FLOW = """
import os
import time
from pathlib import Path

from harness import Flow, get_trigger


def handle(event):
    mode = os.environ.get("ROBUST_INBOX_MODE", "fail")
    if mode == "block":
        Path(os.environ["ROBUST_INBOX_MARKER"]).write_text(str(os.getpid()))
        while True:  # killed here
            time.sleep(0.05)
    if mode == "fail":
        raise ValueError("needs a person")
    return {"status": "ok"}


flow = Flow(name="inbox_kill", automation=handle, trigger=get_trigger("hubspot.deal.closedwon"))
"""

EVENT = {
    "eventId": 1001, "subscriptionId": 2345, "portalId": 62515, "appId": 54321,
    "occurredAt": 1767225600000, "subscriptionType": "deal.propertyChange", "attemptNumber": 0,
    "objectId": 1234567, "propertyName": "dealstage", "propertyValue": "closedwon",
    "changeSource": "CRM_UI", "sourceId": "userId:1234",
}


def _items(url: str, flow: Flow, n: int) -> list[str]:
    os.environ["ROBUST_INBOX_MODE"] = "fail"
    try:
        with Ledger.open(url) as ledger:
            orch = Orchestrator(flow, ledger=ledger, clock=VirtualClock(), rng=random.Random(0))
            results = [orch.handle({**EVENT, "objectId": 1000 + i, "eventId": i}) for i in range(n)]
    finally:
        del os.environ["ROBUST_INBOX_MODE"]
    assert all(r.inbox_item is not None for r in results)
    return [r.inbox_item.id for r in results if r.inbox_item is not None]


def _kill_a_retry(d: Path, url: str, item: str) -> None:
    marker = d / f"marker-{item}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "inbox", "retry", item, "--flow", str(d / "flow.py"),
         "--ledger", url, "--by", "ana"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ROBUST_INBOX_MODE": "block", "ROBUST_INBOX_MARKER": str(marker)},
    )
    try:
        # the known state: the claim is committed and the automation is running
        deadline = time.monotonic() + 120
        while not marker.exists():
            if proc.poll() is not None:
                raise AssertionError(f"the retry ended before its automation ran: {proc.communicate()}")
            assert time.monotonic() < deadline, "the retry never reached its automation"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate(timeout=60)  # waits and closes the pipes
    assert proc.returncode == -signal.SIGKILL


def test_a_killed_retry_leaves_the_item_actionable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    monkeypatch.syspath_prepend(str(tmp_path))
    from harness.flow import load_flow

    flow = load_flow(str(tmp_path / "flow.py"))
    url = f"sqlite:///{tmp_path}/ledger.db"
    items = _items(url, flow, ROUNDS)
    for n, item in enumerate(items):
        _kill_a_retry(tmp_path, url, item)
        with Ledger.open(url) as ledger:
            assert ledger.inbox_item(item).status == "retried"  # the claim was made ...
        capsys.readouterr()
        assert main(["inbox", "list", "--ledger", url]) == 0
        assert item in capsys.readouterr().out  # ... yet the item is listed as actionable
        if n % 2 == 0:
            monkeypatch.setenv("ROBUST_INBOX_MODE", "ok")
            code = main(["inbox", "retry", item, "--flow", str(tmp_path / "flow.py"), "--ledger", url, "--by", "ben"])
            out, err = capsys.readouterr()
            assert code == 0, err
            assert out.startswith(f"retried inbox item {item} as run ") and out.rstrip().endswith(": succeeded")
            # that retry wrote its run: the item is retried for good now
            code = main(["inbox", "resolve", item, "--note", "again", "--by", "ben", "--ledger", url])
            assert code == 2
            assert "is already retried (by ben); only open items can be acted on" in capsys.readouterr().err
        else:
            code = main(["inbox", "resolve", item, "--note", "made by hand", "--by", "ben", "--ledger", url])
            out, err = capsys.readouterr()
            assert code == 0, err
            assert out.strip() == f"inbox item {item}: resolved by ben"
    capsys.readouterr()
    assert main(["inbox", "list", "--ledger", url]) == 0
    assert "no open inbox items" in capsys.readouterr().out
