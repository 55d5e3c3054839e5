"""The benchmark command must not rot: run its runner on a tiny N (no DBOS, no Prefect).

Nothing here checks speed (performance lives in ``benchmarks/``); it checks
that every in-process benchmark still runs against the current harness API,
that ratios are computed against the baseline of the same run, and that the
table, the JSON and the Markdown are produced from the results.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` is a top-level package of the repository, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as cli  # noqa: E402
from benchmarks._runner import Config, machine_info, render_markdown, render_text, run_all, to_json  # noqa: E402
from benchmarks._suite import BENCHMARKS  # noqa: E402
from benchmarks.workloads import MockedApis, events, three_call  # noqa: E402


def test_tiny_run_produces_rows_ratios_and_outputs(tmp_path: Path) -> None:
    """automation, virtual_time and ledger run; every ratio is to the same run's baseline."""
    config = Config(tiny=True, with_children=False)
    results = run_all(BENCHMARKS, ["automation", "virtual_time", "ledger"], config)
    assert [r.error for r in results] == [None, None, None]
    automation = results[0]
    by_variant = {r.variant: r for r in automation.rows}
    bare = by_variant["bare, 0% faults"]
    orch = by_variant["orchestrated (SQLite ledger), 0% faults"]
    assert bare.ratio is None and bare.median and bare.median > 0
    assert orch.ratio == pytest.approx(orch.median / bare.median)  # type: ignore[operator]
    assert orch.extra["succeeded"] == orch.extra["runs"]  # a good day: every run succeeds
    assert not by_variant["DBOS (SQLite), 0% faults"].available
    assert "not available" in by_variant["DBOS (SQLite), 0% faults"].note
    assert {t.what for t in automation.targets} >= {"orchestrated >= 0.5x bare (0% faults)"}
    vt = results[1].rows[0]
    assert vt.extra["end_states"] == ["succeeded"]
    assert min(vt.extra["virtual_seconds"]) >= 3600  # an hour of outage was waited out virtually

    machine = machine_info()
    text = render_text(results, machine)
    assert "orchestrated (SQLite ledger), 0% faults" in text and "cores" in text
    md = render_markdown(results, machine, "python -m benchmarks --quick")
    assert md.count("\n| automation |") == len(automation.rows)
    assert "Rerun:" in md and str(machine["cores"]) in md
    data = json.loads(json.dumps(to_json(results, machine, command="x", mode="tiny")))
    row = data["benchmarks"][0]["rows"][0]
    assert {"median", "min", "max", "samples", "ratio_to_baseline", "n"} <= set(row)


def test_mocked_apis_inject_faults_and_count_effects() -> None:
    """The shared workload's mocks: a 503 before the server acts, and ground-truth effects."""
    apis = MockedApis(fault_rate=0.5, seed=3)
    ok = 0
    with apis.active():
        for event in events(20):
            try:
                three_call(event)
                ok += 1
            except Exception:
                pass
    effects = apis.effects()
    assert 0 < effects.faults < effects.calls
    assert effects.tickets == ok  # a ticket is only made by a run that got through
    assert effects.duplicate_tickets == 0


def test_cli_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    """Usage errors exit 2 with a message naming the option."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["--only", "nonsense"])
    assert exc.value.code == 2
    assert "--only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["--memory-sizes", "10"])
    assert exc.value.code == 2
    assert "SMALL,LARGE" in capsys.readouterr().err
