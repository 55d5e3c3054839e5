"""Virtual time: the automation's clock follows the scenario's VirtualClock, and nothing leaks."""

from __future__ import annotations

import datetime
import time

import pytest

from harness._shared.wire import VirtualClock
from harness.chaos import virtual_time


def test_sleep_advances_the_virtual_clock_and_every_reading_follows() -> None:
    clock = VirtualClock()
    with virtual_time(clock):
        t0, m0 = time.time(), time.monotonic()
        time.sleep(90)
        assert clock.elapsed() == 90
        assert time.time() - t0 == pytest.approx(90)
        assert time.monotonic() - m0 == pytest.approx(90)
        assert datetime.datetime.now(datetime.UTC).timestamp() == pytest.approx(clock.now())


def test_advancing_the_clock_moves_the_patched_readings() -> None:
    clock = VirtualClock()
    with virtual_time(clock):
        before = time.time()
        clock.advance(3600)
        assert time.time() - before == pytest.approx(3600)
        assert time.perf_counter() - 10_000 == pytest.approx(3600)


def test_an_hour_of_backoff_is_an_hour_of_virtual_time() -> None:
    real_sleep = time.sleep
    clock = VirtualClock()
    with virtual_time(clock):
        waited = 0.0
        delay = 1.0
        while waited < 3600:
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 300)
    assert clock.elapsed() == waited >= 3600
    assert time.sleep is real_sleep


def test_nothing_leaks_when_the_block_raises() -> None:
    real_sleep, real_monotonic = time.sleep, time.monotonic
    clock = VirtualClock()
    def sleep_then_fail() -> None:
        time.sleep(5)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"), virtual_time(clock):
        sleep_then_fail()
    assert time.sleep is real_sleep and time.monotonic is real_monotonic
    assert abs(time.time() - clock.now()) > 60  # not travelling any more


def test_nothing_leaks_on_keyboard_interrupt() -> None:
    real_sleep, real_perf = time.sleep, time.perf_counter
    with pytest.raises(KeyboardInterrupt), virtual_time(VirtualClock()):
        raise KeyboardInterrupt
    assert time.sleep is real_sleep and time.perf_counter is real_perf


def test_negative_sleep_is_refused_as_time_sleep_does() -> None:
    with virtual_time(VirtualClock()), pytest.raises(ValueError, match="sleep length must be non-negative"):
        time.sleep(-1)
