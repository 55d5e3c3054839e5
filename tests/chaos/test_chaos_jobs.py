"""``harness check --jobs N`` and ``--shard I/N``: the campaign's result does not depend on how
its scenarios are spread over processes or CI jobs; a broken worker breaks the run (exit 3);
bad values are usage errors (exit 2); the gate judges a sharded campaign only whole."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from harness.chaos import Scenario, Target
from harness.chaos._coverage import Coverage
from harness.chaos._jobs import campaign_plan, merge_into, play_slice
from harness.chaos._strategies import scenarios
from harness.cli import main
from harness.gate import evaluate_ledger, load_gate
from harness.ledger import CampaignRecord, FindingRecord, Ledger

from .conftest import QUALITY

NO_RETRY = f"{QUALITY / 'fragile_no_retry.py'}:handle"
DUPLICATE = f"{QUALITY / 'fragile_retry_all.py'}:handle"


def _normalised(payload: dict, ledger: str) -> dict:
    """A check --json payload without what differs between any two runs: ids and the ledger."""
    text = json.dumps(payload, sort_keys=True)
    for cid in payload["campaign_ids"].values():
        text = text.replace(cid, "CID")
    return json.loads(text.replace(f" --ledger {ledger}", ""))


def _check(tmp_path: Path, name: str, *args: str) -> tuple[int, dict, str, str]:
    ledger = f"sqlite:///{tmp_path / f'{name}.db'}"
    out = tmp_path / f"{name}.json"
    code = main(["check", *args, "--ledger", ledger, "--json", str(out), "--no-progress"])
    return code, _normalised(json.loads(out.read_text()), ledger), ledger, name


def test_two_worker_processes_give_the_result_of_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Findings (their programs, examples and reproduce lines), coverage, faults injected,
    counts, metrics, the terminal summary and the exit code are the same for --jobs 1 and 2."""
    argv = [DUPLICATE, "--examples", "14", "--seed", "11", "--mode", "both"]
    one = _check(tmp_path, "one", *argv, "--jobs", "1")
    out_one = capsys.readouterr().out
    two = _check(tmp_path, "two", *argv, "--jobs", "2")
    out_two = capsys.readouterr().out
    assert one[0] == two[0] == 1
    assert one[1]["findings"], "the automation must show findings for the comparison to mean much"
    assert one[1] == two[1]

    def summary(text: str, ledger: str) -> str:
        text = re.sub(r"c-[0-9a-f]{12}", "CID", text).replace(f" --ledger {ledger}", "")
        return "\n".join(line for line in text.splitlines() if not line.startswith("wrote "))

    assert summary(out_one, one[2]) == summary(out_two, two[2])


@pytest.fixture(scope="module")
def partition() -> tuple[Target, list[tuple[int, Scenario]]]:
    """A target of an automation with findings, and its 12-scenario plan (built once)."""
    from harness.flow import Flow
    from harness.triggers import get_trigger

    target = Target(
        Flow(name="retry_all", automation=DUPLICATE, trigger=get_trigger("hubspot.deal.closedwon")),
        seed=4,
    )
    plan, _ = campaign_plan(target.space, scenarios(target.space), 12, 4)
    return target, list(enumerate(plan))


@settings(max_examples=5, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate])
@given(cuts=st.lists(st.integers(min_value=1, max_value=11), max_size=4, unique=True))
def test_any_partition_of_the_plan_merges_to_the_whole(
    partition: tuple[Target, list[tuple[int, Scenario]]], cuts: list[int]
) -> None:
    """Playing the plan in contiguous slices (as workers and shards do) and merging the
    outcomes in order gives the faults, coverage, first hits and runs of playing it whole."""
    target, items = partition

    def merged(parts: list[list]) -> tuple:
        injected: dict[str, int] = {}
        coverage = Coverage.of(target.space)
        first: dict = {}
        runs: list = []
        for part in parts:
            outcome = play_slice(target, "bare", part, campaign_id="c-x", seed=4)
            merge_into(target, outcome, injected=injected, coverage=coverage, first=first)
            runs += [
                (r.example, r.end_state, r.error_class, r.attempts, r.calls, r.retries,
                 r.started_at, r.ended_at, r.duplicate_effects)
                for records, _inbox in outcome.batches
                for r in records
            ]
        return injected, coverage.tried, {k: (e, s.to_json()) for k, (e, s) in first.items()}, runs

    bounds = [0, *sorted(cuts), len(items)]
    whole = merged([items])
    assert merged([items[a:b] for a, b in itertools.pairwise(bounds)]) == whole
    assert whole[0] and whole[2], "the plan injects faults and shows findings"




