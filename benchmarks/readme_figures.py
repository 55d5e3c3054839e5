"""Regenerate the README's report screenshots (and, with --tables, its measured tables).

    python -m benchmarks.readme_figures [--out docs/screenshots] [--tables]

Writes one 1400 x 900 screenshot of the first screen of each report kind, taken
by Debian's headless ``chromium``:

* ``report.png``: ``harness demo``'s campaign report (the demo's default seed);
* ``review.png``: a 90-day review over a synthetic history (``harness simulate``);
* ``pilot.png``: the pilot report of ``scenarios/deal_won/pilot.toml`` over that
  history, its window moved onto the history's last two weeks.

With ``--tables`` it also reruns ``python -m benchmarks.findings_table`` and
prints the Markdown to paste into the README's "Bare vs orchestrated" section.
Nothing here talks to the network: the pages are local files, and Chromium is
started with its background networking off.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness._commands.demo import DEMO_SEED
from harness.chaos import DEFAULT_EXAMPLES, run_campaign
from harness.flow import load_flow
from harness.ledger import Ledger
from harness.ledger.simulate import simulate_history
from harness.report import write_report
from harness.report.pilot import load_pilot

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1400,900",
)


def reports(tmp: Path) -> dict[str, Path]:
    """The three report kinds, written as HTML into ``tmp``."""
    out: dict[str, Path] = {}
    flow = load_flow(str(ROOT / "scenarios" / "deal_won" / "flow.py"))
    with Ledger.open(f"sqlite:///{tmp / 'demo.db'}") as led:
        result = run_campaign(flow, ledger=led, examples=DEFAULT_EXAMPLES, seed=DEMO_SEED)
        out["report"] = write_report(led, tmp / "report.html", flow=flow.name,
                                     campaign_ids=result.campaign_ids,
                                     title=f"harness demo: {flow.name}")
    end = time.time()
    with Ledger.open(f"sqlite:///{tmp / 'history.db'}") as led:
        simulate_history(led, flow="deal_won", days=90, runs_per_day=60, seed=7, end_wall=end)
        out["review"] = write_report(led, tmp / "review.html", flow="deal_won",
                                     since=end - 90 * 86400, wall_now=end)
        # named relative to the checkout, as a user would type it (the report prints it)
        pilot = load_pilot(os.path.relpath(ROOT / "scenarios" / "deal_won" / "pilot.toml"))
        window = pilot.until - pilot.since
        moved = dataclasses.replace(pilot, since=end - window, until=end + 1)
        out["pilot"] = write_report(led, tmp / "pilot.html", pilot=moved, wall_now=end)
    return out


def screenshot(page: Path, png: Path, profile: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
         page.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--tables", action="store_true", help="also rerun the findings table")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for kind, page in reports(tmp).items():
            png = args.out / f"{kind}.png"
            screenshot(page, png, tmp / f"profile-{kind}")
            print(f"wrote {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")
    if args.tables:
        from benchmarks import findings_table

        findings_table.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
