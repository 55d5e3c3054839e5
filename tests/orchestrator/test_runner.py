"""The orchestrator recovers fragile automations or hands them to a person with context."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from _orch_fakes import fail_once
from _orch_support import Recorder, invoices, make_flow, order

from harness import Contract, Field, Policy, RetryPolicy, VirtualClock, WriteContract
from harness.ledger.records import END_STATES, EVENT_KINDS
from harness.orchestrator import DeliveryInfo, Orchestrator, RunResult
from harness.policy import BreakerPolicy, TimeoutPolicy
from harness.systems import World

Make = Callable[..., Orchestrator]


def kinds(result: RunResult) -> list[str]:
    return [e.kind for e in result.run.events]


def test_timeout_after_the_invoice_was_created_ends_with_exactly_one_invoice(
    world: World, orchestrate: Make
) -> None:
    """Stripe creates the invoice, the client times out: the retry must not bill twice."""
    world.interceptors.append(fail_once("POST", "/v1/invoices", "timeout_after"))
    orch = orchestrate(make_flow("bill"))
    with world.activate():
        result = orch.handle(order())
    assert result.end_state == "succeeded"
    assert len(invoices(world)) == 1
    assert len(world.system("stripe").records()["customer"]) == 1
    assert len(world.system("zendesk").tickets) == 1
    run = result.run
    assert run.attempts >= 2 and run.errors >= 1 and run.error_class == "transient"
    assert run.first_error_at is not None and run.recovered_at is not None
    assert run.recovered_at >= run.first_error_at
    faults = [e.fault for e in run.events if e.kind == "call" and e.fault]
    assert faults == ["timeout_after"]


def test_bare_automation_bills_twice_on_the_same_fault(world: World) -> None:
    """The control experiment: without the orchestrator the automation's own retry duplicates."""
    from _orch_automations import bill

    world.interceptors.append(fail_once("POST", "/v1/invoices", "timeout_after"))
    with world.activate(), pytest.raises(Exception):  # noqa: B017, PT011 - the automation's own error
        bill(order())
    world.interceptors.clear()
    with world.activate():
        bill(order())
    assert len(invoices(world)) == 2


def test_zendesk_create_lost_after_acting_is_not_repeated(world: World, orchestrate: Make) -> None:
    world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "timeout_after"))
    orch = orchestrate(make_flow("bill"))
    with world.activate():
        result = orch.handle(order())
    assert result.end_state == "succeeded"
    assert len(world.system("zendesk").tickets) == 1
    guards = [e for e in result.run.events if e.detail.get("guard") == "search-before-create"]
    assert len(guards) == 1
    assert len(invoices(world)) == 1


def test_missing_timeout_gets_the_default_and_is_reported(world: World, orchestrate: Make) -> None:
    world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "stall"))
    flow = make_flow("bill", policy=Policy(timeouts=TimeoutPolicy(call=7.0)))
    with world.activate():
        result = orchestrate(flow).handle(order())
    assert result.end_state == "succeeded"
    defaulted = [e for e in result.run.events if e.kind == "timeout_defaulted"]
    assert defaulted and defaulted[0].detail["timeout"] == 7.0
    assert defaulted[0].system == "zendesk"
    ticket_calls = [c for c in world.calls if c.system == "zendesk"]
    assert all(c.timeout is not None and c.timeout <= 7.0 for c in ticket_calls)


def test_trigger_contract_violation_goes_to_the_inbox_unretried(
    world: World, orchestrate: Make, recorder: Recorder
) -> None:
    with world.activate():
        result = orchestrate(make_flow("bill")).handle(order(email="not-an-email"))
    assert result.end_state == "manual"
    assert world.calls == []
    assert "attempt" not in kinds(result)
    item = result.inbox_item
    assert item is not None and item.error_class == "logical"
    assert item.context["violations"] == [
        {"field": "email", "value": "not-an-email", "rule": "required; an email address"}
    ]
    violation = next(e for e in result.run.events if e.kind == "contract_violation")
    assert violation.detail["field"] == "email" and violation.detail["value"] == "not-an-email"
    assert recorder.items == [item]


