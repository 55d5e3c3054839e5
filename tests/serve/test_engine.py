"""``harness serve --engine celery`` and ``harness worker``: dispatch through the broker, errors.

The crash campaign (``test_crash_engine.py``) runs real worker processes;
these tests check the pieces in process against the real Redis on
127.0.0.1:6379 (``.ci/run`` starts it).
"""

from __future__ import annotations

import base64
import json
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from _serve_support import order_flow
from starlette.testclient import TestClient

from harness.cli import main
from harness.ledger import Ledger
from harness.ledger.runqueue import RunQueue
from harness.serve import create_app, sign
from harness.serve._celery import CeleryDispatch, CeleryWorker, queue_name
from harness.systems import World

BROKER = "redis://127.0.0.1:6379/0"
SECRETS = {"HARNESS_WEBHOOK_SECRET": "generic-secret"}
FLOW = str(Path(__file__).resolve().parent / "_crash_flow.py")


@pytest.fixture
def prefix() -> Iterator[str]:
    """A queue prefix of this test's own (the broker is shared); its queues are deleted after."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(BROKER)
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)
    client.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_accepted_delivery_is_sent_to_its_flows_queue_and_run_by_no_thread_here(
    sqlite_ledger: Ledger, prefix: str
) -> None:
    app = create_app(
        [order_flow()], ledger=sqlite_ledger, secrets=SECRETS, dispatch=CeleryDispatch(BROKER, queue=prefix)
    )
    body = json.dumps({"eventId": 1, "id": 7, "email": "a@example.com"}).encode()
    with TestClient(app) as client:
        resp = client.post("/hooks/orders", content=body, headers=sign("generic", "generic-secret", body=body))
        assert resp.status_code == 202, resp.text
        assert client.get("/healthz").json()["workers"] == 0
    (accepted,) = resp.json()["accepted"]
    messages = redis.Redis.from_url(BROKER).lrange(queue_name(prefix, "orders"), 0, -1)
    assert len(messages) == 1
    message = json.loads(messages[0])
    assert message["headers"]["task"] == "harness.run"
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert args == ["orders", accepted["run_id"]]
    assert RunQueue(sqlite_ledger).get(accepted["run_id"]).state == "accepted"  # left to the workers


def test_the_task_leases_and_runs_its_run_once(prefix: str, sqlite_ledger: Ledger, world: World) -> None:
    flow = order_flow()
    worker = CeleryWorker([flow], ledger=sqlite_ledger, broker=BROKER, queue=prefix)
    run_id, _ = worker.orchestrators["orders"].accept({"eventId": 1, "id": 8, "email": "b@example.com"})
    assert worker.run("orders", run_id) == "succeeded"
    assert worker.run("orders", run_id) == "succeeded"  # a redelivered message changes nothing
    assert len(world.system("stripe").records()["customer"]) == 1
    assert worker.queues() == [f"{prefix}.orders"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serve", "--flow", FLOW, "--engine", "celery"], "give the broker the workers read"),
        (["serve", "--flow", FLOW, "--engine", "celery", "--broker", "http://127.0.0.1:6379"],
         "expected a Redis or RabbitMQ URL"),
        (["serve", "--flow", FLOW, "--broker", BROKER], "--broker is for --engine celery"),
        (["worker", "--flow", FLOW, "--broker", "127.0.0.1:6379"], "expected a Redis or RabbitMQ URL"),
    ],
)
def test_a_bad_engine_option_is_a_usage_error(
    argv: list[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HARNESS_WEBHOOK_SECRET", "s")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / ".harness").exists()  # nothing written


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_broker_that_does_not_answer_is_a_usage_error_naming_it(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARNESS_WEBHOOK_SECRET", "s")
    monkeypatch.setenv("HARNESS_LEDGER_URL", f"sqlite:///{tmp_path / 'l.db'}")
    broker = f"redis://127.0.0.1:{_closed_port()}/0"
    extra = ["--engine", "celery"] if command == "serve" else []
    assert main([command, "--flow", FLOW, *extra, "--broker", broker]) == 2
    err = capsys.readouterr().err
    assert f"the broker at {broker} does not answer" in err and "fix --broker" in err


def test_celery_not_installed_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARNESS_WEBHOOK_SECRET", "s")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "celery", None)  # what an install without the extra sees
    assert main(["serve", "--flow", FLOW, "--engine", "celery", "--broker", BROKER]) == 2
    assert "pip install 'harness[celery]'" in capsys.readouterr().err


def test_a_message_for_a_run_the_ledger_does_not_hold_is_named_not_run(
    prefix: str, sqlite_ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    worker = CeleryWorker([order_flow()], ledger=sqlite_ledger, broker=BROKER, queue=prefix)
    with caplog.at_level("ERROR", logger="harness.serve"):
        assert worker.run("orders", "no-such-run") == "unknown run"
        assert worker.run("refunds", "r1") == "unknown flow"
    text = caplog.text
    assert "which ledger" in text and "--ledger" in text and "'refunds'" in text
