"""Vendor SDKs run unmodified under the orchestrator, their calls hooked (issue 14).

The bare-mode SDK tests live in ``tests/systems``; here each SDK call passes
the orchestrator's hook: a call event per request, the SDK's own idempotency
key left alone, the guard and the inbox rule applied to its writes.
"""

from __future__ import annotations

from typing import Any

import _sdk_automations as autos
import pytest

from harness.chaos import Deliver, InjectFault, Scenario, Target
from harness.flow import Flow
from harness.triggers import get_trigger

SEED = 5


def _play(fn: Any, *steps: object) -> Any:
    flow = Flow(name=fn.__name__, automation=fn, trigger=get_trigger("hubspot.deal.closedwon"))
    return Target(flow, seed=SEED).run(Scenario(SEED, tuple(steps), noun="deal"), "orchestrated")  # type: ignore[arg-type]


def _calls(d: Any) -> list[Any]:
    return [e for e in d.run.events if e.kind == "call"]


def _sent(run: Any, system: str, method: str = "POST") -> list[Any]:
    return [c for c in run.world.calls if c.system == system and c.method == method]


def test_stripe_sdk_retry_keeps_its_own_idempotency_key_and_makes_one_customer() -> None:
    run = _play(autos.stripe_customer, InjectFault("stripe", "POST /v1/customers", "execute_then_timeout"), Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "succeeded", d.error
    sent = _sent(run, "stripe")
    assert len(sent) == 2  # the SDK's own retry (max_network_retries) after the lost answer
    keys = {c.request.header("Idempotency-Key") for c in sent}
    assert len(keys) == 1
    (key,) = keys
    assert key and not key.startswith("harness-")  # the SDK's key, not overridden
    assert len(run.world.system("stripe").records()["customer"]) == 1
    assert [e.outcome for e in _calls(d)] == ["unknown", "ok"]


def test_hubspot_sdk_task_create_lost_after_hubspot_acted_goes_to_the_inbox() -> None:
    run = _play(autos.hubspot_task, InjectFault("hubspot", "POST /crm/v3/objects/tasks", "execute_then_timeout"),
                Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "manual", (d.end_state, d.error)
    assert len(_sent(run, "hubspot")) == 1  # never re-sent: HubSpot has neither keys nor a guard for it
    assert "neither idempotency keys nor a search-before-create guard" in str(d.run.detail.get("reason"))
    assert [(e.system, e.outcome) for e in _calls(d)] == [("hubspot", "unknown")]


def test_zenpy_ticket_lost_after_the_desk_acted_is_found_by_the_guard() -> None:
    run = _play(autos.zenpy_ticket, InjectFault("zendesk", "POST /api/v2/tickets.json", "execute_then_timeout"),
                Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "succeeded", (d.end_state, d.error)
    assert len(_sent(run, "zendesk")) == 1
    assert len(run.world.system("zendesk").records()["ticket"]) == 1
    assert any(e.detail.get("guard") == "search-before-create" for e in _calls(d))


@pytest.mark.parametrize("fn", [autos.slack_post, autos.slack_post_async], ids=["WebClient", "AsyncWebClient"])
def test_slack_sdk_post_after_a_503_is_retried_by_the_orchestrator_and_posted_once(fn: Any) -> None:
    run = _play(fn, InjectFault("slack", "POST /api/chat.postMessage", "server_error", (("status", 503),)),
                Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "succeeded", (d.end_state, d.error)
    assert [c.status for c in _sent(run, "slack")] == [503, 200]
    assert [(e.system, e.status) for e in _calls(d)] == [("slack", 503), ("slack", 200)]
    assert len([w for w in run.world.writes if w.kind == "message"]) == 1
