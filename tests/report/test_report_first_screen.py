"""Each report kind in real headless Chromium at 1400 x 900: the first screen holds the
verdict, the numbers that decided it and the findings list; no text overflows its box."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from _report_cdp import Browser, available
from conftest import T0

from harness.chaos import run_campaign
from harness.flow import Flow
from harness.ledger import Ledger
from harness.ledger.simulate import simulate_history
from harness.report import write_report
from harness.report.pilot import load_pilot
from harness.triggers import get_trigger

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(not available(), reason="needs Debian's chromium (apt-get install chromium)"),
]

ROOT = Path(__file__).resolve().parents[2]

FIRST_SCREEN = """
(() => {
  const box = sel => { const el = document.querySelector(sel); if (!el) return null;
    const r = el.getBoundingClientRect(); return {top: r.top + scrollY, bottom: r.bottom + scrollY,
    text: el.innerText}; };
  return {verdict: box('#verdict'), numbers: [...document.querySelectorAll('#verdict .nums .n1')]
            .map(el => { const r = el.getBoundingClientRect();
                         return {bottom: r.bottom + scrollY, text: el.innerText}; }),
          findings: box('#top-findings')};
})()
"""

# Every visible element whose content is wider than its box, outside the boxes that are
# meant to scroll sideways (tables, code blocks, timelines).
OVERFLOWS = """
(() => [...document.querySelectorAll('main *')].filter(el => {
  if (el.closest('.scroll, pre, svg')) return false;
  const st = getComputedStyle(el);
  if (st.display === 'inline' || el.clientWidth === 0 || el.offsetParent === null) return false;
  return el.scrollWidth > el.clientWidth + 1;
}).map(el => el.tagName + '.' + el.className + ': ' + el.innerText.slice(0, 80)))()
"""


def _campaign_report(tmp: Path) -> Path:
    flow = Flow(
        name="fragile_duplicate",
        automation=f"{ROOT / 'tests' / 'quality' / 'automations' / 'fragile_duplicate.py'}:handle",
        trigger=get_trigger("hubspot.deal.closedwon"),
    )
    with Ledger.open(f"sqlite:///{tmp / 'campaign.db'}") as led:
        result = run_campaign(flow, ledger=led, examples=25, seed=3)
        assert result.findings
        return write_report(led, tmp / "campaign.html", flow=flow.name,
                            campaign_ids=result.campaign_ids)


def _history(tmp: Path, name: str) -> Ledger:
    led = Ledger.open(f"sqlite:///{tmp / name}")
    simulate_history(led, flow="deal_won", days=35, runs_per_day=12, seed=11, end_wall=T0)
    return led


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("first-screen")
    out = {"report": _campaign_report(tmp)}
    with _history(tmp, "review.db") as led:
        out["review"] = write_report(led, tmp / "review.html", flow="deal_won",
                                     since=T0 - 35 * 86400, until=T0 + 1, wall_now=T0)
    pilot = load_pilot(ROOT / "scenarios" / "deal_won" / "pilot.toml")
    with _history(tmp, "pilot.db") as led:
        window = pilot.until - pilot.since  # the pilot's own window, moved onto the history
        moved = dataclasses.replace(pilot, since=T0 - window, until=T0)
        out["pilot"] = write_report(led, tmp / "pilot.html", pilot=moved, wall_now=T0)
    return out


@pytest.mark.parametrize("kind", ["report", "review", "pilot"])
def test_the_first_screen_holds_what_decides(
    kind: str, reports: dict[str, Path], tmp_path: Path
) -> None:
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(reports[kind].resolve().as_uri(), width=1400, height=900)
        page = browser.report()
        assert page.console_errors == []
        seen = browser.evaluate(FIRST_SCREEN)
        assert seen["verdict"] is not None and seen["verdict"]["bottom"] <= 900, seen["verdict"]
        assert len(seen["numbers"]) == 3
        assert all(n["bottom"] <= 900 and any(c.isdigit() for c in n["text"]) for n in seen["numbers"])
        assert seen["findings"] is not None and seen["findings"]["top"] < 900
        if kind == "report":
            assert "harness replay" in seen["findings"]["text"]
        assert browser.evaluate(OVERFLOWS) == []
        width = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1] + 1
        browser.screenshot(tmp_path / f"{kind}.png", full_page=False)
    finally:
        browser.close()
