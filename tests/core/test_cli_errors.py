"""The CLI's error policy: a user mistake is one line and exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_unknown_option_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo", "--examplez", "3")
    assert code == 2
    assert err == (
        "harness: error: No such option '--examplez'. Did you mean '--examples'? "
        "(see 'harness demo --help')\n"
    )


def test_unknown_subcommand_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "dmeo")
    assert code == 2
    assert err.startswith("harness: error: No such command 'dmeo'")
    assert err.count("\n") == 1


def test_bad_option_value_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo", "--examples", "0")
    assert code == 2
    assert "Invalid value for '--examples': 0 is not in the range x>=1" in err


def test_report_path_under_a_file_is_exit_2_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    ledger = tmp_path / "ledger.db"
    code, _, err = run(
        capsys, "demo", "--ledger", f"sqlite:///{ledger}", "--out", str(blocker / "demo.html")
    )
    assert code == 2
    assert err.startswith(f"harness: error: report path '{blocker / 'demo.html'}': cannot create folder")
    assert err.count("\n") == 1
    assert not ledger.exists(), "nothing may be written before the input is validated"


def test_console_script_exits_with_the_status() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "demo", "--nope"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