@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shard", "0/2", "--seed", "1"], "--shard '0/2': I must be from 1 to N (2), got 0"),
        (["--shard", "3/2", "--seed", "1"], "--shard '3/2': I must be from 1 to N (2), got 3"),
        (["--shard", "1/0", "--seed", "1"], "--shard '1/0': N must be from 1 to 1000, got 0"),
        (["--shard", "two", "--seed", "1"], "--shard 'two': expected I/N"),
        (["--shard", "1/2"], "--shard 1/2: give the same --seed to every shard"),
        (["--jobs", "0"], "--jobs must be an integer from 1 to 256, got 0"),
    ],
)
def test_bad_jobs_and_shard_values_exit_2_with_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", NO_RETRY, *argv, "--ledger", f"sqlite:///{tmp_path / 'l.db'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("harness: error: ") and message in err
    assert not (tmp_path / "l.db").exists()


KILLER = """
import multiprocessing, os, signal

def handle(event):
    if multiprocessing.parent_process() is not None:  # only in a worker process
        os.kill(os.getpid(), signal.SIGKILL)
    return {"ok": True}
"""

UNLOADABLE = """
import multiprocessing
from harness import Flow
from harness.triggers import get_trigger

if multiprocessing.parent_process() is not None:
    raise ImportError("this flow's module needs a setting only the parent process has")

def handle(event):
    return {"ok": True}

flow = Flow(name="unloadable", automation=handle, trigger=get_trigger("hubspot.deal.closedwon"))
"""


