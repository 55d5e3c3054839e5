"""``harness serve``'s app: 401 stores nothing, 202 only after the durable accept, workers finish."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _serve_support import deal_event, deal_flow, order_flow
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from harness.cli import main
from harness.ledger import Ledger
from harness.ledger.runqueue import RunQueue
from harness.serve import create_app, sign
from harness.systems import World

SECRETS = {"HARNESS_WEBHOOK_SECRET": "generic-secret", "HUBSPOT_CLIENT_SECRET": "hubspot-secret"}


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def app(sqlite_ledger: Ledger) -> Iterator[Starlette]:
    app = create_app(
        [order_flow(), deal_flow()], ledger=sqlite_ledger, secrets=SECRETS, poll=0.05, worker_mode="threads"
    )
    yield app
    app.state.harness.stop()


def footprint(ledger: Ledger) -> tuple[int, ...]:
    info = ledger.info()
    return (info.runs, info.events, info.inbox_open, len(RunQueue(ledger).runs()))


def test_a_bad_or_missing_signature_is_401_and_stores_nothing(app: Starlette, sqlite_ledger: Ledger) -> None:
    client = TestClient(app)
    body = json.dumps({"eventId": 1, "id": 1, "email": "a@example.com"}).encode()
    before = footprint(sqlite_ledger)
    for headers in ({}, sign("generic", "wrong-secret", body=body), {"X-Hub-Signature-256": "md5=abc"}):
        resp = client.post("/hooks/orders", content=body, headers=headers)
        assert resp.status_code == 401, resp.text
        assert "nothing stored" in resp.json()["error"]
    tampered = sign("generic", "generic-secret", body=body)
    resp = client.post("/hooks/orders", content=body.replace(b"a@", b"e@"), headers=tampered)
    assert resp.status_code == 401
    assert footprint(sqlite_ledger) == before
    with sqlite_ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM dedupe_keys").scalar() == 0


def test_a_signed_delivery_is_stored_before_its_202_and_a_worker_runs_it(
    app: Starlette, sqlite_ledger: Ledger, world: World
) -> None:
    client = TestClient(app)
    body = json.dumps({"eventId": 7, "id": 7, "email": "buyer@example.com"}).encode()
    resp = client.post("/hooks/orders", content=body, headers=sign("generic", "generic-secret", body=body))
    assert resp.status_code == 202, resp.text
    (accepted,) = resp.json()["accepted"]
    queue = RunQueue(sqlite_ledger)
    assert queue.get(accepted["run_id"]).event == json.loads(body)  # stored as delivered
    wait_for("the worker to finish the run", lambda: queue.get(accepted["run_id"]).state == "succeeded")
    assert len(world.system("stripe").records()["customer"]) == 1
    # the same delivery again: a true duplicate, suppressed, no second customer
    resp = client.post("/hooks/orders", content=body, headers=sign("generic", "generic-secret", body=body))
    (again,) = resp.json()["accepted"]
    wait_for("the duplicate to end", lambda: queue.get(again["run_id"]).state == "suppressed")
    assert len(world.system("stripe").records()["customer"]) == 1


def test_hubspot_batches_are_one_run_per_event_and_the_signed_url_survives_a_mount(
    sqlite_ledger: Ledger, world: World
) -> None:
    inner = create_app([deal_flow()], ledger=sqlite_ledger, secrets=SECRETS, poll=0.05, worker_mode="threads")
    outer = Starlette(routes=[Mount("/integrations", app=inner)])
    client = TestClient(outer, base_url="https://crm-hooks.example.com")
    body = json.dumps([deal_event(11, 1), deal_event(12, 2)]).encode()
    url = "https://crm-hooks.example.com/integrations/hooks/deal_won"
    try:
        resp = client.post(url, content=body, headers=sign("hubspot", "hubspot-secret", body=body, url=url))
        assert resp.status_code == 202, resp.text
        ids = [a["run_id"] for a in resp.json()["accepted"]]
        assert len(ids) == 2
        queue = RunQueue(sqlite_ledger)
        wait_for("both runs", lambda: all(queue.get(i).state == "succeeded" for i in ids))
        stale = sign("hubspot", "hubspot-secret", body=body, url=url, now=time.time() - 600)
        assert client.post(url, content=body, headers=stale).status_code == 401
    finally:
        inner.state.harness.stop()


def test_healthz_and_metrics_read_the_ledger(app: Starlette, sqlite_ledger: Ledger, world: World) -> None:
    client = TestClient(app)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["flows"] == ["deal_won", "orders"]
    body = json.dumps({"eventId": 8, "id": 8, "email": "m@example.com"}).encode()
    resp = client.post("/hooks/orders", content=body, headers=sign("generic", "generic-secret", body=body))
    run_id = resp.json()["accepted"][0]["run_id"]
    wait_for("the run", lambda: RunQueue(sqlite_ledger).get(run_id).state == "succeeded")
    client.post("/hooks/orders", content=body, headers={})
    text = client.get("/metrics").text
    assert 'harness_runs{flow="orders",state="succeeded"} 1.0' in text
    assert 'harness_retries_waiting{flow="orders"} 0.0' in text
    assert 'harness_inbox_open{flow="orders"} 0.0' in text
    assert 'harness_deliveries_total{flow="orders",outcome="bad_signature"} 1.0' in text
    assert 'harness_ack_seconds_count{flow="orders"} 1.0' in text


def test_unknown_flow_and_bad_json_are_refused_and_nothing_is_stored(app: Starlette, sqlite_ledger: Ledger) -> None:
    client = TestClient(app)
    assert client.post("/hooks/nope", content=b"{}").status_code == 404
    body = b"not json"
    resp = client.post("/hooks/orders", content=body, headers=sign("generic", "generic-secret", body=body))
    assert resp.status_code == 400 and "not JSON" in resp.json()["error"]
    assert RunQueue(sqlite_ledger).runs() == []


def test_serve_without_its_secret_is_a_usage_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HUBSPOT_CLIENT_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)
    code = main(["serve", "--flow", str(Path(__file__).parents[2] / "scenarios/deal_won/flow.py")])
    assert code == 2
    assert "$HUBSPOT_CLIENT_SECRET" in capsys.readouterr().err
    assert not (tmp_path / ".harness").exists()  # nothing written


VENDOR_FLOWS = {
    # scheme: (the trigger whose system picks it, the secret's variable)
    "hubspot": ("hubspot.deal.closedwon", "HUBSPOT_CLIENT_SECRET"),
    "stripe": ("stripe.invoice.paid", "STRIPE_WEBHOOK_SECRET"),
    "shopify": ("shopify.orders.create", "SHOPIFY_CLIENT_SECRET"),
    "zendesk": ("zendesk.ticket.created", "ZENDESK_WEBHOOK_SECRET"),
    "generic": ("", "HARNESS_WEBHOOK_SECRET"),
}


def ledger_rows(ledger: Ledger) -> dict[str, int]:
    with ledger.engine.connect() as conn:
        return {
            table: int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)
            for table in ("runs", "events", "inbox_items", "run_queue", "dedupe_keys")
        }


@pytest.mark.parametrize("scheme", sorted(VENDOR_FLOWS))
def test_each_vendors_bad_signature_is_401_and_leaves_every_ledger_table_as_it_was(
    scheme: str, sqlite_ledger: Ledger, world: World
) -> None:
    from harness import Flow
    from harness.triggers import get_trigger

    trigger_name, variable = VENDOR_FLOWS[scheme]
    if trigger_name:
        trigger = get_trigger(trigger_name)
        flow = Flow(name="vendor", automation=lambda event: {"status": "ok"}, trigger=trigger, dedupe_key=None)
        event = dict(trigger.example)
    else:
        flow = order_flow("vendor")
        event = {"eventId": 1, "id": 1, "email": "a@example.com"}
    app = create_app([flow], ledger=sqlite_ledger, secrets={variable: "right"}, worker_mode="threads", poll=0.05)
    client = TestClient(app, base_url="https://hooks.example.com")
    url = "https://hooks.example.com/hooks/vendor"
    body = json.dumps(event).encode()
    try:
        before = ledger_rows(sqlite_ledger)
        bad = [
            {},  # no signature at all
            sign(scheme, "wrong", body=body, url=url),  # another secret
        ]
        if scheme in ("hubspot", "stripe", "zendesk"):  # the schemes that sign a timestamp
            bad.append(sign(scheme, "right", body=body, url=url, now=time.time() - 3600))  # an hour old
        for headers in bad:
            resp = client.post(url, content=body, headers=headers)
            assert resp.status_code == 401, (headers, resp.text)
        tampered = client.post(url, content=body + b" ", headers=sign(scheme, "right", body=body, url=url))
        assert tampered.status_code == 401
        assert ledger_rows(sqlite_ledger) == before
        # the same delivery signed as the vendor signs it is accepted (the 401s were the signature's)
        good = client.post(url, content=body, headers=sign(scheme, "right", body=body, url=url))
        assert good.status_code == 202, good.text
        assert ledger_rows(sqlite_ledger)["run_queue"] == before["run_queue"] + 1
    finally:
        app.state.harness.stop()
