"""The harness's declaration of the Shopify-order-to-QuickBooks automation (the automation is untouched).

It says who owns the flow, what starts it (Shopify's ``orders/create`` webhook:
the headers and the order), how to recognise a second delivery of the same
order, what the flow must leave in QuickBooks and Slack, what a correct
QuickBooks write looks like, and what a person does when it cannot finish.

    harness check --flow scenarios/shopify_order_quickbooks/flow.py --seed 3
"""

from pathlib import Path

import harness
from harness import Contract, Effect, Field, Flow, Policy, RetryPolicy, WriteContract

HERE = Path(__file__).resolve().parent

RUNBOOK = """\
1. Open the inbox item: `harness inbox show ID`. It lists what was already made
   (QuickBooks customer and invoice, the #sales message) and the last request and response.
2. Never create a second invoice: in QuickBooks search invoices for the memo
   "Shopify order #<number>" first.
3. An order without an email (point-of-sale orders have none): create or pick the
   customer by name in QuickBooks, then `harness inbox retry ID`.
4. Post the #sales message by hand if it is missing.
5. Close the item with `harness inbox resolve ID --note "..."`.
"""

NO_NONE = r"(?!.*\b(?:None|null)\b).*\S.*"

flow = Flow(
    name="shopify_order_quickbooks",
    automation=f"{HERE / 'automation.py'}:handle",
    trigger=harness.get_trigger("shopify.orders.create"),
    owner="finance-ops@acme.example",
    # Shopify resends a delivery with the same X-Shopify-Event-Id; one order is one invoice
    dedupe_key="shopify-order:{body[id]}",
    effects=(
        Effect("quickbooks", "invoice", description="exactly one QuickBooks invoice per Shopify order"),
        Effect("slack", "message", description="one message in #sales per order"),
    ),
    write_contracts=(
        WriteContract(
            "quickbooks",
            "POST",
            r"/v3/company/\d+/invoice",
            Contract(
                (
                    Field("Line.0.Amount", "money", pattern=r"(?!0+(\.0+)?$)\d+(\.\d+)?",
                          meaning="the order line's total, never 0"),
                    Field("Line.0.Description", "str", pattern=NO_NONE, meaning="the product's title"),
                    Field("CurrencyRef.value", "str", pattern=r"[A-Z]{3}", meaning="the shop currency"),
                )
            ),
            meaning="an invoice for what was ordered",
        ),
        WriteContract(
            "quickbooks",
            "POST",
            r"/v3/company/\d+/customer",
            Contract((Field("DisplayName", "str", pattern=NO_NONE, meaning="the buyer's name"),)),
            meaning="a customer named after the buyer",
        ),
    ),
    runbook=RUNBOOK,
    criticality="high",
    policy=Policy(retry=RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=120.0)),
    description="Shopify orders/create -> QuickBooks customer + invoice -> #sales message",
)
