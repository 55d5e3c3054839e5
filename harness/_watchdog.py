"""Wall-clock limits and exit guards around the automation: a hostile one cannot hang or fake a pass.

A campaign runs the user's code in the harness's own process, and that code
may loop forever (``while True: pass``), wait for ``time.time()`` to pass a
deadline (time is virtual in a campaign: it moves only when the automation
sleeps), block on ``threading.Event().wait()``, or end the process with
``os._exit(0)``, which would look like a CI pass.  So:

* :class:`Watchdog` (entered by :func:`~harness.chaos.run_campaign`) holds a
  per-run and a per-campaign wall-clock limit.  Every call of the automation
  (a delivery, a reference or discovery run) is wrapped in :func:`run_limit`,
  which arms a timer for what is left; when it fires, :class:`AutomationHung`
  is raised *in the automation's frame*, naming the file and line it was
  stuck on.  On the main thread the timer is ``SIGALRM``: it interrupts busy
  loops, sleeps and lock waits alike.  Elsewhere an asynchronous exception is
  set on the thread (it interrupts Python code; a wait inside C returns first).
* :func:`exit_guard` replaces ``os._exit`` for its duration: the automation's
  call raises :class:`AutomationExited` instead of ending the process.

Both exceptions derive from :class:`BaseException` on purpose: an automation's
``except Exception`` must not swallow them.  :func:`~harness.chaos.run_campaign`
turns them into :class:`~harness.errors.RunBrokenError` (exit status 3).  This
module sits at the top of the package, beside the shared room (``harness._shared``), because the CLI
installs :func:`exit_guard` before it imports anything heavy or the automation.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import posix
import signal
import sys
import sysconfig
import threading
from collections.abc import Iterator
from pathlib import Path
from time import monotonic as _real_monotonic  # bound now: scenarios patch time.monotonic
from types import FrameType
from typing import Any

__all__ = [
    "DEFAULT_CAMPAIGN_TIMEOUT",
    "DEFAULT_RUN_TIMEOUT",
    "AutomationExited",
    "AutomationHung",
    "Watchdog",
    "exit_guard",
    "location",
    "run_limit",
]

#: wall seconds one call of the automation may take: in virtual time a run with an
#: hour of retries takes milliseconds, so a minute means it is stuck, not slow
DEFAULT_RUN_TIMEOUT = 60.0
#: wall seconds a whole campaign (every mode) may take
DEFAULT_CAMPAIGN_TIMEOUT = 3600.0

_HARNESS_DIR = str(Path(__file__).resolve().parent) + os.sep
_LIBRARY_DIRS = tuple(
    sorted(
        {
            str(Path(p).resolve()) + os.sep
            for k in ("stdlib", "platstdlib", "purelib", "platlib")
            if (p := sysconfig.get_paths().get(k))
        }
    )
)


class AutomationHung(BaseException):
    """The automation ran past a wall-clock limit; ``where`` is the file:line it was stuck on."""

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(message)
        self.where = where


class AutomationExited(BaseException):
    """The automation called ``os._exit``; ``where`` is the file:line of the call."""

    def __init__(self, message: str, *, code: object = None, where: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.where = where


def _is_user_file(filename: str) -> bool:
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    if filename.startswith("<"):
        return False
    return not (path.startswith(_HARNESS_DIR) or path.startswith(_LIBRARY_DIRS))


def location(frame: FrameType | None) -> str:
    """``file:line in function`` of the innermost user frame on ``frame``'s stack (else the innermost)."""
    first: FrameType | None = frame
    while frame is not None:
        if _is_user_file(frame.f_code.co_filename):
            break
        frame = frame.f_back
    frame = frame or first
    if frame is None:
        return "an unknown place"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def location_of_traceback(tb: Any) -> str:
    """Like :func:`location`, for an exception's traceback (the innermost user frame)."""
    where = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        if _is_user_file(code.co_filename):
            where = f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}"
        tb = tb.tb_next
    return where


