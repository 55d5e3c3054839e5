"""Every bad input of the catalogue gives its exact one-line error, its exit status, and writes nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from _robust_catalogue import ROWS, Row

from harness.cli import main


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (bytecode caches aside) with its size and mtime."""
    files: dict[str, tuple[int, int]] = {}
    for path in root.rglob("*"):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        st = path.stat()
        files[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return files


def _fill(text: str, d: Path) -> str:
    return text.replace("{L}", f"sqlite:///{d}/ledger.db").replace("{d}", str(d))


def _params() -> list[object]:
    out: list[object] = []
    for row in ROWS:
        marks = [pytest.mark.xfail(strict=True, reason=row.xfail)] if row.xfail else []
        out.append(pytest.param(row, id=row.id, marks=marks))
    return out


@pytest.mark.parametrize("row", _params())
def test_bad_input_gives_its_exact_error_and_writes_nothing(
    row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path
    for name, text in row.files:
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text)
    for name, value in row.extra.items():
        monkeypatch.setenv(name, _fill(value, d))
    args = [_fill(a, d) for a in row.args]
    expected = _fill(row.message, d)
    # a stray default ledger or report would land in d, and be caught below
    monkeypatch.chdir(d)
    monkeypatch.setenv("HARNESS_LEDGER_URL", _fill("{L}", d))
    before = _snapshot(d)
    if row.subprocess:
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", *args],
            capture_output=True, text=True, cwd=d, timeout=120, env={**os.environ},
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    else:
        code = main(args)
        out, err = capsys.readouterr()
    assert "Traceback" not in err + out, err
    last = err.rstrip("\n").splitlines()[-1] if err.strip() else ""
    if row.prefix:
        assert last.startswith(expected), f"\n got: {last}\nwant: {expected}..."
    else:
        assert last == expected, f"\n got: {last}\nwant: {expected}"
    assert code == row.code, err
    assert [line for line in err.splitlines() if line.startswith("harness: error:")] == [last]
    if row.secret is not None:
        assert row.secret not in out + err
    after = _snapshot(d)
    if row.ledger_ok and "ledger.db" in after:
        for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
            after.pop(name, None)
        with sqlite3.connect(d / "ledger.db") as conn:
            statuses = [s for (s,) in conn.execute("SELECT status FROM campaigns")]
        assert "running" not in statuses, statuses
    assert after == before, "a rejected input must leave every file as it was"
