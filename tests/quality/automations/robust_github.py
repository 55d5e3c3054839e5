"""New Intercom conversation -> exactly one GitHub issue.

Intercom retries a notification it thinks failed, so the issue carries the
conversation id and is searched for before it is created; 403/429 rate limits
wait for Retry-After or X-RateLimit-Reset; 5xx and network errors retry.
"""

import time

import requests

GITHUB = "https://api.github.com"
REPO = "acme/support"
HEADERS = {"Authorization": "Bearer ghp_0123456789abcdefABCDEF0123456789abcd",
           "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def _request(method, url, **kwargs):
    for attempt in range(6):
        try:
            resp = requests.request(method, url, headers=HEADERS, timeout=10, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 5 or method != "GET":
                raise
            time.sleep(2 ** attempt)
            continue
        limited = resp.status_code == 429 or (
            resp.status_code == 403 and resp.headers.get("X-RateLimit-Remaining") == "0")
        if (limited or resp.status_code >= 500) and attempt < 5:
            wait = resp.headers.get("Retry-After")
            if wait is None and limited and resp.headers.get("X-RateLimit-Reset"):
                wait = max(1, int(resp.headers["X-RateLimit-Reset"]) - int(time.time()))
            time.sleep(float(wait) if wait else 2 ** attempt)
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("unreachable")


def _existing(marker):
    found = _request("GET", f"{GITHUB}/search/issues",
                     params={"q": f'repo:{REPO} is:issue in:body "{marker}"'})
    return found["items"][0] if found["items"] else None


def handle(event):
    topic = event.get("topic")
    if not isinstance(topic, str) or not topic:
        raise ValueError(f"notification {event.get('id')} has no topic")
    if topic != "conversation.user.created":
        return {"status": "ignored"}
    conversation = (event.get("data") or {}).get("item") or {}
    conv_id = conversation.get("id")
    source = conversation.get("source") or {}
    author = source.get("author") or {}
    who = author.get("name") or author.get("email")
    if not conv_id or not source.get("body") or not who:
        raise ValueError(f"notification {event.get('id')} lacks the conversation, its body or author")
    marker = f"intercom-conversation-{conv_id}"
    issue = {"title": f"Support: {who}", "labels": ["support"],
             "body": f"{source['body']}\n\n<!-- {marker} -->"}
    for attempt in range(4):
        existing = _existing(marker)
        if existing is not None:
            return {"status": "ok", "issue": existing["number"], "created": False}
        try:
            created = _request("POST", f"{GITHUB}/repos/{REPO}/issues", json=issue)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 3:
                raise
            time.sleep(2 ** attempt)
            continue
        return {"status": "ok", "issue": created["number"], "created": True}
    raise RuntimeError("unreachable")
