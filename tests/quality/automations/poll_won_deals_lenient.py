"""Every 15 minutes: the deals won since the last run each get a Zendesk onboarding ticket.

One bad deal must not stop the batch: a deal whose ticket cannot be opened is
logged and skipped, and the run goes on with the next one.
"""

import logging
from datetime import datetime

import requests

HUBSPOT = "https://api.hubapi.com"
ZENDESK = "https://acme.zendesk.com"
log = logging.getLogger("poll_won_deals")


def _when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def handle(tick):
    start, end = _when(tick["previous_at"]), _when(tick["scheduled_at"])
    resp = requests.get(f"{HUBSPOT}/crm/v3/objects/deals", timeout=10,
                        params={"limit": 100, "properties": "dealname,dealstage,hs_lastmodifieddate"},
                        headers={"Authorization": "Bearer pat-na1-poll"})
    resp.raise_for_status()
    opened, skipped = [], []
    for deal in resp.json()["results"]:
        props = deal["properties"]
        if props.get("dealstage") != "closedwon" or not start < _when(props["hs_lastmodifieddate"]) <= end:
            continue
        try:
            created = requests.post(f"{ZENDESK}/api/v2/tickets.json", timeout=10,
                                    auth=("ops@acme.example/token", "zd"),
                                    json={"ticket": {"subject": f"Onboarding: {props.get('dealname')}",
                                                     "comment": {"body": f"Deal {deal['id']} was won."}}})
            created.raise_for_status()
            opened.append(created.json()["ticket"]["id"])
        except requests.RequestException as exc:
            log.warning("deal %s: no ticket (%s); continuing", deal["id"], exc)
            skipped.append(deal["id"])
    return {"status": "ok", "tickets": opened, "skipped": skipped}
