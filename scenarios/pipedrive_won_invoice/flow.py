"""The harness's declaration of the Pipedrive-won-to-QuickBooks automation (the automation is untouched).

Copy this file next to your own automation and change the names: it says who
owns the flow, what starts it (Pipedrive's v1 ``updated.deal`` webhook), how to
recognise a second delivery of the same deal, what the flow must leave in
QuickBooks and Pipedrive, and what a person does when it cannot finish.
"""

from pathlib import Path

import harness
from harness import Contract, Effect, Field, Flow, Policy, RetryPolicy, WriteContract

HERE = Path(__file__).resolve().parent

RUNBOOK = """\
1. Open the inbox item: `harness inbox show ID`. It lists what was already made
   (QuickBooks customer, invoice; Pipedrive activity) and the last request and response.
2. Never create a second invoice: in QuickBooks search invoices for the memo
   "Pipedrive deal <id>" first.
3. A deal without a value or an organization: ask the deal owner to fix it in
   Pipedrive, then `harness inbox retry ID`.
4. Add the "Send invoice" task on the deal by hand if it is missing.
5. Close the item with `harness inbox resolve ID --note "..."`.
"""

NO_NONE = r"(?!.*\b(?:None|null)\b).*\S.*"

flow = Flow(
    name="pipedrive_won_invoice",
    automation=f"{HERE / 'automation.py'}:handle",
    trigger=harness.get_trigger("pipedrive.deal.updated"),
    owner="finance-ops@acme.example",
    dedupe_key="pipedrive-deal:{meta[id]}",
    effects=(
        Effect("quickbooks", "invoice", description="exactly one QuickBooks invoice per won deal"),
        Effect("pipedrive", "activity", description="one 'Send invoice' task on the deal"),
    ),
    write_contracts=(
        WriteContract(
            "quickbooks",
            "POST",
            r"/v3/company/\d+/invoice",
            Contract(
                (
                    Field("Line.0.Amount", "money", pattern=r"(?!0+(\.0+)?$)\d+(\.\d+)?",
                          meaning="the deal's value, never 0"),
                    Field("Line.0.Description", "str", pattern=NO_NONE, meaning="the deal's title"),
                    Field("CurrencyRef.value", "str", pattern=r"[A-Z]{3}", meaning="the deal's currency"),
                )
            ),
            meaning="an invoice for what was sold",
        ),
        WriteContract(
            "quickbooks",
            "POST",
            r"/v3/company/\d+/customer",
            Contract((Field("DisplayName", "str", pattern=NO_NONE, meaning="the customer's company"),)),
            meaning="a customer named after the organization",
        ),
    ),
    runbook=RUNBOOK,
    criticality="high",
    policy=Policy(retry=RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=120.0)),
    description="Pipedrive deal won -> QuickBooks customer + invoice -> Pipedrive 'Send invoice' task",
)