def test_write_contract_violation_stops_the_write_and_lists_partial_effects(
    world: World, orchestrate: Make
) -> None:
    """A zero amount would bill nothing: the write contract catches it before Stripe sees it."""
    flow = make_flow(
        "bill",
        write_contracts=(
            WriteContract(
                "stripe",
                "POST",
                r"/v1/invoiceitems",
                Contract((Field("amount", "int", pattern=r"[1-9][0-9]*"),)),
            ),
        ),
    )
    with world.activate():
        result = orchestrate(flow).handle(order(amount="0"))
    assert result.end_state == "manual"
    assert result.run.attempts == 1 and result.run.retries == 0
    assert world.system("stripe").records()["invoiceitem"] == []
    item = result.inbox_item
    assert item is not None
    assert item.context["violations"] == [
        {"field": "amount", "value": "0", "rule": "required; an integer; matching /[1-9][0-9]*/"}
    ]
    effects = item.context["partial_effects"]
    assert [(e["system"], e["method"], e["url"]) for e in effects] == [
        ("stripe", "POST", "https://api.stripe.com/v1/customers")
    ]
    assert effects[0]["id"].startswith("cus_")
    error = next(e for e in result.run.events if e.kind == "error")
    assert error.system == "stripe" and error.error_class == "logical"


def test_exhausted_retries_hand_over_every_attempt_and_the_last_exchange(
    world: World, orchestrate: Make
) -> None:
    world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "status", times=99))
    flow = make_flow(
        "bill",
        runbook="Create the ticket by hand.",
        policy=Policy(retry=RetryPolicy(max_attempts=3, base_delay=1.0)),
    )
    with world.activate():
        result = orchestrate(flow).handle(order())
    assert result.end_state == "manual"
    assert result.run.attempts == 3 and result.run.retries == 2
    item = result.inbox_item
    assert item is not None and "retries exhausted after 3 attempts" in item.reason
    ctx = item.context
    assert [a["number"] for a in ctx["attempts"]] == [1, 2, 3]
    assert all(a["error_class"] == "transient" for a in ctx["attempts"])
    assert ctx["last_request"]["url"] == "https://acme.zendesk.com/api/v2/tickets.json"
    assert ctx["last_response"]["status"] == 503
    assert ctx["runbook"] == "Create the ticket by hand."
    # secrets never leave memory: basic auth of the desk and Stripe's key are redacted
    dumped = json.dumps(ctx)
    assert "zd-secret-token" not in dumped and "4eC39HqLyjWDarjtT1zdp7dc" not in dumped
    assert ["Authorization", "[redacted]"] in ctx["last_request"]["headers"]
    # the partial effects are the three Stripe writes, once each, though replayed twice
    assert [e["url"].rsplit("/", 1)[1] for e in ctx["partial_effects"]] == [
        "customers",
        "invoiceitems",
        "invoices",
    ]
    assert len(invoices(world)) == 1


def test_retry_after_is_honoured(world: World, orchestrate: Make, clock: VirtualClock) -> None:
    world.interceptors.append(
        fail_once("POST", "/v1/customers", "status", status=429, retry_after="30", times=3)
    )
    flow = make_flow("bill", policy=Policy(retry=RetryPolicy(base_delay=0.1, max_delay=1.0)))
    with world.activate():
        result = orchestrate(flow).handle(order())
    # the automation retries 429 itself three times; ours waits as Stripe asked
    assert result.end_state == "succeeded"
    scheduled = [e for e in result.run.events if e.kind == "retry_scheduled"]
    assert scheduled and all(e.detail["delay"] >= 30 for e in scheduled)
    assert scheduled[0].detail["retry_after"] == 30


def test_logical_http_error_is_not_retried(world: World, orchestrate: Make) -> None:
    world.interceptors.append(fail_once("POST", "/v1/invoices", "status", status=402, times=99))
    with world.activate():
        result = orchestrate(make_flow("bill")).handle(order())
    assert result.end_state == "manual"
    assert result.run.attempts == 1 and "retry_scheduled" not in kinds(result)
    assert result.run.error_class == "logical"


