"""SIGKILL ``harness worker`` processes sharing a PostgreSQL ledger through Celery: no delivery lost.

The campaign is described in ``_crash_engine.py``.  CI runs 10 kills; the soak
runs 100 (``HARNESS_CRASH_SOAK=1 python -m pytest tests/serve/test_crash_engine.py -k soak``).
Needs the Redis broker on 127.0.0.1:6379 (``.ci/run`` starts it) and PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _crash_engine import CI_KILLS, SOAK_KILLS, EngineCampaign

pytestmark = pytest.mark.slow


def test_sigkilled_workers_lose_no_delivery_and_repeat_no_effect(tmp_path: Path, pg_url: str) -> None:
    campaign = EngineCampaign(workdir=tmp_path, kills=CI_KILLS, seed=17, pg_url=pg_url)
    campaign.run()
    assert campaign.killed_at == ["accepted", "inflight", "waiting"] * 3 + ["accepted"]
    assert campaign.restarts == CI_KILLS
    assert len(campaign.accepted) >= 60
    assert campaign.recovered >= 3  # the runs the killed workers held were taken over


@pytest.mark.skipif(not os.environ.get("HARNESS_CRASH_SOAK"), reason="the 100-kill soak: set HARNESS_CRASH_SOAK=1")
def test_soak_100_worker_sigkills(tmp_path: Path, pg_url: str) -> None:
    seed = int(os.environ.get("HARNESS_CRASH_SEED", "1"))
    EngineCampaign(workdir=tmp_path, kills=SOAK_KILLS, seed=seed, pg_url=pg_url).run()
