"""Fixtures for the chaos room's tests: the deal-won flow bound to a fixed seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chaos import Target
from harness.flow import Flow, load_flow

ROOT = Path(__file__).resolve().parents[2]
DEAL_WON_FLOW = ROOT / "scenarios" / "deal_won" / "flow.py"
QUALITY = ROOT / "tests" / "quality" / "automations"
SEED = 3


@pytest.fixture(scope="session")
def deal_won() -> Flow:
    return load_flow(str(DEAL_WON_FLOW))


@pytest.fixture(scope="session")
def target(deal_won: Flow) -> Target:
    """The deal-won flow in the world of seed 3 (discovery runs once per session)."""
    return Target(deal_won, seed=SEED)
