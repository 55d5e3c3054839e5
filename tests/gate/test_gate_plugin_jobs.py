"""``--harness-jobs N`` through ``pytester``: a marked test's campaign spread over worker
processes has the findings of the one-process campaign; a flow built in memory and a bad N
get one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Imported here, before any in-process pytester run: pytester restores sys.modules after each
# run, and numpy (under the report's pandas) cannot be imported a second time in one process.
# The same for the campaign's modules: the worker functions sent to --harness-jobs processes
# are pickled by name, and must be the ones the plugin's campaign holds.
import harness.chaos
import harness.chaos._campaign
import harness.chaos._jobs
import harness.report  # noqa: F401

pytest_plugins = ("pytester",)

FRAGILE = str(Path(__file__).resolve().parents[2] / "scenarios" / "deal_won" / "flow.py")


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "--harness-seed=7", f"--harness-ledger=sqlite:///{pytester.path / 'ledger.db'}",
        "-p", "no:randomly", *args,
    )


def test_harness_jobs_gives_the_campaign_of_one_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_deal_won=f"""
        import json, pytest

        @pytest.mark.harness(flow={FRAGILE!r}, examples=8, mode="bare")
        def test_campaign(harness_campaign, request):
            assert harness_campaign.examples == {{"bare": 8}}
            out = request.config.rootpath / f"found-{{request.config.getoption('harness_jobs')}}.json"
            out.write_text(json.dumps({{
                "findings": [[f.oracle, f.example, f.program] for f in harness_campaign.findings],
                "faults": harness_campaign.faults_injected,
                "coverage": harness_campaign.coverage,
            }}))
        """
    )
    for jobs in ("1", "2"):
        result = _run(pytester, f"--harness-jobs={jobs}")
        result.assert_outcomes(passed=1)
    one = json.loads((pytester.path / "found-1.json").read_text())
    two = json.loads((pytester.path / "found-2.json").read_text())
    assert one["findings"], "the fragile deal-won automation shows findings in 8 examples"
    assert one == two


def test_a_flow_built_in_memory_cannot_go_to_worker_processes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_memory="""
        from harness import Flow
        from harness.triggers import get_trigger

        def test_campaign(harness_run):
            flow = Flow(name="inline", automation=lambda event: None,
                        trigger=get_trigger("hubspot.deal.closedwon"))
            harness_run(flow, examples=2, mode="bare")
        """
    )
    result = _run(pytester, "--harness-jobs=2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [("*harness: flow 'inline' was built in memory, so --harness-jobs cannot load it in "
         "another process; declare it in a file*")]
    )


def test_a_bad_harness_jobs_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = _run(pytester, "--harness-jobs=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*argument --harness-jobs: expected a whole number from 1 to 256, got '0'"]
    )
