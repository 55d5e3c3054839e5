"""``harness inbox``: a person lists, shows, retries, resolves and discards items in the ledger."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from _orch_fakes import fail_once
from _orch_support import HERE, invoices, make_flow, order

from harness import Policy, RetryPolicy, VirtualClock
from harness.cli import main
from harness.ledger import Ledger
from harness.orchestrator import Orchestrator, RunResult
from harness.systems import World


def manual_runs(world: World, url: str, clock: VirtualClock) -> list[RunResult]:
    """Two runs in the inbox: one exhausted its retries on the desk, one broke the contract."""
    flow = make_flow("bill", policy=Policy(retry=RetryPolicy(max_attempts=2, base_delay=1.0)))
    world.interceptors.append(fail_once("POST", "/api/v2/tickets.json", "status", times=2))
    with Ledger.open(url) as ledger:
        orch = Orchestrator(flow, ledger=ledger, clock=clock, rng=random.Random(0))
        with world.activate():
            results = [orch.handle(order(1)), orch.handle(order(2, email="nobody"))]
    world.interceptors.clear()
    assert [r.end_state for r in results] == ["manual", "manual"]
    return results


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_show_resolve_discard(
    world: World,
    clock: VirtualClock,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exhausted, broken = manual_runs(world, sqlite_url, clock)
    assert exhausted.inbox_item is not None and broken.inbox_item is not None
    a, b = exhausted.inbox_item.id, broken.inbox_item.id

    code, out, _ = run_cli(capsys, "inbox", "list", "--ledger", sqlite_url)
    assert code == 0 and a in out and b in out and "2 item(s); 0 past due" in out

    code, out, _ = run_cli(capsys, "inbox", "show", a, "--ledger", sqlite_url)
    assert code == 0
    assert "retries exhausted after 2 attempts" in out
    assert "https://api.stripe.com/v1/invoices -> 200" in out  # a partial effect
    assert "HTTP 503" in out and "[redacted]" in out
    assert "zd-secret-token" not in out

    code, out, _ = run_cli(capsys, "inbox", "show", b, "--ledger", sqlite_url, "--json")
    shown = json.loads(out)
    assert shown["context"]["violations"][0]["field"] == "email"

    code, out, _ = run_cli(
        capsys, "inbox", "resolve", a, "--note", "ticket made by hand", "--by", "ana", "--ledger", sqlite_url
    )
    assert code == 0 and "resolved by ana" in out
    monkeypatch.delenv("USER", raising=False)
    code, _, err = run_cli(capsys, "inbox", "discard", b, "--ledger", sqlite_url)
    assert code == 2 and "pass --by NAME" in err
    monkeypatch.setenv("USER", "ben")  # --by defaults to $USER
    code, out, _ = run_cli(capsys, "inbox", "discard", b, "--ledger", sqlite_url)
    assert code == 0 and "discarded by ben" in out

    code, out, _ = run_cli(capsys, "inbox", "list", "--ledger", sqlite_url)
    assert "no open inbox items" in out
    code, out, _ = run_cli(capsys, "inbox", "list", "--status", "all", "--json", "--ledger", sqlite_url)
    listed = {i["id"]: i for i in json.loads(out)}
    assert listed[a]["resolved_by"] == "ana" and listed[a]["note"] == "ticket made by hand"
    assert listed[b]["resolution"] == "discard"

    with Ledger.open(sqlite_url) as ledger:
        run = ledger.run(exhausted.run.id)
    action = run.events[-1]
    assert action.kind == "inbox_action" and action.detail["by"] == "ana"
    assert action.at >= run.ended_at  # the clock of recovery closes after the run ended

    # acting twice is a usage error naming who closed it
    code, _, err = run_cli(capsys, "inbox", "resolve", a, "--note", "x", "--ledger", sqlite_url)
    assert code == 2 and "already resolved" in err and "ana" in err


def test_retry_completes_the_missing_work_without_repeating_the_done_work(
    world: World, clock: VirtualClock, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    exhausted, _ = manual_runs(world, sqlite_url, clock)
    item = exhausted.inbox_item
    assert item is not None
    assert len(invoices(world)) == 1 and world.system("zendesk").tickets == []
    calls_before = len(world.calls)
    with world.activate():
        code, out, _ = run_cli(
            capsys,
            "inbox",
            "retry",
            item.id,
            "--flow",
            str(HERE / "_orch_flow.py"),
            "--by",
            "ana",
            "--ledger",
            sqlite_url,
        )
    assert code == 0, out
    assert "succeeded" in out
    assert len(invoices(world)) == 1 and len(world.system("zendesk").tickets) == 1
    retry_calls = world.calls[calls_before:]
    # the Stripe writes came from the item's journal; only the reads and the ticket went out
    assert [c.method for c in retry_calls if c.system == "stripe"] == []
    assert [c.system for c in retry_calls] == ["zendesk"]
    with Ledger.open(sqlite_url) as ledger:
        closed = ledger.inbox_item(item.id)
        runs = ledger.runs(flow="orders")
    assert closed.status == "retried" and closed.resolved_by == "ana"
    retry_run = next(r for r in runs if r.detail.get("retry_of") == exhausted.run.id)
    assert retry_run.end_state == "succeeded" and retry_run.mode == "production"


def test_usage_errors(
    world: World, clock: VirtualClock, sqlite_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exhausted, _ = manual_runs(world, sqlite_url, clock)
    item_id = exhausted.inbox_item.id  # type: ignore[union-attr]
    code, _, err = run_cli(capsys, "inbox", "show", "ibx_nope", "--ledger", sqlite_url)
    assert code == 2 and "no inbox item with id 'ibx_nope'" in err
    code, _, err = run_cli(capsys, "inbox", "retry", item_id, "--ledger", sqlite_url)
    assert code == 2 and "--flow" in err
    other = tmp_path / "other_flow.py"
    other.write_text(
        f"import sys\nsys.path.insert(0, {str(HERE)!r})\nfrom _orch_support import make_flow\n"
        "flow = make_flow('bill', name='invoices')\n"
    )
    code, _, err = run_cli(
        capsys, "inbox", "retry", item_id, "--flow", str(other), "--by", "x", "--ledger", sqlite_url
    )
    assert code == 2 and "belongs to flow 'orders'" in err
    code, _, err = run_cli(capsys, "inbox", "resolve", item_id, "--note", " ", "--ledger", sqlite_url)
    assert code == 2 and "--note" in err
