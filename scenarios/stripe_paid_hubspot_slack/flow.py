"""The harness's declaration of the Stripe-paid-to-HubSpot-and-Slack automation (the automation is untouched).

It says who owns the flow, what starts it (Stripe's ``invoice.paid`` event; a
retry by Stripe keeps the event id), how to recognise a second delivery of the
same invoice, what the flow must leave in HubSpot and Slack, what a correct
note looks like, and what a person does when it cannot finish.

    harness check --flow scenarios/stripe_paid_hubspot_slack/flow.py --seed 3
"""

from pathlib import Path

import harness
from harness import Contract, Effect, Field, Flow, Policy, RetryPolicy, WriteContract

HERE = Path(__file__).resolve().parent

RUNBOOK = """\
1. Open the inbox item: `harness inbox show ID`. It lists what was already made
   (the HubSpot note, the #sales message) and the last request and response.
2. Never log the payment twice: look at the contact's timeline in HubSpot for a note
   naming the Stripe invoice first.
3. A Stripe customer without an email, or one HubSpot does not know: find the contact by
   name or company, log the note by hand, and tell the account manager.
4. Post the #sales message by hand if it is missing.
5. Close the item with `harness inbox resolve ID --note "..."`.
"""

flow = Flow(
    name="stripe_paid_hubspot_slack",
    automation=f"{HERE / 'automation.py'}:handle",
    trigger=harness.get_trigger("stripe.invoice.paid"),
    owner="revops@acme.example",
    # Stripe retries an unacknowledged event under the same id; one invoice is paid once
    dedupe_key="stripe-invoice:{data[object][id]}",
    effects=(
        Effect("hubspot", "note", description="one note on the paying contact's timeline per paid invoice"),
        Effect("slack", "message", description="one message in #sales per paid invoice"),
    ),
    write_contracts=(
        WriteContract(
            "hubspot",
            "POST",
            r"/crm/v3/objects/notes",
            Contract(
                (
                    Field("properties.hs_timestamp", "datetime", meaning="when the invoice was paid"),
                    Field("properties.hs_note_body", "str", pattern=r"(?s).*\S.*",
                          meaning="the invoice and the amount paid"),
                )
            ),
            meaning="a note about the payment",
        ),
    ),
    runbook=RUNBOOK,
    criticality="normal",
    policy=Policy(retry=RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=120.0)),
    description="Stripe invoice.paid -> HubSpot note on the contact and deal -> #sales message",
)