def test_business_rule_error_is_unknown_and_goes_to_a_person(
    world: World, orchestrate: Make
) -> None:
    with world.activate():
        result = orchestrate(make_flow("reject_big")).handle(order(amount="5000"))
    assert result.end_state == "manual"
    assert result.run.error_class == "unknown" and result.run.attempts == 1


def test_swallowed_failed_write_is_not_reported_as_success(
    world: World, orchestrate: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "status", status=503))
    with world.activate():
        result = orchestrate(make_flow("bill_swallowing")).handle(order())
    # attempt 1 swallowed the 503; attempt 2 made the ticket; nothing was billed twice
    assert result.end_state == "succeeded"
    assert result.run.attempts == 2
    error = next(e for e in result.run.events if e.kind == "error")
    assert error.detail["type"] == "SwallowedFailure"
    assert len(world.system("zendesk").tickets) == 1
    assert len(invoices(world)) == 1


def test_duplicate_delivery_is_suppressed_and_returns_the_first_result(
    world: World, orchestrate: Make
) -> None:
    orch = orchestrate(make_flow("bill"))
    with world.activate():
        first = orch.handle(order(event_id=1))
        second = orch.handle(
            order(event_id=2),
            delivery=DeliveryInfo(campaign_id="c1", delivery=1, delivery_kind="redelivery", is_duplicate=True),
        )
    assert second.end_state == "suppressed" and second.value == first.value
    assert second.run.mode == "orchestrated" and second.run.is_duplicate
    assert second.run.error_class == "duplicate" and second.run.attempts == 0
    event = next(e for e in second.run.events if e.kind == "duplicate_suppressed")
    assert event.detail == {"key": "order:7", "first_run": first.run.id, "policy": "return-existing"}
    assert len(invoices(world)) == 1


def test_reject_policy_returns_nothing_for_a_duplicate(world: World, orchestrate: Make) -> None:
    from harness.policy import DedupePolicy

    orch = orchestrate(make_flow("bill", policy=Policy(dedupe=DedupePolicy(on_duplicate="reject"))))
    with world.activate():
        orch.handle(order())
        second = orch.handle(order())
    assert second.end_state == "suppressed" and second.value is None


def test_breaker_opens_then_runs_wait_and_a_probe_closes_it(
    world: World, orchestrate: Make, clock: VirtualClock
) -> None:
    outage_until = clock.now() + 100.0

    def outage(req: Any, ctx: Any, call_next: Any) -> Any:
        from harness._shared.wire import Response

        if req.host == "acme.zendesk.com" and clock.now() < outage_until:
            ctx.fault = "outage"
            return Response.of_json(503, {"error": "down"})
        return call_next(req)

    world.interceptors.append(outage)
    flow = make_flow(
        "bill",
        policy=Policy(
            retry=RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=5.0),
            breaker=BreakerPolicy(failures=3, window=60.0, cooldown=30.0, max_wait=600.0),
        ),
    )
    orch = orchestrate(flow)
    with world.activate():
        result = orch.handle(order())
    assert result.end_state == "succeeded"
    breaker_states = [e.detail["state"] for e in result.run.events if e.kind == "breaker"]
    assert breaker_states[0] == "open" and breaker_states[-1] == "closed"
    waits = [e for e in result.run.events if e.kind == "waiting"]
    assert waits and all(e.system == "zendesk" for e in waits)
    zendesk_calls = [c for c in world.calls if c.system == "zendesk"]
    # with the breaker the desk saw few calls during the 100 s outage, not one per backoff
    assert len([c for c in zendesk_calls if c.fault == "outage"]) <= 6
    assert orch.breakers.states()["zendesk"] == "closed"


