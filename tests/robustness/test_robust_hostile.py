"""Hostile automations: they hang, exit the process, raise BaseException; the exit status never lies.

Each automation below is checked by ``harness check`` in a real process.  The
expected outcome is exact: exit status 3 (:data:`harness.errors.EXIT_BROKEN`,
neither 0, a pass, nor 1, findings), one ``harness: error:`` line naming the
automation's file and line, no traceback, and the campaign recorded as
``failed`` in the ledger (when it got that far), never left ``running``.  The hangs end because of
``--run-timeout``/``--campaign-timeout`` (short here so the suite stays fast);
nothing in these tests measures time.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.errors import EXIT_BROKEN

pytest_plugins = ("pytester",)


@dataclass(frozen=True)
class Hostile:
    """An automation that breaks the run, the line it breaks at, and the message it must give."""

    id: str
    source: str
    lines: tuple[int, ...]  # the lines the message may name: a loop is stopped on any of its lines
    message: str  # what the one error line must contain (after the location)
    args: tuple[str, ...] = ()


HANG = "(--run-timeout), at "
HOSTILE: tuple[Hostile, ...] = (
    Hostile("busy_loop", "def handle(event):\n    while True:\n        pass\n", (2, 3), HANG),
    Hostile(
        "frozen_time_wait",
        "import time\n\ndef handle(event):\n    deadline = time.time() + 5\n"
        "    while time.time() < deadline:\n        pass\n    return {'status': 'ok'}\n",
        (5, 6), HANG,
    ),
    Hostile(
        "blocked_on_an_event",
        "import threading\n\ndef handle(event):\n    threading.Event().wait()\n", (4,), HANG,
    ),
    Hostile(
        "swallows_everything_while_looping",
        "def handle(event):\n    while True:\n        try:\n            pass\n"
        "        except Exception:\n            pass\n",
        (2, 3, 4, 5, 6), HANG,
    ),
    Hostile("os_exit_zero", "import os\n\ndef handle(event):\n    os._exit(0)\n", (4,),
            "the automation called os._exit(0) at "),
    Hostile("os_exit_imported_early", "from os import _exit\n\ndef handle(event):\n    _exit(0)\n", (4,),
            "the automation called os._exit(0) at "),
    Hostile(
        "raises_a_base_exception",
        "class Stop(BaseException):\n    pass\n\ndef handle(event):\n    raise Stop('enough')\n", (5,),
        "the automation raised Stop('enough'), a BaseException that is not an Exception, at ",
    ),
)


def _check(d: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    (d / "auto.py").write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "check", f"{d}/auto.py:handle", "--examples", "2",
         "--seed", "3", "--ledger", f"sqlite:///{d}/ledger.db", "--run-timeout", "1", *args],
        capture_output=True, text=True, cwd=d, timeout=300, env={**os.environ, "COLUMNS": "300"},
    )


@pytest.mark.parametrize("case", HOSTILE, ids=[h.id for h in HOSTILE])
def test_a_hostile_automation_breaks_the_run_with_exit_3_and_its_location(
    case: Hostile, tmp_path: Path
) -> None:
    proc = _check(tmp_path, case.source, *case.args)
    err = proc.stderr
    assert "Traceback" not in err + proc.stdout, err
    errors = [line for line in err.splitlines() if line.startswith("harness: error: ")]
    assert len(errors) == 1, err
    assert any(
        f"{case.message}{tmp_path}/auto.py:{line} in handle" in errors[0] for line in case.lines
    ), errors[0]
    assert proc.returncode == EXIT_BROKEN, err
    with sqlite3.connect(tmp_path / "ledger.db") as conn:
        statuses = {s for (s,) in conn.execute("SELECT status FROM campaigns")}
    # a hang in discovery stops it before any campaign is recorded; one recorded is failed
    assert statuses <= {"failed"}, statuses


def test_a_campaign_past_its_limit_breaks_with_exit_3(tmp_path: Path) -> None:
    """No run limit, a campaign limit: the campaign ends at it, wherever it was."""
    proc = _check(
        tmp_path, "def handle(event):\n    while True:\n        pass\n",
        "--run-timeout", "0", "--campaign-timeout", "10",
    )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("harness: error: ")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "limit of 10 s (wall clock) (--campaign-timeout)" in errors[0]
    assert proc.returncode == EXIT_BROKEN


def test_a_limit_of_zero_means_none_and_a_quick_automation_passes(tmp_path: Path) -> None:
    proc = _check(
        tmp_path, "def handle(event):\n    return {'status': 'ok'}\n", "--campaign-timeout", "0",
    )
    assert proc.returncode == 0, proc.stderr
    assert "harness: error" not in proc.stderr


def test_the_plugin_limits_a_run_too(pytester: pytest.Pytester) -> None:
    auto = pytester.path / "auto.py"
    auto.write_text("def handle(event):\n    while True:\n        pass\n")
    (pytester.path / "flow.py").write_text(
        "from harness import Flow, get_trigger\n"
        f"flow = Flow(name='hung', automation={str(auto) + ':handle'!r}, "
        "trigger=get_trigger('hubspot.deal.closedwon'))\n"
    )
    pytester.makepyfile(
        test_it=(
            "import pytest\n\n"
            f"@pytest.mark.harness(flow={str(pytester.path / 'flow.py')!r}, examples=1, mode='bare')\n"
            "def test_flow(harness_campaign):\n    pass\n"
        ),
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "--harness-run-timeout=1", "--harness-seed=3",
        f"--harness-ledger=sqlite:///{pytester.path}/l.db",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*(--harness-run-timeout), at {auto}:[23] in handle*"])
    assert "Traceback" not in result.stdout.str()
