"""A reader that stops early (``harness inbox list | head -1``) ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys

from harness.ledger import Ledger


def test_closed_stdout_ends_quietly(sqlite_ledger: Ledger) -> None:
    # the read end is closed before the command starts, so its very first write meets
    # EPIPE: the same state as `| head -1` after head exited, without a race
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "inbox", "list", "--ledger", sqlite_ledger.url],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 0