def test_breaker_wait_is_bounded(world: World, orchestrate: Make) -> None:
    world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "status", times=999))
    flow = make_flow(
        "bill",
        policy=Policy(
            retry=RetryPolicy(max_attempts=20, base_delay=1.0, max_delay=2.0, deadline=3600),
            breaker=BreakerPolicy(failures=2, window=60.0, cooldown=50.0, max_wait=120.0),
        ),
    )
    with world.activate():
        result = orchestrate(flow).handle(order())
    assert result.end_state == "manual"
    errors = [e.detail["type"] for e in result.run.events if e.kind == "error"]
    assert "CircuitOpen" in errors
    waited = sum(e.detail["seconds"] for e in result.run.events if e.kind == "waiting")
    assert waited <= 120.0


def test_run_deadline_bounds_the_whole_run(world: World, orchestrate: Make, clock: VirtualClock) -> None:
    world.interceptors.append(fail_once("POST", "/v1/customers", "reset", times=999))
    flow = make_flow(
        "bill",
        policy=Policy(retry=RetryPolicy(max_attempts=100, base_delay=10.0, max_delay=60.0, deadline=300.0)),
    )
    start = clock.now()
    with world.activate():
        result = orchestrate(flow).handle(order())
    assert result.end_state == "manual"
    assert "deadline" in result.inbox_item.reason  # type: ignore[union-attr]
    assert clock.now() - start <= 300.0 + 1e-6


@pytest.mark.parametrize("automation", ["bill_httpx", "bill_async"])
def test_httpx_clients_are_hooked_too(world: World, orchestrate: Make, automation: str) -> None:
    world.interceptors.append(fail_once("POST", "/v1/invoices", "timeout_after"))
    with world.activate():
        result = orchestrate(make_flow(automation)).handle(order())
    assert result.end_state == "succeeded"
    assert len(invoices(world)) == 1
    keyed = [c for c in world.calls if c.request.header("Idempotency-Key")]
    assert len(keyed) == len([c for c in world.calls if c.method == "POST"])


def test_every_event_kind_is_known_and_seq_is_dense(world: World, orchestrate: Make) -> None:
    world.interceptors.append(fail_once("POST", "/v1/invoices", "timeout_after"))
    with world.activate():
        result = orchestrate(make_flow("bill")).handle(order())
    assert {e.kind for e in result.run.events} <= set(EVENT_KINDS)
    assert [e.seq for e in result.run.events] == list(range(1, len(result.run.events) + 1))
    assert result.run.events[0].kind == "delivery" and result.run.events[-1].kind == "end"
    assert result.run.end_state in END_STATES
    assert result.run.calls == len(world.calls)


def test_outside_a_run_the_clients_are_untouched(world: World, orchestrate: Make) -> None:
    import requests

    orchestrate(make_flow("bill"))  # installs the hook
    with world.activate():
        resp = requests.post(
            "https://api.stripe.com/v1/customers",
            data={"email": "a@example.com"},
            auth=("sk_test_" + "x" * 24, ""),
        )
    assert resp.status_code == 200
    assert world.calls[0].request.header("Idempotency-Key") is None
    assert world.calls[0].timeout is None


def test_interrupted_run_is_recorded_failed_and_reraised(
    world: World, orchestrate: Make, recorder: Recorder
) -> None:
    def interrupted(event: Any) -> Any:
        raise KeyboardInterrupt

    calls = iter([interrupted])

    def automation(event: Any) -> Any:
        from _orch_automations import bill

        return next(calls, bill)(event)

    orch = orchestrate(make_flow(automation))
    with world.activate(), pytest.raises(KeyboardInterrupt):
        orch.handle(order())
    assert [r.end_state for r in recorder.runs] == ["failed"]
    assert recorder.runs[0].events[-1].kind == "end"
    # the interrupted run gave its dedupe key back: the redelivery runs, it is not suppressed
    with world.activate():
        again = orch.handle(order())
    assert again.end_state == "succeeded"


