"""New GitHub issue -> one thank-you comment and one heads-up in #support, however often it is delivered.

A redelivery keeps its X-GitHub-Delivery, but the comment and the message each
carry the issue's marker and are looked for before they are made, so a
redelivery (or a retry after a lost answer) makes nothing twice.  Rate limits
(429, or 403 with X-RateLimit-Remaining: 0) wait; 5xx and network errors on
reads retry; a write whose answer was lost is re-checked, never blindly re-sent.
"""

import time

import requests

GITHUB = "https://api.github.com"
SLACK = "https://slack.com/api"
GH_HEADERS = {"Authorization": "Bearer ghp_0123456789abcdefABCDEF0123456789abcd",
              "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
SLACK_HEADERS = {"Authorization": "Bearer xoxb-1234-5678-issuebot"}


class SlackError(Exception):
    pass


def _call(method, url, *, resend=True, **kwargs):
    kwargs.setdefault("timeout", 10)
    for attempt in range(5):
        try:
            resp = requests.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 4 or not resend:
                raise
            time.sleep(2 ** attempt)
            continue
        limited = resp.status_code == 429 or (
            resp.status_code == 403 and resp.headers.get("X-RateLimit-Remaining") == "0")
        if (limited or resp.status_code >= 500) and attempt < 4:
            # refused, not acted on: safe to send again after the wait the vendor asks for
            wait = resp.headers.get("Retry-After")
            if wait is None and limited and resp.headers.get("X-RateLimit-Reset"):
                wait = max(1, int(resp.headers["X-RateLimit-Reset"]) - int(time.time()))
            try:
                time.sleep(float(wait) if wait else 2 ** attempt)
            except ValueError:
                time.sleep(2 ** attempt)
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("unreachable")


def _slack(method, verb="GET", **args):
    if verb == "GET":
        body = _call("GET", f"{SLACK}/{method}", params=args, headers=SLACK_HEADERS)
    else:
        body = _call("POST", f"{SLACK}/{method}", resend=False, json=args, headers=SLACK_HEADERS)
    if not body.get("ok"):
        raise SlackError(f"{method}: {body.get('error')}")
    return body


def _channel(name):
    cursor = ""
    while True:
        page = _slack("conversations.list", types="public_channel", limit=200, cursor=cursor)
        for channel in page["channels"]:
            if channel["name"] == name:
                return channel["id"]
        cursor = page.get("response_metadata", {}).get("next_cursor")
        if not cursor:
            raise SlackError(f"no channel #{name}")


def _once(exists, make):
    """Make it unless it exists; after a lost answer, look again before trying again."""
    for attempt in range(4):
        if exists():
            return False
        try:
            make()
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 3:
                raise
            time.sleep(2 ** attempt)
            continue
        return True
    raise RuntimeError("unreachable")


def handle(event):
    headers = event.get("headers") or {}
    body = event.get("body") or {}
    if headers.get("X-GitHub-Event") != "issues" or body.get("action") != "opened":
        return {"status": "ignored"}
    issue = body.get("issue") or {}
    repo = (body.get("repository") or {}).get("full_name")
    number = issue.get("number")
    title = issue.get("title")
    login = (issue.get("user") or {}).get("login")
    url = issue.get("html_url")
    if (not isinstance(number, int) or isinstance(number, bool) or number <= 0
            or not isinstance(repo, str) or repo.count("/") != 1
            or not all(isinstance(v, str) and v.strip() for v in (title, login, url))):
        raise ValueError(f"issues event {headers.get('X-GitHub-Delivery')} lacks the issue's number, "
                         f"title, author, page or repository")
    marker = f"[{repo}#{number}]"
    comments_url = f"{GITHUB}/repos/{repo}/issues/{number}/comments"

    def commented():
        comments = _call("GET", comments_url, params={"per_page": 100}, headers=GH_HEADERS)
        return any(marker in (c.get("body") or "") for c in comments)

    _once(commented, lambda: _call("POST", comments_url, resend=False, headers=GH_HEADERS, json={
        "body": f"Thanks @{login}! We'll triage this within a day.\n\n<!-- {marker} -->"}))

    channel = _channel("support")

    def posted():
        history = _slack("conversations.history", channel=channel, limit=200)
        return any(marker in (m.get("text") or "") for m in history["messages"])

    _once(posted, lambda: _slack("chat.postMessage", "POST", channel=channel,
                                 text=f"New issue: {title} {url} {marker}"))
    return {"status": "ok"}
