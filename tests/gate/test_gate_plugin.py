"""The pytest plugin, run through ``pytester``: options, header, marker validation and the exact
text of its errors.  The end-to-end gate runs are in test_gate_plugin_campaigns.py."""

from __future__ import annotations

from pathlib import Path

import pytest

# before any in-process pytester run: pytester restores sys.modules after each run, and numpy
# (under the report's pandas) cannot be imported twice in one process
import harness.chaos
import harness.report  # noqa: F401

pytest_plugins = ("pytester",)

FLOW = str(Path(__file__).resolve().parents[2] / "scenarios" / "deal_won" / "flow.py")
ROBUST = str(Path(__file__).resolve().parent / "robust_deal_won.py")


def test_options_are_in_one_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "harness: bad-day campaigns and the CI reliability gate:",
            "  --harness-gate=FILE*",
            "  --harness-seed=N|last",
            "  --harness-examples=N*",
            "  --harness-ledger=URL*",
            "  --harness-report=FILE",
        ]
    )


def test_marker_is_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.harness(*, flow, examples=None, mode='both', world=None): run a bad-day campaign of*"]
    )


def test_seed_is_in_the_header_and_plain_runs_leave_nothing_behind(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_ok():\n    assert True\n")
    result = pytester.runpytest("--harness-seed", "1234")
    result.stdout.fnmatch_lines(["harness: seed 1234 (repeat with --harness-seed 1234)"])
    assert result.ret == 0
    # no campaign ran: no ledger, no last-seed file, no summary section
    assert not (pytester.path / ".harness").exists()
    assert "harness gate" not in result.stdout.str()


def test_bad_seed_and_examples_are_usage_errors(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--harness-seed", "abc")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*: error: argument --harness-seed: expected a whole number >= 0 or 'last', got 'abc'"]
    )
    result = pytester.runpytest("--harness-examples", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*: error: argument --harness-examples: expected a whole number >= 1, got '0'"]
    )


def test_unknown_option_is_rejected(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--harness-gat", "gate.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*: error: unrecognized arguments: --harness-gat"])


def test_last_seed_without_a_previous_run(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--harness-seed", "last")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            (f"ERROR: --harness-seed last: no previous seed in {pytester.path}/.harness/last-seed; "
            "run once without --harness-seed or give a number")
        ]
    )


def test_bad_gate_file_names_file_key_and_choices(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml", gate="[flows.deal_won]\nmin_duplicate_prevention_sucess = 1.0\n"
    )
    result = pytester.runpytest("--harness-gate", "gate.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == (
        "ERROR: gate.toml: flows.deal_won.min_duplicate_prevention_sucess: unknown threshold "
        "(did you mean 'min_duplicate_prevention_success'?); valid: mode, min_examples, "
        "min_duplicate_prevention_success, max_duplicate_effects_escaped, "
        "max_manual_fallback_frequency, max_time_to_recovery_p90, max_runs_failed, max_failed_run_rate, max_findings"
    )


def test_gate_threshold_of_the_wrong_type(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", gate='[flows.deal_won]\nmax_manual_fallback_frequency = "10%"\n')
    result = pytester.runpytest("--harness-gate", "gate.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == (
        "ERROR: gate.toml: flows.deal_won.max_manual_fallback_frequency: expected a number from "
        "0 to 1 (a fraction, 0.95 = 95%), got string '10%'"
    )


def test_missing_gate_file(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--harness-gate", "nope.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == "ERROR: nope.toml: gate file not found"


MARKER_ERRORS = [
    (
        f"harness({FLOW!r})",
        ("@pytest.mark.harness takes keyword arguments only (flow=..., examples=..., mode=...), "
        f"got positional {FLOW!r}"),
    ),
    (
        f"harness(flow={FLOW!r}, exampels=5)",
        ("@pytest.mark.harness: unknown argument 'exampels' (did you mean 'examples'?); valid: "
        "flow, examples, mode, world"),
    ),
    (
        "harness(examples=5)",
        ("@pytest.mark.harness: 'flow' is required: a harness.Flow or 'path/to/flow.py', e.g. "
        "flow='scenarios/deal_won/flow.py'"),
    ),
    (
        f"harness(flow={FLOW!r}, examples=0)",
        "@pytest.mark.harness: 'examples' must be a whole number >= 1, got 0",
    ),
    (
        f"harness(flow={FLOW!r}, mode='orchestrate')",
        ("@pytest.mark.harness: 'mode' must be one of 'bare', 'orchestrated', 'both', got "
        "'orchestrate' (did you mean 'orchestrated'?)"),
    ),
    (
        "harness(flow='flows/missing.py')",
        "flow 'flows/missing.py:flow': file 'flows/missing.py' does not exist",
    ),
]


def test_marker_errors_are_exact(pytester: pytest.Pytester) -> None:
    """Each bad marker errors its own test at setup with one exact line, no traceback."""
    tests = "\n".join(
        f"@pytest.mark.{marker}\ndef test_{i}(harness_campaign):\n    pass\n"
        for i, (marker, _) in enumerate(MARKER_ERRORS)
    )
    pytester.makepyfile("import pytest\n\n" + tests)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=len(MARKER_ERRORS))
    lines = result.stdout.lines
    for i, (_, message) in enumerate(MARKER_ERRORS):
        header = next(n for n, line in enumerate(lines) if f" ERROR at setup of test_{i} " in line)
        assert lines[header + 1 : header + 3] == [message, lines[header + 2]]
        assert lines[header + 2].startswith(("___", "====")), lines[header : header + 4]
    assert "Traceback" not in result.stdout.str()


def test_fixture_without_marker_says_how_to_fix(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_campaign(harness_campaign):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            ("the harness_campaign fixture needs @pytest.mark.harness(flow=...) on the test (or "
            "call the harness_run fixture)")
        ]
    )


