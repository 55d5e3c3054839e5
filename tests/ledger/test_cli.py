"""``harness ledger info|prune|export`` and ``harness simulate`` through the real CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from _ledger_records import campaign, run

from harness.cli import main
from harness.ledger import Ledger

DAY = 86400.0


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_then_info_prune_and_export(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path
) -> None:
    code, out, err = cli(capsys, "simulate", "--days", "20", "--runs-per-day", "30", "--seed", "4",
                         "--flow-name", "refund", "--ledger", sqlite_url)
    assert (code, err) == (0, "")
    assert out.startswith("wrote SYNTHETIC history sim-refund-4-") and "600 runs of flow 'refund'" in out

    code, out, _ = cli(capsys, "ledger", "info", "--ledger", sqlite_url)
    assert code == 0
    assert "schema version   3" in out and "runs             600" in out and "flows            refund" in out
    code, out, _ = cli(capsys, "ledger", "info", "--json", "--ledger", sqlite_url)
    info = json.loads(out)
    assert (info["runs"], info["schema_version"], info["flows"]) == (600, 3, ["refund"])
    assert info["last_wall"] - info["first_wall"] > 19 * DAY

    code, out, _ = cli(capsys, "ledger", "prune", "--older-than", "10d", "--ledger", sqlite_url)
    assert code == 0 and out.startswith("pruned ")
    pruned = int(out.split()[1].replace(",", ""))
    assert 250 < pruned < 350  # about half of 20 days
    with Ledger.open(sqlite_url) as ledger:
        assert ledger.info().runs == 600 - pruned

    code, out, _ = cli(capsys, "ledger", "export", str(tmp_path / "csv"), "--ledger", sqlite_url)
    assert code == 0 and str(tmp_path / "csv" / "runs.csv") in out.splitlines()
    with (tmp_path / "csv" / "runs.csv").open() as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == 600 - pruned


def test_the_ledger_url_comes_from_the_environment(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Ledger.open(sqlite_url) as ledger:
        ledger.start_campaign(campaign())
        ledger.write_runs([run("r1")])
    monkeypatch.setenv("HARNESS_LEDGER_URL", sqlite_url)
    code, out, _ = cli(capsys, "ledger", "info")
    assert code == 0 and f"ledger           {sqlite_url}" in out and "runs             1" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ledger", "prune", "--older-than", "180"),
         "Invalid value for '--older-than': '180' is not a duration: expected a number with a unit"),
        (("ledger", "prune", "--older-than", "d"), "'d' is not a duration"),
        (("ledger", "prune"), "Missing option '--older-than'"),
        (("simulate", "--runs-per-day", "0"), "Invalid value for '--runs-per-day'"),
        (("simulate", "--runs-per-day", "5", "--mode", "staging"), "Invalid value for '--mode'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("harness: error: ") and message in err and err.count("\n") == 1


def test_a_missing_ledger_file_is_not_created_by_info(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere' / 'ledger.db'}"
    code, _, err = cli(capsys, "ledger", "info", "--ledger", url)
    assert code == 2 and "no ledger file at" in err and err.count("\n") == 1
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.postgres
def test_an_unreachable_postgresql_hides_the_password_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = cli(capsys, "ledger", "info", "--ledger",
                       "postgresql+psycopg://ops:s3cret-pw@127.0.0.1:1/ledger")
    assert code == 2 and err.count("\n") == 1
    assert "s3cret-pw" not in err and "postgresql+psycopg://ops:***@127.0.0.1:1/ledger" in err


def test_a_newer_ledger_exits_2(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    import sqlite3

    Ledger.open(sqlite_url).close()
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE harness_meta SET value = '4' WHERE key = 'schema_version'")
    code, _, err = cli(capsys, "ledger", "info", "--ledger", sqlite_url)
    assert code == 2 and "has schema version 4, newer than this harness understands (3)" in err


@pytest.mark.parametrize(
    ("text", "seconds"), [("180d", 180 * DAY), ("12h", 43200.0), ("30m", 1800.0), ("1d12h", 1.5 * DAY),
                     ("2w", 14 * DAY), ("90s", 90.0), ("0.5h", 1800.0)]
)
def test_durations_parse(text: str, seconds: float) -> None:
    from harness._commands.ledger import parse_duration

    assert parse_duration(text) == seconds
