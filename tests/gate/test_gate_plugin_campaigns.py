"""End to end through ``pytester``: the example gate fails a session with the fragile deal-won
automation and passes one with a robust variant, serially and under ``pytest -n 2``.

Each session has two marked tests of 5 examples (bare mode, which the example gate judges);
the gate's ``min_examples = 10`` is only met when the campaigns of both tests, possibly run
by two xdist workers, are combined on the controller.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# Imported here, before any in-process pytester run: pytester restores sys.modules after each
# run, and numpy (under the report's pandas) cannot be imported a second time in one process.
import harness.chaos
import harness.report  # noqa: F401

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parents[2]
FRAGILE = str(ROOT / "scenarios" / "deal_won" / "flow.py")
ROBUST = str(Path(__file__).resolve().parent / "robust_deal_won.py")
GATE = str(ROOT / "scenarios" / "deal_won" / "gate.toml")


def _session(pytester: pytest.Pytester, first: str, second: str) -> None:
    pytester.makepyfile(
        test_gate_deal_won=f"""
        import pytest

        @pytest.mark.harness(flow={first!r}, examples=5, mode="bare")
        def test_first(harness_campaign):
            assert harness_campaign.examples == {{"bare": 5}}

        @pytest.mark.harness(flow={second!r}, examples=5, mode="bare")
        def test_second(harness_campaign):
            assert set(harness_campaign.campaign_ids) == {{"bare"}}
        """
    )


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """In this process; under -n 2 the xdist workers are subprocesses of their own."""
    # option=value: a separate value that looks like a path would make pytest take its folder
    # as the rootdir (pytest finds the rootdir before it loads plugins' options)
    argv = (
        f"--harness-gate={GATE}",
        "--harness-seed=7",
        f"--harness-ledger=sqlite:///{pytester.path / 'ledger.db'}",
        "-p",
        "no:randomly",
        "--junitxml=junit.xml",
        *args,
    )
    return pytester.runpytest_inprocess(*argv)


def _junit(pytester: pytest.Pytester) -> dict[str, str]:
    root = ET.parse(pytester.path / "junit.xml").getroot()
    suite = root if root.tag == "testsuite" else root[0]
    props = suite.find("properties")
    assert props is not None
    return {p.get("name", ""): p.get("value", "") for p in props}


@pytest.mark.parametrize(
    "workers", [(), pytest.param(("-n", "2"), marks=pytest.mark.slow)], ids=["serial", "xdist"]
)
def test_example_gate_fails_on_the_fragile_automation(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: tuple[str, ...]
) -> None:
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _session(pytester, FRAGILE, ROBUST)
    result = _run(pytester, *workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # the fragile test fails on its own findings; the robust one passes
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "harness: seed 7 (repeat with --harness-seed 7), gate *gate.toml, ledger sqlite:///*",
            "*_ test_first _*",
            f"findings of this test's campaign exceed the gate {GATE}:",
            "flows.deal_won.max_findings.duplicate_effect: duplicate_effect findings = 1, allowed <= 0",
            "  reproduce: harness replay c-*-duplicate-effect --ledger sqlite:///*ledger.db",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*- harness findings -*",
            ("test_gate_deal_won.py::test_first: duplicate_effect [[]bare] deal:* | reproduce: harness "
            "replay c-*-duplicate-effect --ledger sqlite:///*ledger.db"),
            "*= harness gate FAILED =*",
            "  deal_won (bare): 2 campaign(s), 10 examples, * runs",
            "* threshold(s) broken:",
            ("  flows.deal_won.max_findings.duplicate_effect: duplicate_effect findings = 1, "
            "allowed <= 0"),
            "    reproduce: harness replay c-*-duplicate-effect --ledger sqlite:///*ledger.db",
            "seed 7: repeat with --harness-seed 7",
        ]
    )
    props = _junit(pytester)
    assert props["harness_gate"] == "failed"
    assert props["harness_seed"] == "7"
    assert props["harness_gate.deal_won.max_findings.duplicate_effect"] == "1 BROKEN"
    assert props["harness_gate.deal_won.min_examples"] == "10 ok"
    md = summary.read_text(encoding="utf-8")
    assert md.startswith(f"### :x: harness gate `{GATE}` failed\n")
    assert "| deal_won | `max_findings.duplicate_effect` | 1 | <= 0 | **FAIL** |" in md


@pytest.mark.parametrize(
    "workers", [(), pytest.param(("-n", "2"), marks=pytest.mark.slow)], ids=["serial", "xdist"]
)
def test_example_gate_passes_on_the_robust_automation(
    pytester: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    _session(pytester, ROBUST, ROBUST)
    result = _run(pytester, *workers)
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*= harness gate passed =*",
            "  deal_won (bare): 2 campaign(s), 10 examples, * runs",
            "all 8 threshold(s) met",
            "seed 7: repeat with --harness-seed 7",
        ]
    )
    assert "harness findings" not in result.stdout.str()
    assert _junit(pytester)["harness_gate"] == "passed"
    # the seed of a session that ran campaigns is kept for --harness-seed last
    again = pytester.runpytest_inprocess("--harness-seed", "last", "--collect-only")
    again.stdout.fnmatch_lines(["harness: seed 7 (repeat with --harness-seed 7)"])


def test_too_few_examples_fail_the_session_gate(pytester: pytest.Pytester) -> None:
    """--harness-examples overrides the marker; the gate's min_examples catches it.  A marked
    test runs its campaign even when it does not ask for the harness_campaign fixture."""
    pytester.makepyfile(
        test_gate_deal_won=f"""
        import pytest

        @pytest.mark.harness(flow={ROBUST!r}, examples=5, mode="bare")
        def test_first(harness_campaign):
            assert harness_campaign.examples == {{"bare": 5}}

        @pytest.mark.harness(flow={ROBUST!r}, examples=5, mode="bare")
        def test_second():
            pass
        """
    )
    result = _run(pytester, "--harness-examples=1")
    result.assert_outcomes(passed=1, failed=1)  # test_first asserts the 5 examples it asked for
    result.stdout.fnmatch_lines(
        [
            "*= harness gate FAILED =*",
            "  deal_won (bare): 2 campaign(s), 2 examples, * runs",
            "1 threshold(s) broken:",
            "  flows.deal_won.min_examples: examples run = 2, required >= 10",
        ]
    )


@pytest.mark.postgres
def test_gate_over_a_postgresql_ledger(pytester: pytest.Pytester, pg_url: str) -> None:
    """The ledger several machines share: the same session passes over PostgreSQL."""
    _session(pytester, ROBUST, ROBUST)
    result = pytester.runpytest_inprocess(
        f"--harness-gate={GATE}", "--harness-seed=7", f"--harness-ledger={pg_url}",
        "-p", "no:randomly",
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "harness: seed 7 (repeat with --harness-seed 7), gate *, ledger postgresql+psycopg://*",
            "*= harness gate passed =*",
            "  deal_won (bare): 2 campaign(s), 10 examples, * runs",
        ]
    )