_HINT = (
    "it may be in a busy loop, waiting on a lock, event or queue with no timeout, or waiting "
    "for time.time() to pass a deadline (time is virtual in a campaign and moves only when the "
    "automation sleeps)"
)


class Watchdog:
    """Per-run and per-campaign wall-clock limits (seconds; ``None`` or 0 means none)."""

    def __init__(self, *, run_timeout: float | None, campaign_timeout: float | None) -> None:
        self.run_timeout = run_timeout or None
        self.campaign_timeout = campaign_timeout or None
        self.deadline: float | None = None

    def __enter__(self) -> Watchdog:
        if self.campaign_timeout is not None:
            self.deadline = _real_monotonic() + self.campaign_timeout
        _active.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _active.remove(self)

    def _budget(self) -> tuple[float | None, str]:
        """Seconds the next run may take and which limit that is."""
        run = self.run_timeout
        if self.deadline is None:
            return run, f"the run limit of {_seconds(run)} (--run-timeout)"
        left = self.deadline - _real_monotonic()
        if left <= 0:
            raise AutomationHung(
                f"the campaign ran past its limit of {_seconds(self.campaign_timeout)} "
                "(--campaign-timeout); raise it or run fewer --examples"
            )
        if run is None or left < run:
            return left, f"the campaign limit of {_seconds(self.campaign_timeout)} (--campaign-timeout)"
        return run, f"the run limit of {_seconds(run)} (--run-timeout)"


def _seconds(value: float | None) -> str:
    return f"{value:g} s (wall clock)" if value is not None else "none"


_active: list[Watchdog] = []


@contextlib.contextmanager
def run_limit(what: str = "the automation") -> Iterator[None]:
    """Limit one call of the automation by the active :class:`Watchdog` (no-op without one)."""
    if not _active:
        yield
        return
    seconds, which = _active[-1]._budget()
    if seconds is None:
        yield
        return

    def message(where: str) -> str:
        return f"{what} was still running after {which}, at {where}; {_HINT}"

    if threading.current_thread() is threading.main_thread():
        def on_alarm(signum: int, frame: FrameType | None) -> None:
            where = location(frame)
            raise AutomationHung(message(where), where=where)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        old_timer = signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if old_timer[0]:
                signal.setitimer(signal.ITIMER_REAL, *old_timer)
        return
    # not the main thread (a pytest worker thread, an embedding app): an asynchronous
    # exception stops Python code; a wait inside C sees it once the wait returns
    tid = threading.get_ident()
    done = threading.Event()
    fired: list[str] = []

    def watch() -> None:
        if done.wait(seconds):
            return
        frame = sys._current_frames().get(tid)
        fired.append(location(frame))
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(AutomationHung))

    watcher = threading.Thread(target=watch, name="harness-watchdog", daemon=True)
    watcher.start()
    try:
        yield
    except AutomationHung:
        where = fired[0] if fired else "an unknown place"
        raise AutomationHung(message(where), where=where) from None
    finally:
        done.set()
        watcher.join()


@contextlib.contextmanager
def exit_guard() -> Iterator[None]:
    """``os._exit`` (and ``posix._exit``) raise :class:`AutomationExited` inside this block."""
    real = posix._exit
    if getattr(os._exit, "__harness_guard__", False):
        yield  # already guarded by an outer block
        return

    def guarded_exit(code: int = 0) -> None:
        where = location(sys._getframe(1))
        raise AutomationExited(
            f"the automation called os._exit({code!r}) at {where}; the process would have ended "
            "mid-campaign with no verdict, so the campaign is broken, not passed; an automation "
            "must return or raise, never end the process",
            code=code, where=where,
        )

    guarded_exit.__harness_guard__ = True  # type: ignore[attr-defined]
    os._exit = guarded_exit  # type: ignore[assignment]
    posix._exit = guarded_exit  # type: ignore[assignment]
    try:
        yield
    finally:
        os._exit = real
        posix._exit = real
