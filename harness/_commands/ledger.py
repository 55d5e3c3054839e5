"""``harness ledger info | prune | export``: look after the ledger database.

``info`` prints the ledger's URL (password hidden), schema version, size,
counts and the date range of its runs (``--json`` for a machine).  ``prune
--older-than 180d`` deletes runs (with their events and inbox items),
findings, flow changes and dedupe claims older than the duration.  ``export
DIR`` writes one CSV file per table into DIR.  Each reads ``--ledger URL``,
else ``$HARNESS_LEDGER_URL``, else ``sqlite:///.harness/ledger.db``; a SQLite
ledger that does not exist yet is an error here, not silently created.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness.errors import InvalidValueError
from harness.ledger import Ledger, LedgerInfo

__all__ = ["COMMANDS", "DURATION_UNITS", "Duration", "ledger_option", "parse_duration"]

LEDGER_HELP = "Ledger URL (default: $HARNESS_LEDGER_URL or sqlite:///.harness/ledger.db)."

#: unit -> seconds for :func:`parse_duration`
DURATION_UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: the longest duration accepted: a century (a bigger one overflows date arithmetic)
MAX_DURATION = 100 * 365 * 86400
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``180d``, ``12h``, ``30m``, ``90s``, ``2w`` or ``1d12h``.

    Raises :class:`ValueError` with the bad value and the expected form.
    """
    compact = text.strip().lower().replace(" ", "")
    if compact and _PART.sub("", compact) == "":
        seconds = float(sum(float(n) * DURATION_UNITS[u] for n, u in _PART.findall(compact)))
        if seconds > MAX_DURATION:
            raise InvalidValueError(
                f"{text!r} is longer than 100 years ({MAX_DURATION // 86400:,}d), the most a "
                "duration may be; nothing in a ledger is older"
            )
        return seconds
    raise InvalidValueError(
        f"{text!r} is not a duration: expected a number with a unit "
        f"(s, m, h, d or w), e.g. 180d, 12h, 30m or 1d12h"
    )


if TYPE_CHECKING:
    # click >= 8.2 types ParamType by its value and input; older clicks are not generic at run time
    _ParamType = click.ParamType[float, Any]
else:
    _ParamType = click.ParamType


class Duration(_ParamType):
    """A click parameter parsed by :func:`parse_duration` (seconds as a float)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def ledger_option(f: Any) -> Any:
    """The ``--ledger URL`` option every ledger-reading command takes."""
    return click.option("--ledger", "ledger_url", metavar="URL", default=None, help=LEDGER_HELP)(f)


def _when(wall: float | None) -> str:
    if wall is None:
        return "-"
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _size(n: int | None) -> str:
    if n is None:
        return "- (in memory)"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def _info_lines(info: LedgerInfo) -> list[str]:
    span = ""
    if info.first_wall is not None and info.last_wall is not None:
        span = f" ({(info.last_wall - info.first_wall) / 86400:.1f} days)"
    rows = [
        ("ledger", info.url),
        ("schema version", str(info.schema_version)),
        ("size", _size(info.size_bytes)),
        ("runs", f"{info.runs:,}"),
        ("events", f"{info.events:,}"),
        ("campaigns", f"{info.campaigns:,}"),
        ("findings", f"{info.findings:,}"),
        ("open inbox items", f"{info.inbox_open:,}"),
        ("runs from", _when(info.first_wall)),
        ("runs until", _when(info.last_wall) + span),
        ("flows", ", ".join(info.flows) or "-"),
    ]
    return [f"{name:<17}{value}" for name, value in rows]


@click.group("ledger")
def ledger_group() -> None:
    """Inspect, prune and export the ledger (the record of every run)."""


@ledger_group.command("info")
@ledger_option
@click.option("--json", "as_json", is_flag=True, help="Print the information as JSON.")
def info_command(ledger_url: str | None, as_json: bool) -> None:
    """Size, counts, date range and schema version."""
    with Ledger.open(ledger_url, create=False) as ledger:
        info = ledger.info()
    if as_json:
        payload = {name: getattr(info, name) for name in info.__slots__}
        payload["flows"] = list(info.flows)
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        click.echo("\n".join(_info_lines(info)))


@ledger_group.command("prune")
@ledger_option
@click.option(
    "--older-than",
    "older_than",
    type=Duration(),
    required=True,
    metavar="DURATION",
    help="Delete what is older than this, e.g. 180d, 12h, 30m.",
)
def prune_command(ledger_url: str | None, older_than: float) -> None:
    """Delete what is older than a duration such as 180d.

    Runs with their events and inbox items, findings, flow changes and dedupe
    claims made before the cutoff, and campaigns left empty.
    """
    now = time.time()
    with Ledger.open(ledger_url, create=False) as ledger:
        deleted = ledger.prune(older_than=older_than, wall_now=now)
        url = ledger.url
    click.echo(
        f"pruned {deleted:,} run(s) started before {_when(now - older_than)} from {url}"
    )


@ledger_group.command("export")
@ledger_option
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_command(ledger_url: str | None, directory: Path) -> None:
    """Write one CSV per table into DIRECTORY.

    DIRECTORY is created if needed; existing files of the same names are
    replaced.  One ``<table>.csv`` per table, header row first.
    """
    with Ledger.open(ledger_url, create=False) as ledger:
        paths = ledger.export_csv(directory)
    for path in paths:
        click.echo(str(path))


COMMANDS: list[click.Command] = [ledger_group]
