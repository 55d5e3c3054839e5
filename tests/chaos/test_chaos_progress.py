"""`harness check` shows progress in a CI log (no terminal), and --no-progress silences it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.cli import main

from .conftest import QUALITY

ROBUST = f"{QUALITY / 'robust_backoff.py'}:handle"


def _check(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[str]:
    code = main(["check", ROBUST, "--examples", "20", "--seed", "3", "--mode", "bare",
                 "--ledger", f"sqlite:///{tmp_path / 'l.db'}", *extra])
    assert code in (0, 1)
    return capsys.readouterr().err.splitlines()


def test_without_a_terminal_a_line_per_tenth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [line for line in _check(tmp_path, capsys) if " scenarios (" in line]
    counts = [re.fullmatch(r"harness check handle: bare (\d+)/20 scenarios \(\d+\.\d s\)", line)
              for line in lines]
    assert all(counts), lines
    assert [int(m.group(1)) for m in counts if m] == list(range(2, 21, 2))


def test_no_progress_prints_only_the_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _check(tmp_path, capsys, "--no-progress")
    assert not [line for line in lines if " scenarios (" in line]
    assert lines[0] == "harness check handle: seed 3, 20 examples per mode (bare)"
