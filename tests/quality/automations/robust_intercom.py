"""New Intercom conversation -> exactly one first reply, with retries.

Intercom answers 429 with X-RateLimit-Reset (no Retry-After); 5xx and network
errors retry with backoff; before replying, the conversation's parts are read
so a retry after a lost answer (or Intercom's redelivery) replies only once.
"""

import time

import requests

INTERCOM = "https://api.intercom.io"
HEADERS = {"Authorization": "Bearer dG9rOmFjbWU6MTox", "Intercom-Version": "2.11",
           "Accept": "application/json"}
REPLY = "Thanks for reaching out! We're on it and will reply within the hour."


def _request(method, path, *, retry_network=True, **kwargs):
    for attempt in range(6):
        try:
            resp = requests.request(method, INTERCOM + path, headers=HEADERS, timeout=10, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 5 or not retry_network:
                raise
            time.sleep(2 ** attempt)
            continue
        if resp.status_code == 429 and attempt < 5:
            reset = resp.headers.get("X-RateLimit-Reset")
            time.sleep(max(1, int(reset) - int(time.time())) if reset else 10)
            continue
        if resp.status_code >= 500 and attempt < 5:
            time.sleep(2 ** attempt)
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("unreachable")


def _replied(conv_id, admin_id):
    conversation = _request("GET", f"/conversations/{conv_id}")
    parts = conversation["conversation_parts"]["conversation_parts"]
    return any(p["part_type"] == "comment" and str(p["author"]["id"]) == str(admin_id) for p in parts)


def handle(event):
    kind, topic = event.get("type"), event.get("topic")
    if not isinstance(kind, str) or not kind or not isinstance(topic, str) or not topic:
        raise ValueError(f"not an Intercom notification: {event.get('id')!r}")
    if kind != "notification_event" or topic != "conversation.user.created":
        return {"status": "ignored"}
    conv_id = ((event.get("data") or {}).get("item") or {}).get("id")
    if not conv_id:
        raise ValueError(f"notification {event.get('id')} has no conversation id")
    admins = _request("GET", "/admins")["admins"]
    if not admins:
        raise RuntimeError("no Intercom admin to reply as")
    lead = admins[0]["id"]
    for attempt in range(4):
        if _replied(conv_id, lead):
            return {"status": "ok", "replied": False}
        try:
            _request("POST", f"/conversations/{conv_id}/reply", retry_network=False,
                     json={"message_type": "comment", "type": "admin", "admin_id": lead, "body": REPLY})
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 3:
                raise
            time.sleep(2 ** attempt)
            continue
        return {"status": "ok", "replied": True}
    raise RuntimeError("unreachable")
