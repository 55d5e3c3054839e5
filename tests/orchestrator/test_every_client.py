"""Every supported client gets the orchestrator's protections (issue 14): keys, call events, the guard.

Each automation in ``_client_automations`` makes the same two writes through
one client, with no key, no search and no retry of its own.  Played in
orchestrated mode, as a campaign plays it.
"""

from __future__ import annotations

from typing import Any

import _client_automations as autos
import pytest

from harness.chaos import Deliver, InjectFault, Scenario, Target
from harness.flow import Flow
from harness.triggers import get_trigger

SEED = 5
CLIENTS = ("with_requests", "with_urllib3", "with_urllib", "with_httpx", "with_async_httpx", "with_aiohttp")


def _play(name: str, *steps: object) -> Any:
    flow = Flow(name=name, automation=getattr(autos, name), trigger=get_trigger("hubspot.deal.closedwon"))
    return Target(flow, seed=SEED).run(Scenario(SEED, tuple(steps), noun="deal"), "orchestrated")  # type: ignore[arg-type]


def _sent(run: Any, system: str, method: str = "POST") -> list[Any]:
    return [c for c in run.world.calls if c.system == system and c.method == method]


@pytest.mark.parametrize("name", CLIENTS)
def test_a_stripe_post_gets_an_idempotency_key_and_every_call_is_an_event(name: str) -> None:
    run = _play(name, Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "succeeded", d.error
    (create,) = _sent(run, "stripe")
    assert (create.request.header("Idempotency-Key") or "").startswith("harness-"), create.request.headers
    # the world saw two writes; the run's timeline has one call event for each, in order
    calls = [e for e in d.run.events if e.kind == "call"]
    assert [(e.system, e.detail["method"]) for e in calls] == [("stripe", "POST"), ("zendesk", "POST")]
    assert calls[0].detail.get("idempotency_key") is True


@pytest.mark.parametrize("name", CLIENTS)
def test_a_ticket_create_lost_after_the_desk_acted_is_found_by_the_guard_not_made_twice(name: str) -> None:
    run = _play(name, InjectFault("zendesk", "POST /api/v2/tickets.json", "execute_then_timeout"), Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "succeeded", (d.end_state, d.error)
    assert len(run.world.system("zendesk").records()["ticket"]) == 1
    assert len(_sent(run, "zendesk")) == 1  # the retry searched instead of creating again
    assert any("external_id=deal-" in c.url for c in _sent(run, "zendesk", "GET"))
    guard = [e for e in d.run.events if e.kind == "call" and e.detail.get("guard")]
    assert guard and guard[0].detail["guard"] == "search-before-create"
    # the Stripe customer of the first attempt was answered from the journal, not made again
    assert len(_sent(run, "stripe")) == 1


@pytest.mark.parametrize("name", ["reads_concurrently", "reads_concurrently_aiohttp"])
def test_calls_made_concurrently_appear_in_the_timeline_in_the_order_they_happened(name: str) -> None:
    # the first read is slow: it is sent first and answered last
    run = _play(name, InjectFault("stripe", "GET /v1/customers", "slow", (("seconds", 3.0),)), Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "succeeded", d.error
    calls = [e for e in d.run.events if e.kind == "call"]
    # the world logs each request as it is sent: the timeline's call events follow that order
    assert [(e.detail["method"], e.detail["url"]) for e in calls] == [(c.method, c.url) for c in run.world.calls]
    assert [e.detail["url"].rsplit("/", 1)[1] for e in calls] == ["customers", "invoices", "products", "customers"]
    assert calls[0].detail["latency"] == 3.0
    assert [e.at for e in calls] == sorted(e.at for e in calls)


@pytest.mark.parametrize("name", ["resends_with_requests", "resends_with_urllib3"])
def test_a_urllib3_retry_does_not_resend_a_post_whose_outcome_is_unknown(name: str) -> None:
    # bare, urllib3's Retry(allowed_methods=None) sends the ticket again after the lost answer
    bare = Target(Flow(name=name, automation=getattr(autos, name), trigger=get_trigger("hubspot.deal.closedwon")),
                  seed=SEED).run(Scenario(SEED, (InjectFault("zendesk", "POST /api/v2/tickets.json",
                                                             "execute_then_timeout"), Deliver(0)), noun="deal"), "bare")
    assert len(_sent(bare, "zendesk")) == 2
    run = _play(name, InjectFault("zendesk", "POST /api/v2/tickets.json", "execute_then_timeout"), Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "manual", (d.end_state, d.error)
    assert len(_sent(run, "zendesk")) == 1  # not by urllib3's Retry, not by a retry of the run
    assert "neither idempotency keys nor a search-before-create guard" in str(d.run.detail.get("reason"))


def test_a_urllib3_retry_does_not_resend_a_guarded_create_either_the_next_attempt_searches() -> None:
    # the ticket carries its external_id: the guard can find it, but only before the hook's
    # next send, so urllib3 must not re-send it between its own tries
    run = _play("guarded_resends_with_requests",
                InjectFault("zendesk", "POST /api/v2/tickets.json", "execute_then_timeout"), Deliver(0))
    (d,) = run.deliveries
    assert d.end_state == "succeeded", (d.end_state, d.error)
    assert len(_sent(run, "zendesk")) == 1
    assert len(run.world.system("zendesk").records()["ticket"]) == 1
