"""Every 15 minutes: the deals won since the last run each get a Zendesk onboarding ticket.

The batch job is safe to rerun: each ticket carries the deal as external_id and
is looked up before it is created, so a double or overlapping run opens nothing
twice.  Transient answers (network errors, 429, 5xx) are retried with backoff.
"""

import time
from datetime import UTC, datetime

import requests

HUBSPOT = "https://api.hubapi.com"
ZENDESK = "https://acme.zendesk.com"
TRANSIENT = {429, 500, 502, 503, 504}
SESSION = requests.Session()


class Permanent(Exception):
    pass


def _call(method, url, *, retries=4, **kwargs):
    delay = 1.0
    for attempt in range(retries + 1):
        try:
            resp = SESSION.request(method, url, timeout=10, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == retries:
                raise
        else:
            if resp.status_code not in TRANSIENT or attempt == retries:
                if resp.status_code >= 400:
                    raise Permanent(f"{method} {url}: {resp.status_code} {resp.text[:200]}")
                return resp.json()
            delay = float(resp.headers.get("Retry-After") or delay)
        time.sleep(delay)
        delay = min(delay * 2, 30)
    raise RuntimeError("unreachable")


def _when(text, default=None):
    if not isinstance(text, str) or not text:
        if default is not None:
            return default
        raise Permanent(f"tick without a time: {text!r}")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def won_deals(start, end):
    deals, after = [], None
    while True:
        params = {"limit": 100, "properties": "dealname,dealstage,hs_lastmodifieddate"}
        if after:
            params["after"] = after
        page = _call("GET", f"{HUBSPOT}/crm/v3/objects/deals", params=params,
                     headers={"Authorization": "Bearer pat-na1-poll"})
        for deal in page["results"]:
            props = deal["properties"]
            modified = props.get("hs_lastmodifieddate")
            if props.get("dealstage") == "closedwon" and modified and start < _when(modified) <= end:
                deals.append(deal)
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            return deals


def _ticket(payload):
    external_id = payload["ticket"]["external_id"]
    for _ in range(5):
        found = _call("GET", f"{ZENDESK}/api/v2/tickets.json", params={"external_id": external_id},
                      auth=("ops@acme.example/token", "zd"))
        if found["tickets"]:
            return found["tickets"][0]
        try:
            return _call("POST", f"{ZENDESK}/api/v2/tickets.json", retries=0, json=payload,
                         auth=("ops@acme.example/token", "zd"))["ticket"]
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(2)
        except Permanent as exc:
            if " 429 " not in str(exc) and " 50" not in str(exc):
                raise
            time.sleep(2)
    raise Permanent(f"could not create ticket {external_id}")


def handle(tick):
    end = _when(tick.get("scheduled_at"))
    # no previous run recorded: look back from the beginning (tickets are deduplicated)
    start = _when(tick.get("previous_at"), default=datetime(1970, 1, 1, tzinfo=UTC))
    opened = []
    for deal in won_deals(start, end):
        title = deal["properties"].get("dealname") or f"deal {deal['id']}"
        ticket = _ticket({"ticket": {"subject": f"Onboarding: {title}",
                                     "external_id": f"hubspot-deal-{deal['id']}",
                                     "comment": {"body": f"Deal {deal['id']} was won."}}})
        opened.append(ticket["id"])
    return {"status": "ok", "tickets": opened}
