"""``harness gate`` outside pytest: exit 0 when the thresholds are met, 1 when one is broken,
2 for a bad gate file or argument; the campaigns judged are exactly the ones selected."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.ledger import CampaignRecord, FindingRecord, Ledger, RunRecord

GATE = """
[flows.deal_won]
mode = "orchestrated"
min_examples = 4
min_duplicate_prevention_success = 1.0
max_manual_fallback_frequency = 0.5
[flows.deal_won.max_findings]
duplicate_effect = 0
"""


def _campaign(
    ledger: Ledger, cid: str, *, escaped: int, manual: int, wall: float, flow: str = "deal_won"
) -> None:
    """Four examples of one delivery each plus one duplicate delivery; ``escaped`` duplicate
    effects on the duplicate, ``manual`` runs ending in the inbox."""
    ledger.start_campaign(
        CampaignRecord(id=cid, flow=flow, mode="orchestrated", wall_started=wall, seed=7, examples=4)
    )
    runs = []
    for example in range(4):
        runs.append(
            RunRecord(
                id=f"{cid}-r{example}",
                flow=flow,
                mode="orchestrated",
                end_state="manual" if example < manual else "succeeded",
                started_at=float(example),
                ended_at=float(example) + 1,
                wall_started=wall,
                wall_ended=wall + 1,
                campaign_id=cid,
                seed=7,
                example=example,
                duplicate_effects=0,
            )
        )
    runs.append(
        RunRecord(
            id=f"{cid}-dup",
            flow=flow,
            mode="orchestrated",
            end_state="succeeded" if escaped else "suppressed",
            started_at=5.0,
            ended_at=6.0,
            wall_started=wall,
            wall_ended=wall + 1,
            campaign_id=cid,
            seed=7,
            example=0,
            delivery=1,
            delivery_kind="duplicate",
            is_duplicate=True,
            duplicate_effects=escaped,
        )
    )
    ledger.write_runs(runs)
    if escaped:
        ledger.write_findings(
            [
                FindingRecord(
                    id=f"{cid}-f",
                    flow=flow,
                    mode="orchestrated",
                    oracle="duplicate_effect",
                    message="two Stripe invoices for deal 1",
                    scenario="deliver deal 1 twice",
                    reproduce=f"harness replay scenarios/deal_won/flow.py --seed 7 --example 0  # {cid}",
                    wall_created=wall,
                    campaign_id=cid,
                    seed=7,
                    example=0,
                )
            ]
        )
    ledger.finish_campaign(cid, status="completed", wall_ended=wall + 2)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    now = time.time()
    with Ledger.open(url) as ledger:
        _campaign(ledger, "c-old-bad", escaped=1, manual=3, wall=now - 3 * 86400)
        _campaign(ledger, "c-new-good", escaped=0, manual=1, wall=now - 60)
    gate = tmp_path / "gate.toml"
    gate.write_text(GATE, encoding="utf-8")
    return url, gate


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["gate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_latest_campaign_passes(setup: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    url, gate = setup
    code, out, err = run(capsys, "--config", str(gate), "--ledger", url)
    assert (code, err) == (0, "")
    assert out == (
        f"harness gate {gate}: PASSED\n"
        "  deal_won (orchestrated): 1 campaign(s), 4 examples, 5 runs\n"
        "all 4 threshold(s) met\n"
    )


def test_bad_campaign_fails_naming_thresholds_values_and_reproduce_lines(
    setup: tuple[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, gate = setup
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = run(capsys, "--config", str(gate), "--ledger", url, "--campaign", "c-old-bad")
    assert code == 1
    assert out == (
        f"harness gate {gate}: FAILED\n"
        "  deal_won (orchestrated): 1 campaign(s), 4 examples, 5 runs\n"
        "3 threshold(s) broken:\n"
        "  flows.deal_won.min_duplicate_prevention_success: duplicate prevention success = 0, "
        "required >= 1\n"
        "  flows.deal_won.max_manual_fallback_frequency: manual fallback frequency = 0.6, "
        "allowed <= 0.5\n"
        "  flows.deal_won.max_findings.duplicate_effect: duplicate_effect findings = 1, "
        "allowed <= 0\n"
        "    reproduce: harness replay scenarios/deal_won/flow.py --seed 7 --example 0  # c-old-bad\n"
    )
    md = summary.read_text(encoding="utf-8")
    assert md.startswith(f"### :x: harness gate `{gate}` failed")
    assert "| deal_won | `max_findings.duplicate_effect` | 1 | <= 0 | **FAIL** |" in md


def test_since_judges_every_campaign_in_the_window(
    setup: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, gate = setup
    code, out, _ = run(capsys, "--config", str(gate), "--ledger", url, "--since", "1h")
    assert code == 0 and "1 campaign(s)" in out
    code, out, _ = run(capsys, "--config", str(gate), "--ledger", url, "--since", "1w")
    assert code == 1
    assert "  deal_won (orchestrated): 2 campaign(s), 8 examples, 10 runs\n" in out
    # 1 of 2 duplicates prevented over both campaigns; (3 + 1) manual of 10 runs passes
    assert "duplicate prevention success = 0.5, required >= 1\n" in out
    assert "manual fallback" not in out


def test_gate_flow_absent_from_the_ledger_fails_with_a_hint(
    setup: tuple[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url, _ = setup
    gate = tmp_path / "typo.toml"
    gate.write_text("[flows.deal_wn]\nmin_examples = 1\n", encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(gate), "--ledger", url)
    assert code == 1
    assert out == (
        f"harness gate {gate}: FAILED\n"
        "  deal_wn (orchestrated): 0 campaign(s), 0 examples, 0 runs\n"
        "  note: the ledger has no run of flow 'deal_wn' (did you mean 'deal_won'?); flows in "
        "the ledger: deal_won\n"
        "1 threshold(s) broken:\n"
        "  flows.deal_wn.min_examples: examples run = 0, required >= 1 (no orchestrated campaign "
        "of flow 'deal_wn' was judged)\n"
    )


def test_campaign_of_a_flow_not_in_the_gate_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        _campaign(ledger, "c-other", escaped=0, manual=0, wall=time.time(), flow="deal_lost")
    gate = tmp_path / "gate.toml"
    gate.write_text(GATE, encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(gate), "--ledger", url, "--campaign", "c-other")
    assert code == 1
    assert (
        "  note: campaign c-other not judged: its flow 'deal_lost' is not in the gate (did you "
        "mean 'deal_won'?)\n"
    ) in out


def test_bad_config_and_arguments_exit_2_in_one_line(
    setup: tuple[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url, _ = setup
    bad = tmp_path / "bad.toml"
    bad.write_text("[flows.deal_won]\nmax_manual_fallback_frequncy = 0.2\n", encoding="utf-8")
    code, out, err = run(capsys, "--config", str(bad), "--ledger", url)
    assert (code, out) == (2, "")
    assert err == (
        f"harness: error: {bad}: flows.deal_won.max_manual_fallback_frequncy: unknown threshold "
        "(did you mean 'max_manual_fallback_frequency'?); valid: mode, min_examples, "
        "min_duplicate_prevention_success, max_duplicate_effects_escaped, "
        "max_manual_fallback_frequency, max_time_to_recovery_p90, max_runs_failed, max_failed_run_rate, max_findings\n"
    )
    code, _, err = run(capsys, "--config", str(bad), "--since", "yesterday")
    assert code == 2
    assert err == (
        "harness: error: --since 'yesterday': expected a number and a unit s, m, h, d or w, "
        "such as 1d or 12h\n"
    )
    code, _, err = run(capsys, "--ledger", url)
    assert code == 2 and "Missing option '--config'" in err
    good = tmp_path / "good.toml"
    good.write_text(GATE, encoding="utf-8")
    code, _, err = run(capsys, "--config", str(good), "--ledger", url, "--campaign", "nope")
    assert code == 2
    assert err.startswith("harness: error: ledger ") and "no campaign with id 'nope'" in err


def test_gate_on_a_missing_ledger_is_a_usage_error_and_creates_nothing(tmp_path, capsys) -> None:
    from harness.cli import main

    db = tmp_path / "missing" / "ledger.db"
    code = main(["gate", "--config", "scenarios/deal_won/gate.toml", "--ledger", f"sqlite:///{db}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("harness: error: ") and err.count("\n") == 1
    assert not db.exists() and not db.parent.exists()
