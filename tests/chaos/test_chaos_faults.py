"""Fault injectors at the transport boundary, seen through a real requests client."""

from __future__ import annotations

import pytest
import requests

from harness._shared.wire import VirtualClock
from harness.chaos import (
    STALL_CAP,
    FaultKind,
    TransportInjector,
    endpoint_of,
    fault_names,
    get_fault,
    register_fault,
    virtual_time,
)
from harness.errors import UsageError
from harness.systems import World, standard_world

STRIPE = "https://api.stripe.com"
AUTH = ("sk_test_faults", "")


def _world(*arm: tuple[str, str, str, dict[str, object], int]) -> tuple[World, VirtualClock, TransportInjector]:
    clock = VirtualClock()
    world = standard_world(1, clock=clock)
    injector = TransportInjector(clock, world)
    for name, system, endpoint, params, times in arm:
        injector.arm(get_fault(name), system, endpoint, params, times)
    world.interceptors.append(injector)
    return world, clock, injector


def test_every_fault_of_the_issue_is_registered() -> None:
    assert set(fault_names()) >= {
        "duplicate", "redelivery", "out_of_order", "bad_value", "server_error", "rate_limited",
        "client_error", "execute_then_timeout", "stall", "slow", "connection_reset", "outage",
    }


def test_an_unknown_fault_name_is_a_usage_error_naming_the_closest() -> None:
    with pytest.raises(UsageError, match=r"unknown fault 'stal' \(did you mean 'stall'\?\); known faults: "):
        get_fault("stal")


def test_registering_a_name_twice_fails_at_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_fault(FaultKind("stall", "trigger", "again"))


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("post", "/v1/invoices/in_1AbC23dEf/finalize", "POST /v1/invoices/{id}/finalize"),
        ("GET", "/crm/v3/objects/deals/10000000002", "GET /crm/v3/objects/deals/{id}"),
        ("POST", "/api/v2/tickets.json", "POST /api/v2/tickets.json"),
        ("PUT", "/api/v2/tickets/123.json", "PUT /api/v2/tickets/{id}.json"),
    ],
)
def test_endpoints_template_ids(method: str, path: str, expected: str) -> None:
    assert endpoint_of(method, path) == expected


def test_execute_then_timeout_acts_then_loses_the_answer() -> None:
    world, clock, injector = _world(("execute_then_timeout", "stripe", "POST /v1/customers", {}, 1))
    with world.activate(), virtual_time(clock):
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(f"{STRIPE}/v1/customers", data={"email": "a@b.co"}, auth=AUTH, timeout=15)
        # the next call is not faulted: times=1
        requests.post(f"{STRIPE}/v1/customers", data={"email": "a@b.co"}, auth=AUTH, timeout=15)
    creates = [w for w in world.writes if w.kind == "customer" and w.action == "create"]
    assert len(creates) == 2
    first = world.calls[0]
    assert (first.fault, first.executed, first.outcome, first.latency) == (
        "execute_then_timeout", True, "unknown", 15.0,
    )
    assert injector.injected == {"execute_then_timeout": 1}


def test_a_stall_times_out_a_client_with_a_timeout_after_that_many_virtual_seconds() -> None:
    world, clock, _ = _world(("stall", "stripe", "POST /v1/customers", {}, 1))
    with world.activate(), virtual_time(clock), pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{STRIPE}/v1/customers", data={"email": "a@b.co"}, auth=AUTH, timeout=7)
    assert clock.elapsed() == 7
    assert world.writes == []
    assert world.calls[0].outcome == "failed"


def test_a_stall_without_timeout_is_cut_after_the_cap_and_recorded() -> None:
    world, clock, _ = _world(("stall", "stripe", "POST /v1/customers", {}, 1))
    with (
        world.activate(),
        virtual_time(clock),
        pytest.raises(requests.exceptions.ReadTimeout) as raised,
    ):
        requests.post(f"{STRIPE}/v1/customers", data={"email": "a@b.co"}, auth=AUTH)
    # the client words its own exception (as on a network); the harness's explanation is
    # the socket error underneath it
    chain = []
    exc: BaseException | None = raised.value
    while exc is not None:
        chain.append(str(exc))
        exc = exc.__cause__ or exc.__context__ or (exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None)
    assert any("set no timeout" in text for text in chain), chain
    assert clock.elapsed() == STALL_CAP
    call = world.calls[0]
    assert call.timeout is None and call.fault == "stall"


def test_rate_limited_answers_429_in_stripes_shape_with_retry_after() -> None:
    world, clock, _ = _world(("rate_limited", "stripe", "*", {"retry_after": 30}, 1))
    with world.activate(), virtual_time(clock):
        resp = requests.get(f"{STRIPE}/v1/customers", auth=AUTH, timeout=5)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "30"
    assert resp.json()["error"]["type"]


def test_client_error_persists_and_speaks_the_vendors_language() -> None:
    world, clock, _ = _world(("client_error", "stripe", "POST /v1/customers", {"kind": "rejected"}, 1))
    with world.activate(), virtual_time(clock):
        statuses = [
            requests.post(f"{STRIPE}/v1/customers", data={"email": "a@b.co"}, auth=AUTH, timeout=5)
            for _ in range(3)
        ]
    assert [r.status_code for r in statuses] == [402, 402, 402]
    assert statuses[0].json()["error"]["code"] == "card_declined"


def test_an_outage_ends_when_its_window_of_virtual_time_has_passed() -> None:
    world, clock, _ = _world(("outage", "stripe", "*", {"seconds": 60}, 1))
    with world.activate(), virtual_time(clock):
        assert requests.get(f"{STRIPE}/v1/customers", auth=AUTH, timeout=5).status_code == 503
        clock.advance(30)
        assert requests.get(f"{STRIPE}/v1/invoices", auth=AUTH, timeout=5).status_code == 503
        clock.advance(31)
        assert requests.get(f"{STRIPE}/v1/customers", auth=AUTH, timeout=5).status_code == 200


def test_slow_below_the_timeout_answers_late_and_above_it_is_lost_after_acting() -> None:
    world, clock, _ = _world(
        ("slow", "stripe", "POST /v1/customers", {"seconds": 8}, 1),
        ("slow", "stripe", "POST /v1/customers", {"seconds": 30}, 1),
    )
    with world.activate(), virtual_time(clock):
        ok = requests.post(f"{STRIPE}/v1/customers", data={"email": "a@b.co"}, auth=AUTH, timeout=10)
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(f"{STRIPE}/v1/customers", data={"email": "c@d.co"}, auth=AUTH, timeout=10)
    assert ok.status_code == 200
    assert [c.latency for c in world.calls] == [8.0, 10.0]
    assert [c.outcome for c in world.calls] == ["ok", "unknown"]


def test_a_connection_reset_reaches_requests_as_a_connection_error() -> None:
    world, clock, _ = _world(("connection_reset", "stripe", "*", {}, 1))
    with (
        world.activate(),
        virtual_time(clock),
        pytest.raises(requests.exceptions.ConnectionError),
    ):
        requests.get(f"{STRIPE}/v1/customers", auth=AUTH, timeout=5)
    assert world.calls[0].fault == "connection_reset"
