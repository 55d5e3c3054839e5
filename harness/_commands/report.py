"""``harness report``: a pilot report, a 90-day review or a campaign report from the ledger.

``harness report --ledger URL [--flow F] [--since 90d | --pilot pilot.toml]
[--campaign ID] --out FILE``; the format follows the suffix of ``--out``
(``.html``, ``.json``, ``.csv``, ``.xml`` for JUnit).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import click

from harness._commands._options import flow_name_options, resolve_flow_name
from harness._commands._outputs import check_outputs
from harness.errors import UsageError

__all__ = ["COMMANDS", "parse_since"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


#: the earliest moment a window may start: the Unix epoch.  A ledger holds no run
#: before it, and a window from year 1000 made the report walk ten centuries of weeks.
EARLIEST = 0.0


def parse_since(text: str, *, now: float, option: str = "--since") -> float:
    """``90d``, ``12w``, ``36h`` (before ``now``) or an ISO date/time (UTC) as epoch seconds.

    A moment before 1970-01-01 (the Unix epoch; no ledger holds a run before it)
    is refused with a usage error rather than walked through.
    """
    m = _DURATION.match(text)
    if m:
        seconds = float(m.group(1)) * _UNITS[m.group(2).lower()]
        if seconds <= 0:
            raise UsageError(f"{option} {text!r}: the window must be longer than zero")
        if now - seconds < EARLIEST:
            raise UsageError(
                f"{option} {text!r} reaches back before 1970-01-01, where no ledger has runs; "
                f"give at most {int((now - EARLIEST) // 86400):,}d or a date from 1970-01-01"
            )
        return now - seconds
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option} {text!r}: expected a duration such as 90d, 12w or 36h, or a date such "
            "as 2026-09-01"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if when.timestamp() < EARLIEST:
        raise UsageError(
            f"{option} {text!r} is before 1970-01-01, where no ledger has runs; give a date "
            "from 1970-01-01 on"
        )
    return when.timestamp()


@click.command("report")
@click.option("--ledger", "ledger_url", metavar="URL", default=None,
              help="Ledger URL (default: $HARNESS_LEDGER_URL or sqlite:///.harness/ledger.db).")
@flow_name_options("Only this flow (default: every flow).")
@click.option("--since", metavar="WHEN", default=None,
              help="Start of the window: a duration back from now (90d, 12w, 36h) or a date.")
@click.option("--until", metavar="WHEN", default=None,
              help="End of the window (exclusive): a date, or a duration back from now.")
@click.option("--pilot", "pilot_path", metavar="FILE", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="A pilot file (TOML): flow, window, scope and thresholds; gives a verdict.")
@click.option("--campaign", "campaign_ids", metavar="ID", multiple=True,
              help="Only runs of this campaign (repeatable).")
@click.option("--title", metavar="TEXT", default=None, help="The report's title.")
@click.option("--limit-runs", metavar="N", default=100, show_default=True,
              type=click.IntRange(0, 100_000), help="Runs listed in the HTML run table.")
@click.option("--out", "out", metavar="FILE", required=True, type=click.Path(path_type=Path),
              help="Where to write: .html, .json, .csv or .xml (JUnit).")
def report_command(
    ledger_url: str | None,
    flow_file: str | None,
    flow_name: str | None,
    since: str | None,
    until: str | None,
    pilot_path: Path | None,
    campaign_ids: tuple[str, ...],
    title: str | None,
    limit_runs: int,
    out: Path,
) -> None:
    """Write a report over the ledger: a pilot verdict, a 90-day review or a campaign report.

    \b
    harness report --flow-name deal_won --since 90d --out reports/review.html
    harness report --pilot pilot.toml --out reports/pilot.html
    harness report --campaign c-1234 --out reports/run.xml     # JUnit for CI
    """
    from harness.ledger import Ledger
    from harness.report import build_report, load_pilot
    from harness.report.render import FORMATS, render

    flow = resolve_flow_name(flow_file, flow_name)
    if out.suffix.lower() not in FORMATS:
        raise UsageError(
            f"--out {str(out)!r}: unknown report format {out.suffix or '(no suffix)'!r}; "
            f"expected a file ending in {', '.join(sorted(FORMATS))}"
        )
    check_outputs(out=out, makes_dirs=("out",))
    if pilot_path is not None and (since is not None or until is not None):
        raise UsageError(
            "--pilot and --since/--until both set the window; the pilot file's [window] "
            "decides, so drop --since/--until"
        )
    now = time.time()
    since_at = parse_since(since, now=now) if since is not None else None
    until_at = parse_since(until, now=now, option="--until") if until is not None else None
    if since_at is not None and until_at is not None and until_at <= since_at:
        raise UsageError(f"--until {until!r} is not after --since {since!r}: the window is empty")
    pilot = load_pilot(pilot_path) if pilot_path is not None else None
    with Ledger.open(ledger_url, create=False) as ledger:
        data = build_report(
            ledger,
            flow=flow,
            since=since_at,
            until=until_at,
            pilot=pilot,
            campaign_ids=list(campaign_ids) or None,
            title=title,
            limit_runs=limit_runs,
            wall_now=now,
        )
        path = render(data, out)
    size = path.stat().st_size
    if data.empty:
        click.echo(f"harness: {data.empty_message}", err=True)
    elif data.verdict is not None:
        click.echo(f"verdict ({data.verdict.mode}): {data.verdict.decision.upper()}: {data.verdict.reason}")
    click.echo(f"report written: {path} ({size / 1024:,.0f} KiB)")

COMMANDS: list[click.Command] = [report_command]
