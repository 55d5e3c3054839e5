"""The invoice-sync flow: its automation, its trigger, and its world with Books in it.

    harness check --flow scenarios/invoice_sync/flow.py
"""

from pathlib import Path

from books import books_world

from harness import Flow
from harness.triggers import get_trigger

HERE = Path(__file__).resolve().parent

flow = Flow(
    name="invoice_sync",
    automation=f"{HERE / 'automation.py'}:handle",
    trigger=get_trigger("hubspot.deal.closedwon"),
    owner="finance-ops",
    dedupe_key="deal:{objectId}",
    world=books_world,
    description="A won deal opens its invoice in Books (an accounting API the harness does not bundle).",
)
