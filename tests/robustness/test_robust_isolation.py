"""A scenario leaves nothing behind: no patched clock, no active mock, no environment change.

Checked after a scenario whose automation succeeds, raises, or is interrupted
by ``KeyboardInterrupt`` half-way (after its first call), in both modes, and
after a campaign interrupted the same way (which must also be marked
``interrupted`` in the ledger).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests

from harness.chaos import Deliver, Scenario, replay, run_campaign
from harness.flow import Flow
from harness.ledger import Ledger
from harness.triggers import get_trigger

HUBSPOT = "https://api.hubapi.com/crm/v3/objects/deals/"


def _fetch(event: Any) -> None:
    resp = requests.get(HUBSPOT + str(event["objectId"]), headers={"Authorization": "Bearer pat-na1-x"}, timeout=5)
    resp.raise_for_status()


def succeeds(event: Any) -> dict[str, str]:
    _fetch(event)
    return {"status": "ok"}


def raises(event: Any) -> None:
    _fetch(event)
    raise RuntimeError("the automation is broken")


def interrupted(event: Any) -> None:
    _fetch(event)
    raise KeyboardInterrupt


_calls: list[int] = []


def interrupted_later(event: Any) -> dict[str, str]:
    """Succeeds through the reference runs, then is interrupted mid-campaign."""
    _fetch(event)
    _calls.append(1)
    if len(_calls) == 20:
        raise KeyboardInterrupt
    return {"status": "ok"}


def _kernel_now() -> float:
    """The wall time as the kernel stamps a new file: no Python clock patch reaches it."""
    with tempfile.NamedTemporaryFile() as fh:
        return os.fstat(fh.fileno()).st_mtime


def _state() -> dict[str, Any]:
    return {
        "environ": dict(os.environ),
        "requests.send": requests.adapters.HTTPAdapter.send,
        "requests.proxies": requests.sessions.get_environ_proxies,
        "httpx.handle_request": httpx.HTTPTransport.handle_request,
        "httpx.handle_async_request": httpx.AsyncHTTPTransport.handle_async_request,
        "sys.path": list(sys.path),
        "threads": {t.ident for t in threading.enumerate()},
        "time.time": time.time,
        "time.sleep": time.sleep,
    }


def _assert_clean(before: dict[str, Any]) -> None:
    after = _state()
    for key, value in before.items():
        assert after[key] == value, f"{key} was left changed by the scenario"
    assert abs(time.time() - _kernel_now()) < 5, "time.time() is not the real clock any more"
    with pytest.raises(requests.exceptions.ConnectionError):
        # no mock answers any more: the real adapter refuses a closed local port
        requests.get("http://127.0.0.1:9/", timeout=2)


@pytest.mark.parametrize("mode", ["bare", "orchestrated"])
@pytest.mark.parametrize(
    ("automation", "expected"),
    [(succeeds, None), (raises, None), (interrupted, KeyboardInterrupt)],
    ids=["succeeds", "raises", "keyboard_interrupt"],
)
def test_a_scenario_restores_clock_mocks_and_environment(
    automation: Callable[..., Any], expected: type[BaseException] | None, mode: str
) -> None:
    flow = Flow(name=f"iso_{automation.__name__}", automation=automation, trigger=get_trigger("hubspot.deal.closedwon"))
    scenario = Scenario(seed=3, steps=(Deliver(0), Deliver(1)))
    before = _state()
    if expected is None:
        replay(flow, scenario, mode=mode)
    else:
        with pytest.raises(expected):
            replay(flow, scenario, mode=mode)
    _assert_clean(before)


def test_an_interrupted_campaign_restores_everything_and_is_marked_interrupted(sqlite_url: str) -> None:
    _calls.clear()
    flow = Flow(name="iso_campaign", automation=interrupted_later, trigger=get_trigger("hubspot.deal.closedwon"))
    with Ledger.open(sqlite_url) as ledger:
        before = _state()
        with pytest.raises(KeyboardInterrupt):
            run_campaign(flow, ledger=ledger, examples=50, seed=5, modes=("orchestrated",))
        _assert_clean(before)
        assert len(_calls) == 20, "the interrupt must land inside the campaign"
        assert [c.status for c in ledger.campaigns(flow="iso_campaign")] == ["interrupted"]
