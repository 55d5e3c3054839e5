"""SIGKILL ``harness serve`` at known states: every accepted delivery still ends, each effect once.

The campaign is described in ``_crash.py``.  CI runs 10 kills; the soak runs
100 (``HARNESS_CRASH_SOAK=1 python -m pytest tests/serve/test_crash.py -k soak``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _crash import CI_KILLS, SOAK_KILLS, Campaign

pytestmark = pytest.mark.slow


def test_sigkills_at_accepted_running_and_waiting_lose_no_delivery(tmp_path: Path) -> None:
    campaign = Campaign(workdir=tmp_path, kills=CI_KILLS, seed=17)
    campaign.run()
    assert campaign.killed_at == ["accepted", "inflight", "waiting"] * 3 + ["accepted"]
    assert len(campaign.accepted) >= 60
    assert campaign.recovered >= 3


@pytest.mark.skipif(not os.environ.get("HARNESS_CRASH_SOAK"), reason="the 100-kill soak: set HARNESS_CRASH_SOAK=1")
def test_soak_100_sigkills(tmp_path: Path) -> None:
    campaign = Campaign(workdir=tmp_path, kills=SOAK_KILLS, seed=int(os.environ.get("HARNESS_CRASH_SEED", "1")))
    campaign.run()
