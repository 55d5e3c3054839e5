"""Fixtures of the serve tests: the helper module beside this file, a world of fakes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import WallClock
from harness.systems import World
from harness.systems._stripe import Stripe


@pytest.fixture
def world() -> Iterator[World]:
    w = World([Stripe()], clock=WallClock())
    with w.activate():
        yield w
