"""Virtual time inside a scenario: the automation's clock follows a :class:`VirtualClock`.

``time.time``, ``time.time_ns``, ``datetime.now``/``utcnow`` and ``date.today``
are moved by ``time-machine`` (which patches them at the C level, so
``from time import time`` is covered too).  time-machine leaves
``time.sleep``, ``time.monotonic`` and ``time.perf_counter`` alone, so those
are replaced on the :mod:`time` module here: ``sleep`` advances the virtual
clock instead of waiting, and the monotonic counters read the virtual clock.
A function imported with ``from time import sleep`` before the scenario keeps
the real one; that is a documented limit.

Everything is restored when the block exits, also on exceptions and on
``KeyboardInterrupt``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import time_machine

from harness._shared.wire import VirtualClock
from harness.errors import InvalidValueError

__all__ = ["virtual_time"]

# the monotonic counters start here inside a scenario: far from 0 so code that
# treats 0 as "never" still works, stable so replays print the same numbers
_MONOTONIC_ORIGIN = 10_000.0


@contextlib.contextmanager
def virtual_time(clock: VirtualClock) -> Iterator[VirtualClock]:
    """Make the process's clock follow ``clock`` inside the block.

    Sleeping advances ``clock``; advancing ``clock`` (injected latency, a
    stall, the orchestrator's backoff) moves every patched reading with it.
    """
    traveller_cm = time_machine.travel(clock.now(), tick=False)
    real_sleep, real_monotonic, real_monotonic_ns = time.sleep, time.monotonic, time.monotonic_ns
    real_perf, real_perf_ns = time.perf_counter, time.perf_counter_ns
    origin = clock.now()

    def monotonic() -> float:
        return _MONOTONIC_ORIGIN + (clock.now() - origin)

    def monotonic_ns() -> int:
        return int(monotonic() * 1_000_000_000)

    def sleep(seconds: float) -> None:
        if seconds < 0:
            raise InvalidValueError("sleep length must be non-negative")
        clock.advance(float(seconds))

    remove = None
    with contextlib.ExitStack() as stack:
        traveller = stack.enter_context(traveller_cm)

        def follow(now: float) -> None:
            traveller.move_to(now)

        remove = clock.on_advance(follow)
        stack.callback(remove)

        def restore() -> None:
            time.sleep, time.monotonic, time.monotonic_ns = real_sleep, real_monotonic, real_monotonic_ns
            time.perf_counter, time.perf_counter_ns = real_perf, real_perf_ns

        stack.callback(restore)
        time.sleep = sleep  # type: ignore[assignment]
        time.monotonic, time.monotonic_ns = monotonic, monotonic_ns
        time.perf_counter, time.perf_counter_ns = monotonic, monotonic_ns
        yield clock
