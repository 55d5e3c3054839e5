"""The write lock of a SQLite ledger, shared by the threads and the processes that write it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["WriteLock", "write_lock_path"]


def write_lock_path(database: str) -> str:
    """The lock file the writers of the SQLite ledger at ``database`` queue on: in the
    temporary directory (never a stray file beside the user's ledger), named by the
    ledger's real path so every process that opens it finds the same one."""
    key = hashlib.sha256(os.path.realpath(os.path.expanduser(database)).encode()).hexdigest()[:24]
    return os.path.join(tempfile.gettempdir(), f"harness-ledger-{key}.lock")


class WriteLock:
    """The write lock of a SQLite ledger: threads queue on an RLock and, for a file, processes
    queue on an ``flock`` of a lock file (:func:`write_lock_path`).

    Without the second, writers of several processes (``harness serve``'s worker
    processes and its acceptances) meet in SQLite's busy handler, which polls
    with sleeps of up to 100 ms: measured with ``benchmarks/serve_ack.py``, that
    made a delivery's acknowledgement wait seconds behind the workers' writes.
    A kernel lock wakes the next writer as soon as the lock is free.
    """

    def __init__(self, path: str | None) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._path = path if fcntl is not None else None
        self._fd: int | None = None

    def _file(self) -> int | None:
        if self._fd is None and self._path is not None:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:
                self._path = None  # no lock file: SQLite's own locking still holds
        return self._fd

    def __enter__(self) -> WriteLock:
        self._lock.acquire()
        try:
            if self._depth == 0:
                fd = self._file()
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def forget_parent(self) -> None:
        """In a forked child: close the parent's descriptor (never unlock it: the lock is the
        parent's), so the child locks through a file of its own."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
