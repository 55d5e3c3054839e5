"""Deal won -> Zendesk onboarding ticket."""

import requests

HUBSPOT = "https://api.hubapi.com"
ZENDESK = "https://acme.zendesk.com"


def handle(event):
    if event.get("propertyValue") != "closedwon":
        return {"status": "ignored"}
    deal_id = event["objectId"]
    session = requests.Session()
    session.headers["Authorization"] = "Bearer pat"
    deal = session.get(f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}",
                       params={"properties": "dealname", "associations": "contacts"})
    deal.raise_for_status()
    contact_id = deal.json()["associations"]["contacts"]["results"][0]["id"]
    contact = session.get(f"{HUBSPOT}/crm/v3/objects/contacts/{contact_id}", params={"properties": "email"})
    contact.raise_for_status()
    email = contact.json()["properties"]["email"]
    if not email:
        raise ValueError(f"deal {deal_id}: contact {contact_id} has no email")
    existing = requests.get(f"{ZENDESK}/api/v2/tickets.json", params={"external_id": f"deal-{deal_id}"},
                            auth=("ops@acme.example/token", "zd"))
    existing.raise_for_status()
    if existing.json()["tickets"]:
        return {"status": "ok", "ticket": existing.json()["tickets"][0]["id"]}
    resp = requests.post(f"{ZENDESK}/api/v2/tickets.json", auth=("ops@acme.example/token", "zd"),
                         json={"ticket": {"subject": f"Welcome {deal.json()['properties']['dealname']}",
                                          "external_id": f"deal-{deal_id}",
                                          "comment": {"body": "Deal won"}, "requester": {"email": email}}})
    resp.raise_for_status()
    return {"status": "ok", "ticket": resp.json()["ticket"]["id"]}
