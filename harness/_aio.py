"""Running an ``async def`` automation to completion, in the run's clock.

:func:`call` is how every engine invokes an automation: a plain return value is
returned as is; an awaitable (an ``async def`` handler, or a sync handler that
returns a coroutine) is run to completion on a fresh event loop.

With a :class:`~harness._shared.wire.VirtualClock` the loop runs in virtual time:
``loop.time()`` reads the clock, and when the loop would block waiting for its
next timer (``asyncio.sleep``, ``asyncio.wait_for``, aiohttp's and httpx's
timeouts) it advances the clock to that timer instead of waiting.  Real I/O
still works (the loop polls its selector first and blocks for real only when
nothing is scheduled at all, e.g. while a worker thread finishes), so an hour
of async backoff costs nothing and a scenario stays reproducible.
"""

from __future__ import annotations

import asyncio
import inspect
import selectors
from collections.abc import Awaitable, Callable
from typing import Any

from harness._shared.wire import Clock, VirtualClock

__all__ = ["call", "run", "sleep"]


#: where a virtual loop's ``loop.time()`` starts
_LOOP_ORIGIN = 1000.0


class _VirtualSelector:
    """A selector that turns "wait ``timeout`` seconds" into "advance the clock"."""

    def __init__(self, inner: selectors.BaseSelector, clock: VirtualClock) -> None:
        self._inner = inner
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        ready = self._inner.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            # nothing scheduled: only real I/O or another thread can wake the loop
            return self._inner.select(None)
        self._clock.advance(timeout)
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _loop_factory(clock: Clock) -> Callable[[], asyncio.AbstractEventLoop]:
    def factory() -> asyncio.AbstractEventLoop:
        loop = asyncio.SelectorEventLoop()
        loop._harness_clock = clock  # type: ignore[attr-defined]  # what sleep() checks
        if isinstance(clock, VirtualClock):
            loop._selector = _VirtualSelector(loop._selector, clock)  # type: ignore[attr-defined]
            origin = clock.now()

            # small numbers: at epoch magnitude, `when + resolution` rounds back to `when`
            # and a timer due exactly now would never fire
            def time() -> float:
                return _LOOP_ORIGIN + (clock.now() - origin)

            loop.time = time  # type: ignore[method-assign]
            loop._clock_resolution = 1e-6  # type: ignore[attr-defined]
        return loop

    return factory


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def run(awaitable: Awaitable[Any], clock: Clock) -> Any:
    """Run ``awaitable`` to completion on a new event loop following ``clock``."""
    with asyncio.Runner(loop_factory=_loop_factory(clock)) as runner:
        return runner.run(_await(awaitable))


def call(handler: Callable[..., Any], event: Any, clock: Clock) -> Any:
    """``handler(event)``, awaited to completion when it is ``async`` (see the module doc)."""
    value = handler(event)
    if inspect.isawaitable(value):
        return run(value, clock)
    return value


async def sleep(seconds: float, clock: Clock) -> None:
    """Wait ``seconds`` on ``clock`` without blocking the running event loop.

    On a loop made by :func:`run` for ``clock`` (the loop follows it) this is
    ``asyncio.sleep``: other tasks run meanwhile.  On a loop that does not
    follow a virtual ``clock`` (an automation that started its own), the clock
    is advanced instead: a virtual wait must never cost wall time.
    """
    loop = asyncio.get_running_loop()
    if isinstance(clock, VirtualClock) and getattr(loop, "_harness_clock", None) is not clock:
        clock.sleep(seconds)
        await asyncio.sleep(0)
        return
    await asyncio.sleep(seconds)