def test_memory_dedupe_forgets_keys_after_the_retention() -> None:
    from harness.orchestrator import MemoryDedupe

    now = [0.0]
    store = MemoryDedupe(retention=60.0, now=lambda: now[0])
    assert store.claim("k", "r1") is None
    assert store.claim("k", "r2") == "r1"
    now[0] = 61.0
    assert store.claim("k", "r2") is None
    store.release("k", "r1")  # not the holder: nothing happens
    assert store.claim("k", "r3") == "r2"


def test_a_hook_error_swallowed_by_the_automation_still_fails_the_attempt(
    world: World, orchestrate: Make
) -> None:
    import requests

    def careless(event: Any) -> Any:
        with contextlib.suppress(Exception):  # "billing is optional"
            requests.post(
                "https://api.stripe.com/v1/customers",
                data={"email": "not-an-email"},
                auth=("sk_test_" + "x" * 24, ""),
                timeout=5,
            )
        return {"status": "ok"}

    flow = make_flow(
        careless,
        write_contracts=(
            WriteContract("stripe", "POST", r"/v1/customers", Contract((Field("email", "email"),))),
        ),
    )
    with world.activate():
        result = orchestrate(flow).handle(order())
    assert result.end_state == "manual" and result.run.error_class == "logical"
    assert world.calls == []  # the bad write never left the process


def test_attempt_deadline_stops_a_slow_attempt_and_the_retry_finishes(
    world: World, orchestrate: Make, clock: VirtualClock
) -> None:
    slow = [3]

    def sluggish(req: Any, ctx: Any, call_next: Any) -> Any:
        if slow[0] > 0 and req.method == "POST":
            slow[0] -= 1
            ctx.fault = "slow"
            clock.advance(40.0)
        return call_next(req)

    world.interceptors.append(sluggish)
    flow = make_flow("bill", policy=Policy(timeouts=TimeoutPolicy(attempt=100.0)))
    with world.activate():
        result = orchestrate(flow).handle(order())
    assert result.end_state == "succeeded"
    errors = [e.detail["type"] for e in result.run.events if e.kind == "error"]
    assert errors == ["AttemptDeadlineExceeded"]
    assert len(invoices(world)) == 1


def test_secrets_in_urls_and_headers_never_reach_the_run_or_the_inbox(
    world: World, orchestrate: Make, caplog: pytest.LogCaptureFixture
) -> None:
    import requests

    secret = "S3CRETVALUE-0123456789"

    def leaky(event: Any) -> Any:
        resp = requests.get(
            f"https://acme.zendesk.com/api/v2/nothing.json?api_token={secret}",
            headers={"X-Api-Key": secret},
            timeout=5,
        )
        resp.raise_for_status()
        return {"status": "ok"}

    caplog.set_level("DEBUG", logger="harness.orchestrator")
    with world.activate():
        result = orchestrate(make_flow(leaky)).handle(order())
    assert result.end_state == "manual"
    stored = json.dumps(
        {
            "events": [dict(e.detail) for e in result.run.events],
            "run": dict(result.run.detail),
            "item": dict(result.inbox_item.context),  # type: ignore[union-attr]
            "reason": result.inbox_item.reason,  # type: ignore[union-attr]
        }
    )
    assert secret not in stored and "[redacted]" in stored
    assert secret not in caplog.text


def test_an_event_that_is_not_an_object_goes_to_the_inbox(world: World, orchestrate: Make) -> None:
    with world.activate():
        result = orchestrate(make_flow("bill")).handle(["not", "an", "event"])  # type: ignore[arg-type]
    assert result.end_state == "manual"
    assert result.inbox_item is not None
    assert result.inbox_item.context["event"] == ["not", "an", "event"]
    assert result.inbox_item.context["violations"][0]["rule"] == "a JSON object"


def test_without_delivery_information_a_suppressed_run_counts_as_a_duplicate(
    world: World, orchestrate: Make
) -> None:
    orch = orchestrate(make_flow("bill"))
    with world.activate():
        first = orch.handle(order())
        second = orch.handle(order())
    assert first.run.mode == "production" and not first.run.is_duplicate
    assert second.run.is_duplicate and second.run.delivery_kind == "duplicate"
