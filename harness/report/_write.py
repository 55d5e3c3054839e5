"""``write_report``: one call from a ledger to a report file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UsageError
from harness.report._build import ContractLine, build_report
from harness.report.pilot import Pilot, load_pilot
from harness.report.render import FORMATS, render

if TYPE_CHECKING:
    from harness.ledger import Ledger

__all__ = ["write_report"]


def write_report(
    ledger: Ledger,
    out: Path | str,
    *,
    flow: str | None = None,
    since: float | None = None,
    until: float | None = None,
    pilot: Pilot | Path | str | None = None,
    campaign_ids: Sequence[str] | Mapping[str, str] | None = None,
    title: str | None = None,
    contract: Sequence[ContractLine] | None = None,
    owners: Sequence[tuple[str, str]] | None = None,
    wall_now: float | None = None,
    limit_runs: int = 100,
) -> Path:
    """Write the report over ``ledger``'s runs to ``out``; return its path.

    The format follows the suffix: ``.html`` (self-contained page), ``.json``,
    ``.csv`` (metrics in long form) or ``.xml`` (JUnit).  ``since``/``until``
    bound the runs' wall start time (epoch seconds); ``pilot`` (a
    :class:`~harness.report.Pilot` or the path of a pilot TOML file) sets the
    flow, window, scope and thresholds and makes this a pilot report with a
    verdict.  ``campaign_ids`` narrows to campaigns (a mapping mode -> id, as
    ``CampaignResult.campaign_ids``, is accepted).  ``contract`` is an optional list of ``(field, meaning, rule)``
    sentences (from a Flow's contract) shown beside the violations seen;
    ``owners`` an optional list of ``(owner, runbook)``.  ``limit_runs`` caps
    the run list so a million-run ledger still gives a file of a few MB.

    An unknown flow or campaign, a bad pilot file or an unknown suffix raises
    :class:`~harness.errors.UsageError` before anything is written; an empty
    window gives a report that says so.
    """
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise UsageError(
            f"--out {str(path)!r}: unknown report format {path.suffix or '(no suffix)'!r}; "
            f"expected a file ending in {', '.join(sorted(FORMATS))}"
        )
    if isinstance(pilot, str | Path):
        pilot = load_pilot(pilot)
    if since is not None and until is not None and until <= since:
        raise UsageError(f"the window is empty: until ({until}) is not after since ({since})")
    data = build_report(
        ledger,
        flow=flow,
        since=since,
        until=until,
        pilot=pilot,
        campaign_ids=campaign_ids,
        title=title,
        contract=contract,
        owners=owners,
        wall_now=wall_now,
        limit_runs=limit_runs,
    )
    return render(data, path)
