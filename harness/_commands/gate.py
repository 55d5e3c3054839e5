"""``harness gate``: judge campaigns in the ledger against a gate file, outside pytest.

Exit status: 0 when every threshold is met, 1 when one is broken, 2 when the
gate file, an argument or the ledger URL is wrong.  Which campaigns are
judged, for each flow of the gate in the gate's mode:

* ``--campaign ID`` (repeatable): exactly those campaigns;
* ``--since 1d``: every completed campaign started in that window;
* neither: the most recent completed campaign of each flow.
"""

from __future__ import annotations

import os
import re
import time

import click

from harness.errors import RunBrokenError, UsageError, did_you_mean

__all__ = ["COMMANDS", "parse_since"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_since(text: str, *, now: float | None = None) -> float:
    """``"1d"``, ``"12h"``, ``"30m"``, ``"2w"``, ``"90s"`` -> epoch seconds that long before ``now``."""
    match = _SINCE.match(text)
    if match is None:
        raise UsageError(
            f"--since {text!r}: expected a number and a unit s, m, h, d or w, such as 1d or 12h"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds > _MAX_SINCE:
        raise UsageError(
            f"--since {text!r}: longer than 100 years ({_MAX_SINCE // 86400:,}d), the most a "
            "window may be; nothing in a ledger is older"
        )
    return (time.time() if now is None else now) - seconds


#: the longest --since: a century (no ledger is older; a bigger one overflows dates)
_MAX_SINCE = 100 * 365 * 86400


def _summary_file() -> str | None:
    """``$GITHUB_STEP_SUMMARY``, checked writable before the gate judges anything."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return None
    try:
        with open(summary, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise RunBrokenError(
            f"cannot write $GITHUB_STEP_SUMMARY {summary!r}: {exc.strerror or exc}; the gate was "
            "not judged (fix the variable or unset it)"
        ) from None
    return summary


@click.command("gate")
@click.option(
    "--config",
    "config_path",
    required=True,
    metavar="FILE",
    help="The gate file (TOML), e.g. scenarios/deal_won/gate.toml.",
)
@click.option(
    "--ledger",
    "ledger_url",
    metavar="URL",
    default=None,
    help="Ledger URL (default: $HARNESS_LEDGER_URL or sqlite:///.harness/ledger.db).",
)
@click.option(
    "--campaign",
    "campaign_ids",
    metavar="ID",
    multiple=True,
    help="Judge this campaign (repeatable); default: the latest campaign of each flow.",
)
@click.option(
    "--since",
    metavar="DURATION",
    default=None,
    help="Judge every completed campaign started this long ago or later: 30m, 12h, 1d, 2w.",
)
def gate_command(
    config_path: str, ledger_url: str | None, campaign_ids: tuple[str, ...], since: str | None
) -> int:
    """Pass or fail a CI job on the reliability thresholds of a gate file.

    Prints each broken threshold with its measured value and the findings'
    reproduce lines; exits 0 (passed), 1 (failed) or 2 (bad gate file or
    arguments).  Writes a Markdown summary to $GITHUB_STEP_SUMMARY when set.
    """
    from harness.gate import evaluate_ledger, load_gate
    from harness.ledger import Ledger

    if campaign_ids and since is not None:
        raise UsageError("give --campaign or --since, not both")
    start = parse_since(since) if since is not None else None
    summary = _summary_file()
    gate = load_gate(config_path)
    # a gate judges what was recorded: a ledger that does not exist is a mistake,
    # not an empty history to create
    with Ledger.open(ledger_url, create=False) as ledger:
        notes: list[str] = []
        ids = list(campaign_ids)
        for cid in ids:
            ledger.campaign(cid)  # an unknown id is a usage error, before any output
        if not ids:
            known = ledger.info().flows
            for name, fg in gate.flows.items():
                if name not in known:
                    notes.append(
                        f"the ledger has no run of flow {name!r}{did_you_mean(name, known)}; "
                        f"flows in the ledger: {', '.join(known) or 'none'}"
                    )
                found = [
                    c.id
                    for c in ledger.campaigns(flow=name)
                    if c.mode == fg.mode
                    and c.status == "completed"
                    and (start is None or c.wall_started >= start)
                ]
                ids.extend(found if start is not None else found[-1:])
        result = evaluate_ledger(gate, ledger, ids, notes=notes)
    click.echo(result.render_text())
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(result.render_markdown())
        except OSError as exc:
            # the verdict is printed above, but the job's summary is incomplete: neither a pass
            # nor a failure of the gate, a broken run
            raise RunBrokenError(
                f"the gate {'passed' if result.passed else 'failed'}, but writing "
                f"$GITHUB_STEP_SUMMARY {summary!r} failed: {exc.strerror or exc}"
            ) from None
    return 0 if result.passed else 1


COMMANDS: list[click.Command] = [gate_command]
