"""Every 15 minutes: the deals won since the last run each get a Zendesk onboarding ticket.

A batch job run by a scheduler: it lists the CRM's deals, keeps those moved to
closedwon inside the tick's window and opens one ticket per deal.
"""

from datetime import datetime

import requests

HUBSPOT = "https://api.hubapi.com"
ZENDESK = "https://acme.zendesk.com"


def _when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def won_deals(start, end):
    deals, after = [], None
    while True:
        params = {"limit": 100, "properties": "dealname,dealstage,amount,hs_lastmodifieddate"}
        if after:
            params["after"] = after
        resp = requests.get(f"{HUBSPOT}/crm/v3/objects/deals", params=params, timeout=10,
                            headers={"Authorization": "Bearer pat-na1-poll"})
        resp.raise_for_status()
        page = resp.json()
        for deal in page["results"]:
            props = deal["properties"]
            if props.get("dealstage") == "closedwon" and start < _when(props["hs_lastmodifieddate"]) <= end:
                deals.append(deal)
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            return deals


def handle(tick):
    start, end = _when(tick["previous_at"]), _when(tick["scheduled_at"])
    opened = []
    for deal in won_deals(start, end):
        title = deal["properties"].get("dealname") or f"deal {deal['id']}"
        resp = requests.post(f"{ZENDESK}/api/v2/tickets.json", timeout=10,
                             auth=("ops@acme.example/token", "zd"),
                             json={"ticket": {"subject": f"Onboarding: {title}",
                                              "comment": {"body": f"Deal {deal['id']} was won."}}})
        resp.raise_for_status()
        opened.append(resp.json()["ticket"]["id"])
    return {"status": "ok", "tickets": opened}
