"""The pilot file: a valid file parses; each kind of mistake gives one clear message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.report import Thresholds, load_pilot, parse_pilot

GOOD = """
flow = "deal_won"
title = "Billing pilot"
owner = "revops@example.com"
runbook = "https://wiki.example.com/runbooks/deal_won"

[window]
start = 2026-09-01
days = 14

[scope]
segments = ["new customer"]
mode = "production"
sample = 0.25

[thresholds]
max_manual_fallback_frequency = 0.2
min_runs_per_segment = 50
"""


def epoch(y: int, m: int, d: int) -> float:
    return dt.datetime(y, m, d, tzinfo=dt.UTC).timestamp()


def test_a_valid_pilot_file_parses_with_defaults_for_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "pilot.toml"
    path.write_text(GOOD)
    p = load_pilot(path)
    assert (p.flow, p.title, p.mode, p.segments, p.sample) == (
        "deal_won", "Billing pilot", "production", ("new customer",), 0.25,
    )
    assert (p.since, p.until) == (epoch(2026, 9, 1), epoch(2026, 9, 15))
    assert p.thresholds.max_manual_fallback_frequency == 0.2
    assert p.thresholds.min_runs_per_segment == 50
    assert p.thresholds.max_duplicate_effects_escaped == Thresholds().max_duplicate_effects_escaped


def test_end_may_be_a_datetime_or_iso_string() -> None:
    p = parse_pilot('flow = "f"\n[window]\nstart = "2026-09-01T08:00:00Z"\nend = 2026-09-02T08:00:00Z\n')
    assert p.until - p.since == 86400.0


def err(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_pilot(text, path="pilot.toml")
    message = str(info.value)
    assert message.startswith("pilot.toml: "), message
    assert "\n" not in message.strip()
    return message


def test_bad_toml_names_the_file_and_the_line() -> None:
    message = err('flow = "deal_won\n[window]\n')
    assert "not valid TOML" in message and "line 1" in message


def test_unknown_key_suggests_the_close_one() -> None:
    message = err('flow = "f"\n[window]\nstart = 2026-09-01\ndays = 3\n[thresholds]\nmax_manual_fallback_frequence = 0.1\n')
    assert "thresholds.max_manual_fallback_frequence: unknown key" in message
    assert "did you mean 'max_manual_fallback_frequency'" in message
    message = err('flwo = "f"\n')
    assert "flwo: unknown key (did you mean 'flow'?)" in message


def test_wrong_types_say_what_was_expected() -> None:
    base = 'flow = "f"\n[window]\nstart = 2026-09-01\ndays = 3\n'
    assert "thresholds.max_failed_run_rate: must be a number, got a string: '5%'" in err(
        base + '[thresholds]\nmax_failed_run_rate = "5%"\n'
    )
    assert "flow: must be a non-empty string, got an integer: 3" in err("flow = 3\n")
    assert "scope.segments: must be an array of non-empty strings" in err(base + "[scope]\nsegments = [1]\n")
    assert "window.start: must be a date" in err('flow = "f"\n[window]\nstart = true\ndays = 1\n')
    assert "window: must be a table" in err('flow = "f"\nwindow = 3\n')
    assert "thresholds.min_runs_per_segment: must be a whole number" in err(
        base + "[thresholds]\nmin_runs_per_segment = 2.5\n"
    )


def test_values_out_of_range() -> None:
    base = 'flow = "f"\n[window]\nstart = 2026-09-01\ndays = 3\n'
    assert "is a fraction between 0 and 1, got 5" in err(base + "[thresholds]\nmax_failed_run_rate = 5\n")
    assert "must be >= 0" in err(base + "[thresholds]\nmax_flow_changes = -1\n")
    assert "scope.mode: unknown mode 'orchestrate' (did you mean 'orchestrated'?)" in err(
        base + '[scope]\nmode = "orchestrate"\n'
    )
    assert "scope.sample: is the share of traffic in (0, 1]" in err(base + "[scope]\nsample = 0\n")


def test_missing_or_contradictory_window() -> None:
    assert "flow: missing" in err("[window]\nstart = 2026-09-01\ndays = 1\n")
    assert "window: missing" in err('flow = "f"\n')
    assert "window.start: missing" in err('flow = "f"\n[window]\ndays = 3\n')
    assert "window.end: missing" in err('flow = "f"\n[window]\nstart = 2026-09-01\n')
    assert "give either 'end' or 'days'" in err(
        'flow = "f"\n[window]\nstart = 2026-09-01\nend = 2026-09-02\ndays = 1\n'
    )
    assert "window.end: must be after window.start" in err(
        'flow = "f"\n[window]\nstart = 2026-09-02\nend = 2026-09-01\n'
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pilot file not found"):
        load_pilot(tmp_path / "nope.toml")
