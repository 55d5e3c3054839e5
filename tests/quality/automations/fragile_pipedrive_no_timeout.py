"""Pipedrive deal won -> schedule the onboarding call with the customer."""

import requests

PIPEDRIVE = "https://acme.pipedrive.com/api/v1"
TOKEN = {"api_token": "pd-0123456789abcdef"}


def handle(event):
    deal = event["current"]
    if deal["status"] != "won" or event["previous"].get("status") == "won":
        return {"status": "ignored"}
    full = requests.get(f"{PIPEDRIVE}/deals/{deal['id']}", params=TOKEN).json()["data"]
    person = full.get("person_id") or {}
    activity = requests.post(f"{PIPEDRIVE}/activities", params=TOKEN, json={
        "subject": f"Onboarding call: {full['title']}",
        "type": "call",
        "deal_id": full["id"],
        "person_id": person.get("value"),
        "due_date": "2026-01-08",
    })
    activity.raise_for_status()
    return {"status": "ok", "activity": activity.json()["data"]["id"]}
