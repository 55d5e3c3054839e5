"""New Intercom conversation -> an instant first reply from the support lead."""

import requests

INTERCOM = "https://api.intercom.io"
HEADERS = {"Authorization": "Bearer dG9rOmFjbWU6MTox", "Intercom-Version": "2.11",
           "Accept": "application/json"}


def handle(event):
    conversation = event["data"]["item"]
    admins = requests.get(f"{INTERCOM}/admins", headers=HEADERS, timeout=10)
    admins.raise_for_status()
    lead = admins.json()["admins"][0]
    resp = requests.post(
        f"{INTERCOM}/conversations/{conversation['id']}/reply",
        json={"message_type": "comment", "type": "admin", "admin_id": lead["id"],
              "body": "Thanks for reaching out! We're on it and will reply within the hour."},
        headers=HEADERS, timeout=10,
    )
    resp.raise_for_status()
    return {"status": "ok"}
