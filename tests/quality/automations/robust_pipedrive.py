"""Pipedrive deal won -> one onboarding call activity per deal.

The deal's activities are read first, so a redelivered webhook or a retried
create never schedules a second call.  Timeouts everywhere; transient answers
retried with backoff; anything else fails loudly.
"""

import time

import requests

PIPEDRIVE = "https://acme.pipedrive.com/api/v1"
TOKEN = {"api_token": "pd-0123456789abcdef"}
TRANSIENT = {429, 500, 502, 503, 504}


class Rejected(Exception):
    pass


def call(method, path, *, tries=6, **kwargs):
    delay = 1.0
    for attempt in range(tries):
        try:
            resp = requests.request(method, PIPEDRIVE + path, params=TOKEN, timeout=(3, 10), **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == tries - 1:
                raise
        else:
            if resp.status_code not in TRANSIENT:
                body = resp.json()
                if resp.status_code >= 400 or not body.get("success"):
                    raise Rejected(f"{method} {path} -> {resp.status_code}: {body.get('error')}")
                return body
            if attempt == tries - 1:
                raise Rejected(f"{method} {path} still {resp.status_code}")
            delay = max(delay, float(resp.headers.get("Retry-After") or 0))
        time.sleep(delay)
        delay = min(delay * 2, 60)
    raise AssertionError("unreachable")


def handle(event):
    meta = event.get("meta") or {}
    current = event.get("current") or {}
    if meta.get("object") != "deal" or meta.get("action") != "updated" or type(meta.get("id")) is not int:
        raise Rejected(f"not a deal update: {event!r}")
    if current.get("status") != "won" or (event.get("previous") or {}).get("status") == "won":
        return {"status": "ignored"}
    deal_id = meta["id"]
    subject = f"Onboarding call (deal {deal_id})"
    deal = call("GET", f"/deals/{deal_id}")["data"]
    person = deal.get("person_id") or {}
    if not person.get("value"):
        raise Rejected(f"deal {deal_id} has no person to call")
    for _ in range(6):
        # look before every create: a create that timed out may have happened
        existing = call("GET", f"/deals/{deal_id}/activities")["data"] or []
        for activity in existing:
            if activity["subject"] == subject:
                return {"status": "ok", "activity": activity["id"], "existing": True}
        try:
            created = call("POST", "/activities", tries=1,
                           json={"subject": subject, "type": "call", "deal_id": deal_id,
                                 "person_id": person["value"], "due_date": "2026-01-08",
                                 "note": f"Kick-off for {deal.get('title') or deal_id}"})
        except (requests.ConnectionError, requests.Timeout, Rejected) as exc:
            if isinstance(exc, Rejected) and " still " not in str(exc):
                raise
            time.sleep(5)
            continue
        return {"status": "ok", "activity": created["data"]["id"]}
    raise Rejected(f"could not schedule the onboarding call for deal {deal_id}")
