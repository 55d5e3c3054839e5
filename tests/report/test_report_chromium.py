"""The HTML report in a real headless Chromium: no console error, no network request,
the verdict and the four metrics visible on a desktop and a phone screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _report_cdp import Browser, available
from _report_records import T0

from harness.ledger import Ledger
from harness.ledger.simulate import simulate_history
from harness.report import DECISIONS, write_report

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(not available(), reason="needs Debian's chromium (apt-get install chromium)"),
]

VISIBLE = """
(() => ['verdict', 'kpi-failed', 'kpi-recovery', 'kpi-dedupe', 'kpi-fallback'].map(id => {
  const el = document.getElementById(id);
  if (!el) return {id, shown: false, top: -1, text: ''};
  const r = el.getBoundingClientRect(), st = getComputedStyle(el);
  return {id, shown: r.width > 0 && r.height > 0 && st.visibility === 'visible' && st.display !== 'none'
                     && st.opacity !== '0', top: r.top + window.scrollY, text: el.innerText};
}))()
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("chromium-report")
    with Ledger.open(f"sqlite:///{tmp / 'ledger.db'}") as led:
        simulate_history(led, flow="deal_won", days=35, runs_per_day=12, seed=11, end_wall=T0)
        simulate_history(led, flow="deal_won", days=35, runs_per_day=6, seed=12, end_wall=T0, mode="bare")
        return write_report(led, tmp / "review.html", flow="deal_won", since=T0 - 35 * 86400,
                            until=T0 + 1, wall_now=T0)


def open_page(report: Path, profile: Path, **kw: Any) -> tuple[Browser, Any]:
    browser = Browser(profile)
    try:
        browser.open(report.resolve().as_uri(), **kw)
        return browser, browser.report()
    except BaseException:
        browser.close()
        raise


def test_desktop_shows_the_verdict_and_four_metrics_without_errors_or_requests(
    report: Path, tmp_path: Path
) -> None:
    browser, page = open_page(report, tmp_path / "profile", width=1280, height=900)
    try:
        assert page.console_errors == []
        assert page.requests == [report.resolve().as_uri()], "the page requested something else"
        shown = browser.evaluate(VISIBLE)
        assert all(item["shown"] for item in shown), shown
        verdict = shown[0]["text"].lower()
        assert any(word in verdict.split() for word in DECISIONS), verdict
        assert shown[0]["top"] < 900, "the verdict is not on the first screen"
        for item in shown[1:]:
            assert any(ch.isdigit() for ch in item["text"]) or "n/a" in item["text"], item
        shot = browser.screenshot(tmp_path / "report-desktop.png")
        assert shot.stat().st_size > 20_000
    finally:
        browser.close()


def test_phone_screen_has_no_sideways_scroll(report: Path, tmp_path: Path) -> None:
    browser, page = open_page(report, tmp_path / "profile", width=390, height=844, mobile=True)
    try:
        assert page.console_errors == []
        width = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1] + 1, f"page is {width[0]} px wide on a {width[1]} px screen"
        assert all(item["shown"] for item in browser.evaluate(VISIBLE))
        browser.screenshot(tmp_path / "report-phone.png", full_page=False)
    finally:
        browser.close()
