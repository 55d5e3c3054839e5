"""Every accepted event is recorded as delivered, whatever it holds, and no automation can change it.

On SQLite and PostgreSQL alike: an event holding a lone surrogate (valid JSON),
a NUL byte, or a 2,000-character dedupe key is handled (the automation runs),
recorded (its run and inbox item are in the ledger, the event in the item's
context equal to the one delivered), and duplicate deliveries of it are still
recognised as duplicates.  An automation that changes its event
(``event.pop("objectId")``) before a transient error gets the event as
delivered on its next attempt, the inbox stores the event as delivered, and
``harness inbox retry`` works on it.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import pytest

from harness import Flow, Policy, RetryPolicy, VirtualClock, get_trigger
from harness.cli import main
from harness.ledger import Ledger
from harness.orchestrator import Orchestrator

TRIGGER = get_trigger("hubspot.deal.closedwon")
EVENT: dict[str, Any] = {
    "eventId": 1001, "subscriptionId": 2345, "portalId": 62515, "appId": 54321,
    "occurredAt": 1767225600000, "subscriptionType": "deal.propertyChange", "attemptNumber": 0,
    "objectId": 1234567, "propertyName": "dealstage", "propertyValue": "closedwon",
    "changeSource": "CRM_UI", "sourceId": "userId:1234",
}

#: (id, what the event's sourceId holds); the dedupe key is built from it
HOSTILE_VALUES = (
    ("lone_surrogate", "user\ud800id"),
    ("low_surrogate", "user\udc80id"),
    ("nul_byte", "user\x00id"),
    ("long_key", "k" * 2000),
    ("long_key_with_nul_and_surrogate", "\x00\ud800" * 1000),
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _url(backend: str, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))


def _flow(automation: Callable[..., Any], *, attempts: int = 1) -> Flow:
    return Flow(
        name="hostile_events", automation=automation, trigger=TRIGGER,
        dedupe_key=lambda e: f"deal:{e['objectId']}:{e['sourceId']}",
        policy=Policy(retry=RetryPolicy(max_attempts=attempts, base_delay=1.0)),
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("case", "value"), HOSTILE_VALUES, ids=[c for c, _ in HOSTILE_VALUES])
def test_an_event_with_bytes_a_database_refuses_is_handled_and_recorded(
    case: str, value: str, backend: str, request: pytest.FixtureRequest
) -> None:
    seen: list[dict[str, Any]] = []

    def automation(event: dict[str, Any]) -> dict[str, str]:
        seen.append(copy.deepcopy(event))
        raise ValueError("a person must look at this one")  # logical: the run goes to the inbox

    event = {**EVENT, "sourceId": value}
    with Ledger.open(_url(backend, request)) as ledger:
        orch = Orchestrator(_flow(automation), ledger=ledger, clock=VirtualClock(), rng=random.Random(0))
        first = orch.handle(copy.deepcopy(event))
        again = orch.handle(copy.deepcopy(event))
        assert seen == [event], "the automation runs once, on the event as delivered"
        assert (first.end_state, again.end_state) == ("manual", "suppressed")
        runs = {r.id: r for r in ledger.runs(flow="hostile_events", with_events=True)}
        assert set(runs) == {first.run.id, again.run.id}
        assert runs[first.run.id].end_state == "manual"
        assert runs[first.run.id].dedupe_key == runs[again.run.id].dedupe_key
        assert first.inbox_item is not None
        stored = ledger.inbox_item(first.inbox_item.id)
        assert stored.context["event"] == event, "the inbox holds the event exactly as delivered"


def test_different_long_keys_stay_different_and_equal_ones_equal(sqlite_url: str) -> None:
    def automation(event: dict[str, Any]) -> dict[str, str]:
        return {"status": "ok"}

    with Ledger.open(sqlite_url) as ledger:
        orch = Orchestrator(_flow(automation), ledger=ledger, clock=VirtualClock(), rng=random.Random(0))
        ends = [
            orch.handle({**EVENT, "sourceId": "k" * 2000 + tail}).end_state
            for tail in ("a", "b", "a")
        ]
    assert ends == ["succeeded", "succeeded", "suppressed"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_automation_that_changes_its_event_is_retried_with_the_event_as_delivered(
    backend: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str],
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, Any]] = []

    def automation(event: dict[str, Any]) -> dict[str, str]:
        seen.append(copy.deepcopy(event))
        event.pop("objectId")  # what careless code does before it fails
        event["sourceId"] = "changed"
        raise TimeoutError("the billing API timed out")  # transient: retried, then the inbox

    url = _url(backend, request)
    delivered = copy.deepcopy(EVENT)
    with Ledger.open(url) as ledger:
        orch = Orchestrator(
            _flow(automation, attempts=3), ledger=ledger, clock=VirtualClock(), rng=random.Random(0)
        )
        result = orch.handle(delivered)
        assert seen == [EVENT] * 3, "every attempt gets the event as delivered"
        assert delivered == EVENT, "the caller's event is not changed either"
        assert result.end_state == "manual" and result.inbox_item is not None
        item = ledger.inbox_item(result.inbox_item.id)
        assert item.context["event"] == EVENT

    # the stored event is retried as it was delivered, by a flow file a person passes
    (tmp_path / "flow.py").write_text(
        "from harness import Flow, Policy, RetryPolicy, get_trigger\n"
        "def handle(event):\n"
        "    assert event['objectId'] == 1234567 and event['sourceId'] == 'userId:1234', event\n"
        "    return {'status': 'ok'}\n"
        "flow = Flow(name='hostile_events', automation=handle,\n"
        "            trigger=get_trigger('hubspot.deal.closedwon'),\n"
        "            dedupe_key=lambda e: f\"deal:{e['objectId']}:{e['sourceId']}\")\n"
    )
    monkeypatch.setenv("USER", "ana")
    capsys.readouterr()
    code = main(["inbox", "retry", result.inbox_item.id, "--flow", str(tmp_path / "flow.py"), "--ledger", url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"retried inbox item {result.inbox_item.id} as run " in out and out.rstrip().endswith(": succeeded")
