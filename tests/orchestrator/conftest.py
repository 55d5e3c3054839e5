"""Fixtures of the orchestrator tests: a world with Stripe and a desk, an orchestrator factory."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# the helper modules beside this file, importable under any --import-mode
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _orch_fakes import Desk
from _orch_support import Recorder

from harness import Flow, VirtualClock
from harness.orchestrator import MemoryDedupe, Orchestrator
from harness.systems import World
from harness.systems._stripe import Stripe


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def world(clock: VirtualClock) -> World:
    return World([Stripe(), Desk()], clock=clock)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def orchestrate(clock: VirtualClock, recorder: Recorder) -> Callable[..., Orchestrator]:
    """An orchestrator on the virtual clock with a seeded rng, memory dedupe and the recorder."""

    def make(flow: Flow, **kwargs: Any) -> Orchestrator:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("rng", random.Random(0))
        kwargs.setdefault("dedupe", MemoryDedupe())
        kwargs.setdefault("sink", recorder)
        return Orchestrator(flow, **kwargs)

    return make