@pytest.mark.parametrize(
    ("source", "how", "message"),
    [
        (KILLER, "automation", "a worker process of --jobs 2 died mid-campaign"),
        (UNLOADABLE, "flow", "in a worker process (--jobs 2): "),
    ],
    ids=["worker-killed", "flow-fails-to-import-in-worker"],
)
def test_a_worker_that_dies_or_cannot_load_the_flow_breaks_the_run(
    source: str, how: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 3 with one clear error, never a hang or a partial result."""
    path = tmp_path / "auto.py"
    path.write_text(source)
    target = ["--flow", str(path)] if how == "flow" else [f"{path}:handle"]
    started = time.monotonic()
    code = main(
        ["check", *target, "--examples", "6", "--seed", "1", "--mode", "bare", "--jobs", "2",
         "--no-progress", "--ledger", f"sqlite:///{tmp_path / 'l.db'}"]
    )
    err = capsys.readouterr().err
    assert code == 3, err
    assert message in err
    assert how != "flow" or "raised ImportError: this flow's module needs a setting" in err
    assert time.monotonic() - started < 120
    with Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", create=False) as ledger:
        assert [c.status for c in ledger.campaigns()] == ["failed"]
        assert ledger.findings() == []


GATE = """
[flows.handle]
mode = "bare"
min_examples = 1
[flows.handle.max_findings]
total = 0
"""


@pytest.mark.postgres
def test_the_union_of_shards_in_postgresql_is_the_unsharded_campaign(
    tmp_path: Path, pg_url_factory: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Three shards into one PostgreSQL ledger: the gate's measures and judged findings equal
    those of the same campaign run whole; with a shard missing the gate fails and names it."""
    gate_file = tmp_path / "gate.toml"
    gate_file.write_text(GATE)
    argv = ["check", DUPLICATE, "--examples", "12", "--seed", "8", "--mode", "bare", "--no-progress"]
    whole_url, sharded_url = pg_url_factory(), pg_url_factory()
    assert main([*argv, "--ledger", whole_url]) == 1
    for shard in ("1/3", "3/3"):
        main([*argv, "--shard", shard, "--ledger", sharded_url])
    capsys.readouterr()
    assert main(["gate", "--config", str(gate_file), "--ledger", sharded_url]) == 1
    out = capsys.readouterr().out
    assert "missing shard 2/3 (not in the ledger)" in out
    main([*argv, "--shard", "2/3", "--ledger", sharded_url])
    gate = load_gate(gate_file)
    results = []
    for url in (whole_url, sharded_url):
        with Ledger.open(url, create=False) as ledger:
            latest = ledger.campaigns(flow="handle")[-1].id
            result = evaluate_ledger(gate, ledger, [latest])
            found = [f for cid in result.campaigns for f in ledger.findings(campaign_id=cid)]
            results.append((result, found))
    (whole, whole_found), (sharded, sharded_found) = results
    assert len(sharded.campaigns) == 3 and len(whole.campaigns) == 1
    assert whole.measures == sharded.measures
    assert [(c.threshold, c.measured, c.passed) for c in whole.checks] == [
        (c.threshold, c.measured, c.passed) for c in sharded.checks
    ]
    assert not whole.passed

    def judged(found: list[FindingRecord]) -> set[tuple]:
        best: dict[str, FindingRecord] = {}
        for f in found:
            if f.oracle not in best or (f.example or 0) < (best[f.oracle].example or 0):
                best[f.oracle] = f
        return {(f.oracle, f.example, f.scenario) for f in best.values()}

    assert judged(whole_found) and judged(whole_found) == judged(sharded_found)


def test_the_gate_fails_when_a_shard_has_not_completed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shard still running (or killed) is not a whole campaign: the gate says which one."""
    gate_file = tmp_path / "gate.toml"
    gate_file.write_text(GATE)
    url = f"sqlite:///{tmp_path / 'l.db'}"
    with Ledger.open(url) as ledger:
        for i, status in ((1, "completed"), (2, "running")):
            ledger.start_campaign(
                CampaignRecord(
                    id=f"c-{i}", flow="handle", mode="bare", wall_started=time.time() + i, seed=1,
                    examples=5, versions={"campaign_group": "g-abc", "shard": f"{i}/2"},
                )
            )
            if status == "completed":
                ledger.finish_campaign(f"c-{i}", status="completed", wall_ended=time.time())
    assert main(["gate", "--config", str(gate_file), "--ledger", url]) == 1
    out = capsys.readouterr().out
    assert "flows.handle.min_shards: shards of campaign group g-abc (bare) landed = 1" in out
    assert "missing shard 2/2 (running)" in out


LEAKER = """
import multiprocessing
import requests

def handle(event):
    if multiprocessing.parent_process() is not None:  # only in a worker process
        requests.post("http://127.0.0.1:{port}/charge", json={{"amount": 100}}, timeout=5)
    return {{"ok": True}}
"""


def test_worker_processes_refuse_unfaked_hosts_and_the_parent_reports_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The interception is active in every worker: a call there to a host no fake serves is
    refused (a loopback server receives zero bytes) and ends the campaign as it would in one
    process (exit 2 naming the host)."""
    from tests.systems.test_nothing_leaves import LoopbackServer

    server = LoopbackServer()
    path = tmp_path / "leaker.py"
    path.write_text(LEAKER.format(port=server.port))
    code = main(
        ["check", f"{path}:handle", "--examples", "6", "--seed", "1", "--mode", "bare",
         "--jobs", "2", "--no-progress", "--ledger", f"sqlite:///{tmp_path / 'l.db'}"]
    )
    err = capsys.readouterr().err
    assert server.finish() == []
    assert code == 2, err
    assert "the automation called hosts no fake serves: 127.0.0.1" in err
    assert "POST http://127.0.0.1:" in err
