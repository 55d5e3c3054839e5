"""The environment breaks the run, or the automation's output is hostile: one line, an honest exit.

* A full disk while ``--json`` or ``--report`` is written after the campaign:
  exit 3, one line naming the option, no partial or temporary file left.
* A ledger whose pages are corrupted: ``harness report`` exits 3 (2 when the
  file is not a database at all) with one line, never a traceback, never 1.
* Terminal escape sequences in an automation's errors never reach stderr,
  stdout, ``inbox list`` or ``inbox show``: they are shown as ``\\x1b``.
* A flow whose policy sends alerts to a webhook and a mail server raises its
  alerts during ``harness check`` (they are in the runs' events) but no byte
  reaches either server: a campaign's alerts go to a recorded sink.
"""

from __future__ import annotations

import errno
import json
import socket
import sqlite3
import threading
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import EXIT_BROKEN

FRAGILE = str(Path(__file__).resolve().parents[2] / "scenarios" / "deal_won" / "flow.py")


@pytest.mark.parametrize("option", ["--json", "--report"])
def test_a_full_disk_after_the_campaign_exits_3_and_leaves_no_partial_file(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / ("out.json" if option == "--json" else "out.html")
    real = Path.write_text

    def full(self: Path, *args: object, **kwargs: object) -> int:
        if self.parent == tmp_path and self.name.startswith(".out."):
            real(self, "half")  # the device filled up part way through
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full)
    (tmp_path / "auto.py").write_text("def handle(event):\n    return {'status': 'ok'}\n")
    capsys.readouterr()
    code = main(["check", f"{tmp_path}/auto.py:handle", "--examples", "1", "--seed", "1",
                 "--ledger", f"sqlite:///{tmp_path}/l.db", option, str(target)])
    err = capsys.readouterr().err
    assert code == EXIT_BROKEN
    errors = [line for line in err.splitlines() if line.startswith("harness: error: ")]
    assert len(errors) == 1 and "Traceback" not in err
    assert f"{target}" in errors[0] and "No space left on device" in errors[0]
    assert ("--json" in errors[0]) == (option == "--json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["auto.py", "l.db"], "no partial file"


def test_corrupted_ledger_pages_exit_3_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "l.db"
    url = f"sqlite:///{db}"
    assert main(["check", "--flow", FRAGILE, "--examples", "3", "--seed", "1", "--mode", "bare",
                 "--ledger", url]) in (0, 1)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, page):  # every page but the header's
        data[start + 8 : start + page] = b"\xa5" * (page - 8)
    db.write_bytes(bytes(data))
    capsys.readouterr()
    code = main(["report", "--ledger", url, "--out", str(tmp_path / "r.html")])
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    errors = [line for line in err.splitlines() if line.startswith("harness: error: ")]
    assert len(errors) == 1, err
    assert code == EXIT_BROKEN, err
    assert "malformed" in errors[0] or "not a database" in errors[0]
    assert not (tmp_path / "r.html").exists()


ESCAPES = "\x1b]0;pwned\x07\x1b[2J\rfake ok\x9b31m"


def test_terminal_escapes_from_an_automation_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "flow.py").write_text(
        "from harness import Flow, get_trigger\n"
        "import requests\n"
        "def _read(event):\n"
        "    # fails only when a fault meets its CRM read: the reference run must succeed\n"
        "    try:\n"
        "        requests.get(f'https://api.hubapi.com/crm/v3/objects/deals/{event[\"objectId\"]}',\n"
        "                     headers={'Authorization': 'Bearer t'}, timeout=5).raise_for_status()\n"
        "        return True\n"
        "    except requests.RequestException:\n"
        "        return False\n"
        f"def handle(event):\n    if _read(event):\n        return {{'status': 'ok'}}\n    raise ValueError({ESCAPES!r})\n"
        "flow = Flow(name='escapes', automation=handle, trigger=get_trigger('hubspot.deal.closedwon'))\n"
    )
    url = f"sqlite:///{tmp_path}/l.db"
    capsys.readouterr()
    main(["check", "--flow", str(tmp_path / "flow.py"), "--examples", "8", "--seed", "1", "--ledger", url])
    shown = "".join(capsys.readouterr())
    assert "\\x1b]0;pwned" in shown, "the message is shown, its escapes visible"
    assert main(["inbox", "list", "--campaigns", "--ledger", url]) == 0
    listed = capsys.readouterr().out
    first = listed.splitlines()[1].split()
    item = first[1] if len(first[0]) == 1 else first[0]  # after the mark ('c': a campaign's item)
    assert main(["inbox", "show", item, "--ledger", url]) == 0
    shown += listed + capsys.readouterr().out
    assert [c for c in "\x1b\x07\r\x9b" if c in shown] == []
    assert "\\x1b[2J" in shown and "fake ok\\x9b31m" in shown


class _Listener:
    """A TCP server on 127.0.0.1 that counts connections (an alert would be one)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


def test_a_campaign_never_sends_its_flows_alerts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hook, mail = _Listener(), _Listener()
    try:
        (tmp_path / "flow.py").write_text(
            "from harness import AlertPolicy, Flow, Policy, get_trigger\n"
            "import requests\n"
            "def _read(event):\n"
            "    # fails only when a fault meets its CRM read: the reference run must succeed\n"
            "    try:\n"
            "        requests.get(f'https://api.hubapi.com/crm/v3/objects/deals/{event[\"objectId\"]}',\n"
            "                     headers={'Authorization': 'Bearer t'}, timeout=5).raise_for_status()\n"
            "        return True\n"
            "    except requests.RequestException:\n"
            "        return False\n"
            "def handle(event):\n    if _read(event):\n        return {'status': 'ok'}\n"
            "    raise ValueError('needs a person')\n"
            "flow = Flow(name='alerting', automation=handle, criticality='critical',\n"
            "            trigger=get_trigger('hubspot.deal.closedwon'),\n"
            "            policy=Policy(alerts=AlertPolicy(sinks=(\n"
            f"                'webhook:http://127.0.0.1:{hook.port}/services/T1/B2/secret',\n"
            f"                'smtp://127.0.0.1:{mail.port}/ops@example.com'), throttle=0.001)))\n"
        )
        url = f"sqlite:///{tmp_path}/l.db"
        main(["check", "--flow", str(tmp_path / "flow.py"), "--examples", "8", "--seed", "1",
              "--mode", "orchestrated", "--ledger", url])
        capsys.readouterr()
    finally:
        hook.close()
        mail.close()
    with sqlite3.connect(tmp_path / "l.db") as conn:
        alerts = [json.loads(d) for (d,) in conn.execute("SELECT detail FROM events WHERE kind = 'alert'")]
    assert alerts, "the flow raised alerts"
    assert {a["sink"].split(":")[0] for a in alerts} == {"http", "smtp"}
    assert all("error" not in a for a in alerts), "every alert reached its (recorded) sink"
    assert (hook.connections, mail.connections) == (0, 0), "no alert left the process"


def test_a_function_with_a_non_ascii_name_is_checked_under_an_ascii_flow_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "uni.py").write_text("def händle(event):\n    return {'status': 'ok'}\n")
    capsys.readouterr()
    code = main(["check", f"{tmp_path}/uni.py:händle", "--examples", "1", "--seed", "1",
                 "--ledger", f"sqlite:///{tmp_path}/l.db"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err.startswith("harness check handle: seed 1, ")
    assert f"rerun the campaign: harness check '{tmp_path}/uni.py:händle' " in out
