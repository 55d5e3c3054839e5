"""The harness's declaration of the deal-won automation (the automation itself is untouched).

Copy this file next to your own automation and change the names: the flow says
who owns it, what starts it and what that event must contain, how to recognise
a second delivery of the same deal, what it must leave behind in each system,
and what a person does when it cannot finish.
"""

from pathlib import Path

import harness
from harness import Contract, Effect, Field, Flow, Policy, RetryPolicy, WriteContract

HERE = Path(__file__).resolve().parent

RUNBOOK = """\
1. Open the inbox item: `harness inbox show ID`. It lists what was already created
   (Stripe customer, invoice, Zendesk ticket) and the last request and response.
2. Finish by hand what is missing. Never create a second invoice: search Stripe
   for metadata[hubspot_deal_id] first.
3. Missing email or amount on the deal: ask the deal owner in HubSpot to fix the
   record, then `harness inbox retry ID`.
4. Close the item with `harness inbox resolve ID --note "..."`.
While the Stripe or Zendesk circuit is open, do nothing: runs wait and resume.
"""


# A missing HubSpot value interpolated into text reads "None": never a valid name.
NO_NONE = r"(?!.*\b(?:None|null)\b).*\S.*"


def _segment(event):
    import os

    import requests

    base = os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
    token = os.environ.get("HUBSPOT_TOKEN", "pat-na1-00000000-0000-0000-0000-000000000000")
    resp = requests.get(
        f"{base}/crm/v3/objects/deals/{event['objectId']}",
        params={"properties": "dealtype"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    resp.raise_for_status()
    dealtype = resp.json()["properties"].get("dealtype")
    return {"newbusiness": "new customer", "existingbusiness": "existing customer"}.get(
        dealtype or "", "unknown"
    )


flow = Flow(
    name="deal_won",
    automation=f"{HERE / 'automation.py'}:handle",
    trigger=harness.get_trigger("hubspot.deal.closedwon"),
    owner="revops@acme.example",
    dedupe_key="deal:{objectId}",
    effects=(
        Effect("stripe", "customer", description="one Stripe customer per won deal"),
        Effect("stripe", "invoice", description="exactly one invoice per won deal"),
        Effect("zendesk", "ticket", description="one onboarding ticket per won deal"),
    ),
    write_contracts=(
        WriteContract(
            "stripe",
            "POST",
            r"/v1/customers",
            Contract(
                (
                    Field("email", "email", meaning="where Stripe sends the invoice"),
                    Field("name", "str", pattern=NO_NONE, meaning="the customer's full name"),
                    Field(
                        "description",
                        "str",
                        pattern=NO_NONE,
                        meaning="the customer's company, printed on every invoice",
                    ),
                )
            ),
            meaning="a customer Stripe can send an invoice to",
        ),
        WriteContract(
            "stripe",
            "POST",
            r"/v1/invoiceitems",
            Contract(
                (
                    Field("amount", "int", pattern=r"[1-9][0-9]*", meaning="the deal amount in cents, never 0"),
                    Field("currency", "str", pattern=r"[a-z]{3}", meaning="ISO currency code"),
                    Field("description", "str", pattern=NO_NONE, meaning="the deal's name on the invoice"),
                )
            ),
            meaning="a billable line for the deal's amount",
        ),
        WriteContract(
            "zendesk",
            "POST",
            r"/api/v2/tickets\.json",
            Contract(
                (
                    Field("ticket.subject", "str", pattern=NO_NONE, meaning="names the deal"),
                    Field("ticket.requester.name", "str", pattern=NO_NONE, meaning="the new customer"),
                    Field("ticket.requester.email", "email", meaning="who CS writes to"),
                )
            ),
            meaning="an onboarding ticket CS can act on",
        ),
    ),
    runbook=RUNBOOK,
    criticality="high",
    segment=_segment,
    policy=Policy(retry=RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=120.0)),
    description="HubSpot deal won -> Stripe customer + invoice -> Zendesk onboarding ticket",
)
