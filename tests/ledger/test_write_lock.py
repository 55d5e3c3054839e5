"""A SQLite ledger's writers of several processes queue on a kernel lock, not in SQLite's busy handler."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.ledger import Ledger
from harness.ledger._writelock import write_lock_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock: POSIX")

_TRY_LOCK = textwrap.dedent(
    """
    import fcntl, os, sys
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(3)
    """
)


def _other_process_can_lock(path: Path) -> bool:
    done = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(path)], timeout=60)
    assert done.returncode in (0, 3), done
    return done.returncode == 0


def test_a_write_holds_the_lock_file_for_other_processes_until_it_commits(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{db}") as ledger:
        lock = Path(write_lock_path(str(db)))
        with ledger._write("a test write"):
            assert not _other_process_can_lock(lock)
        assert _other_process_can_lock(lock)  # released with the commit
        with ledger._wlock, ledger._wlock:  # re-entered by one thread: released by the outermost
            pass
        with ledger._wlock:
            with ledger._wlock:
                pass
            assert not _other_process_can_lock(lock)
        assert _other_process_can_lock(lock)


def test_the_lock_file_is_not_beside_the_ledger_and_is_one_per_ledger(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{db}") as ledger, ledger._write("a test write"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("ledger.db-")) == ["ledger.db"]
    assert write_lock_path(str(db)) == write_lock_path(f"{tmp_path}/./ledger.db")
    assert write_lock_path(str(db)) != write_lock_path(str(tmp_path / "other.db"))
