"""Quality beyond HubSpot deal webhooks: a generic webhook, a schedule, GitHub's and Slack's webhooks start them.

Each fragile automation (written the way teams write them) must be caught with
its oracle class, each robust one must give no finding, at three seeds.  The
generic webhook is declared from one example event (``webhook_trigger``); the
schedule is the built-in ``hubspot.deal.closedwon.poll`` (a tick every 15
minutes, deals won in the fakes between ticks).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chaos import DEFAULT_EXAMPLES, CampaignResult, run_campaign
from harness.flow import Contract, Field, Flow
from harness.ledger import Ledger
from harness.triggers import get_trigger, webhook_trigger

pytestmark = pytest.mark.slow

AUTOMATIONS = Path(__file__).resolve().parent / "automations"
SEEDS = (20260101, 7, 424242)

ORDER_PAID = webhook_trigger(
    "shop.order.paid",
    example={
        "id": "evt_01HZX3KQ7T",
        "type": "order.paid",
        "created_at": "2026-01-01T00:00:00Z",
        "data": {"item": {"id": 1041, "email": "jane.doe@example.com", "total": "120.00",
                          "currency": "EUR"}},
    },
    object_key="data.item.id",
    event_id="id",
    contract=Contract(
        (
            Field("id", "str", meaning="the shop's id of this delivery"),
            Field("type", "enum", allowed=("order.paid",)),
            Field("data.item.id", "int", meaning="the order"),
            Field("data.item.email", "email"),
            Field("data.item.total", "money"),
            Field("data.item.currency", "str"),
        )
    ),
    defining=("type",),
)

CASES = {
    # name: (trigger, expected oracle or None for robust)
    "order_paid": (ORDER_PAID, "duplicate_effect"),
    "order_paid_robust": (ORDER_PAID, None),
    "poll_won_deals": (get_trigger("hubspot.deal.closedwon.poll"), "duplicate_effect"),
    "poll_won_deals_lenient": (get_trigger("hubspot.deal.closedwon.poll"), "silent_loss"),
    "poll_won_deals_robust": (get_trigger("hubspot.deal.closedwon.poll"), None),
    # GitHub's issues webhook: a redelivery keeps X-GitHub-Delivery; the fragile one comments twice
    "fragile_github_issue_opened": (get_trigger("github.issues.opened"), "duplicate_effect"),
    "robust_github_issue_opened": (get_trigger("github.issues.opened"), None),
    # Slack's Events API: a retry keeps event_id; the fragile one files a second issue
    "fragile_slack_mention": (get_trigger("slack.app_mention"), "duplicate_effect"),
    "robust_slack_mention": (get_trigger("slack.app_mention"), None),
}


def _flow_of(name: str) -> Flow:
    return Flow(name=name, automation=f"{AUTOMATIONS / name}.py:handle", trigger=CASES[name][0])


def _campaign(name: str, seed: int, ledger: Ledger) -> CampaignResult:
    return run_campaign(_flow_of(name), ledger=ledger, examples=DEFAULT_EXAMPLES, seed=seed, modes=("bare",), shrink=False)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(n for n, (_, o) in CASES.items() if o))
def test_fragile_automation_started_by_a_new_trigger_is_caught(name: str, seed: int, sqlite_ledger: Ledger) -> None:
    result = _campaign(name, seed, sqlite_ledger)
    found = {f.oracle for f in result.findings}
    assert CASES[name][1] in found, f"{name} at seed {seed}: expected {CASES[name][1]}, found {sorted(found)}"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(n for n, (_, o) in CASES.items() if not o))
def test_robust_automation_started_by_a_new_trigger_gives_no_finding(
    name: str, seed: int, sqlite_ledger: Ledger
) -> None:
    result = _campaign(name, seed, sqlite_ledger)
    assert not result.findings, "\n\n".join(f"{f.oracle}: {f.message}\n{f.program}" for f in result.findings)
    assert sum(result.faults_injected["bare"].values()) > DEFAULT_EXAMPLES, "the campaign injected faults"


def test_a_schedule_finding_replays_from_its_scenario_json(sqlite_ledger: Ledger) -> None:
    from harness.chaos import Scenario, replay

    result = run_campaign(_flow_of("poll_won_deals"), ledger=sqlite_ledger, examples=DEFAULT_EXAMPLES,
                          seed=SEEDS[0], modes=("bare",))
    finding = next(f for f in result.findings if f.oracle == "duplicate_effect")
    scenario = Scenario.from_json(finding.scenario_json)
    assert scenario.ticks
    assert "double=True" in finding.program or "overlapping=True" in finding.program, finding.program
    _, hits = replay(_flow_of("poll_won_deals"), scenario, mode="bare")
    assert "duplicate_effect" in {h.oracle for h in hits}
