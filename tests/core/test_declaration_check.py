"""Effects and write contracts are checked against the world's systems before a campaign runs."""

from __future__ import annotations

from pathlib import Path

import pytest

import harness
from harness import Contract, Effect, Field, Flow, FlowDeclarationError
from harness.cli import main
from harness.flow import WriteContract, check_declarations
from harness.systems import standard_world

TRIGGER = harness.get_trigger("hubspot.deal.closedwon")


def handle(event: object) -> None:
    return None


def _flow(**kw: object) -> Flow:
    return Flow(name="typo", automation=handle, trigger=TRIGGER, **kw)  # type: ignore[arg-type]


def test_a_misspelt_record_kind_names_the_closest_and_the_choices() -> None:
    with pytest.raises(FlowDeclarationError) as info:
        check_declarations(_flow(effects=(Effect("stripe", "invoices"),)), standard_world(seed=1))
    assert str(info.value) == (
        "flow 'typo': Effect('stripe', 'invoices'): stripe stores no record kind 'invoices' "
        "(did you mean 'invoice'?); its kinds: customer, invoiceitem, invoice, checkout.session, subscription"
    )


def test_an_unknown_system_names_the_worlds_systems() -> None:
    world = standard_world(seed=1)
    names = ", ".join(sorted(s.name for s in world.systems))
    with pytest.raises(FlowDeclarationError) as info:
        check_declarations(_flow(effects=(Effect("strip", "invoice"),)), world)
    assert str(info.value) == (
        "flow 'typo': Effect('strip', 'invoice') names system 'strip', which this flow's world "
        f"does not have (did you mean 'stripe'?); its systems: {names} (declare a fake for it "
        "in the flow's world)"
    )
    contract = WriteContract("zendesc", "POST", r"/api/v2/tickets\.json", Contract((Field("ticket.subject", "str"),)))
    with pytest.raises(FlowDeclarationError, match=r"WriteContract\('zendesc', 'POST', .*did you mean 'zendesk'"):
        check_declarations(_flow(write_contracts=(contract,)), world)


def test_correct_declarations_pass() -> None:
    flow = harness.flow.load_flow("scenarios/deal_won/flow.py")
    check_declarations(flow, standard_world(seed=1))


def test_harness_check_refuses_the_typo_before_any_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow_file = tmp_path / "typo_flow.py"
    flow_file.write_text(
        "from harness import Effect, Flow, get_trigger\n\n"
        "def handle(event):\n    return None\n\n"
        "flow = Flow(name='typo', automation=handle, trigger=get_trigger('hubspot.deal.closedwon'),\n"
        "            effects=(Effect('stripe', 'invoices'),))\n",
        encoding="utf-8",
    )
    ledger = tmp_path / "ledger.db"
    code = main(["check", "--flow", str(flow_file), "--examples", "5", "--seed", "1",
                 "--ledger", f"sqlite:///{ledger}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "harness: error: flow 'typo': Effect('stripe', 'invoices'): stripe stores no record kind "
        "'invoices' (did you mean 'invoice'?); its kinds: customer, invoiceitem, invoice, checkout.session, subscription"
    )