def test_flow_not_in_the_gate_fails_before_the_campaign(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", gate="[flows.deal_wom]\nmin_examples = 1\n")
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.harness(flow={FLOW!r}, examples=2)
        def test_campaign(harness_campaign):
            pass
        """
    )
    result = pytester.runpytest("--harness-gate", "gate.toml")
    result.assert_outcomes(errors=1)
    assert (
        "gate.toml: flow 'deal_won' is not in the gate (did you mean 'deal_wom'?); flows in the "
        "gate: deal_wom; add a [flows.deal_won] table"
    ) in result.stdout.lines
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # the session gate fails too: its one flow ran no campaign
    result.stdout.fnmatch_lines(
        [
            "*= harness gate FAILED =*",
            "  deal_wom (orchestrated): 0 campaign(s), 0 examples, 0 runs",
            "1 threshold(s) broken:",
            ("  flows.deal_wom.min_examples: examples run = 0, required >= 1 (no orchestrated "
            "campaign of flow 'deal_wom' was judged)"),
        ]
    )


def test_fixtures_world_ledger_run_and_report(pytester: pytest.Pytester) -> None:
    """harness_world routes HTTP to seeded fakes; harness_run records a campaign in the
    session's ledger; --harness-report writes the session's report at the end."""
    pytester.makepyfile(
        f"""
        import requests
        from harness.flow import load_flow

        def test_world(harness_world, harness_seed):
            hubspot = harness_world.system("hubspot")
            deal = hubspot.deal_ids()[0]
            resp = requests.get(
                f"https://api.hubapi.com/crm/v3/objects/deals/{{deal}}",
                headers={{"Authorization": "Bearer pat-na1-test"}},
                timeout=5,
            )
            assert resp.status_code == 200
            assert resp.json()["id"] == deal

        def test_seed_is_stable_per_test(harness_seed):
            assert harness_seed == {_seed_of(7, "test_fixtures_world_ledger_run_and_report.py::test_seed_is_stable_per_test")}

        def test_run(harness_run, harness_ledger):
            result = harness_run(load_flow({ROBUST!r}), examples=2, mode="bare")
            assert result.examples == {{"bare": 2}}
            record = harness_ledger.campaign(result.campaign_ids["bare"])
            assert record.flow == "deal_won" and record.seed == result.seed
            assert "--harness-seed 7" in record.command

        def test_run_bad_mode(harness_run):
            harness_run({ROBUST!r}, mode="all")
        """
    )
    result = pytester.runpytest(
        "--harness-seed=7",
        f"--harness-ledger=sqlite:///{pytester.path / 'ledger.db'}",
        "--harness-report=out/session.json",
        "-p",
        "no:randomly",
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_run_bad_mode _*",
            "harness_run: 'mode' must be one of 'bare', 'orchestrated', 'both', got 'all'",
            "harness report: out/session.json",
        ]
    )
    assert (pytester.path / "out" / "session.json").stat().st_size > 0
    assert (pytester.path / ".harness" / "last-seed").read_text() == "7\n"


def _seed_of(session_seed: int, nodeid: str) -> int:
    from harness.pytest_plugin import _test_seed

    return _test_seed(session_seed, nodeid)


def test_report_with_an_unknown_format_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--harness-report=out/report.pdf")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == (
        "ERROR: --harness-report out/report.pdf: unknown format '.pdf'; name the file with one "
        "of .html, .json, .csv, .xml"
    )


def test_unusable_ledger_fails_the_test_and_the_gate_says_why(pytester: pytest.Pytester) -> None:
    (pytester.path / "ledger.db").mkdir()  # a folder where the SQLite file should be
    pytester.makefile(".toml", gate='[flows.deal_won]\nmode = "bare"\nmin_examples = 1\n')
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.harness(flow={ROBUST!r}, examples=1, mode="bare")
        def test_campaign(harness_campaign):
            pass
        """
    )
    result = pytester.runpytest(
        "--harness-gate=gate.toml", f"--harness-ledger=sqlite:///{pytester.path / 'ledger.db'}"
    )
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_campaign*",
            "harness: ledger sqlite:///*ledger.db*",
            "*= harness gate FAILED =*",
            "  flows.deal_won.min_examples: examples run = 0, required >= 1 (no bare campaign*",
        ]
    )


def test_ledger_password_never_reaches_the_header(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(
        "--harness-seed=3", "--harness-ledger=postgresql+psycopg://ci:s3cr3t@127.0.0.1:5432/ledger"
    )
    assert result.ret == 0
    assert "s3cr3t" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        ["harness: seed 3 (repeat with --harness-seed 3), ledger postgresql+psycopg://*@127.0.0.1:5432/ledger"]
    )
