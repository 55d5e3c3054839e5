"""@bot in a Slack channel -> exactly one GitHub issue and one reply, however often Slack delivers it.

Slack retries an event it thinks we missed (same event_id), so the issue and
the reply each carry the message's marker (channel and ts) and are looked for
before they are made; rate limits wait as asked, 5xx and network errors on
reads retry, and a write whose answer was lost is looked for again, never
blindly re-sent.  A mention without its text, author, channel or ts fails loudly.
"""

import re
import time

import requests

GITHUB = "https://api.github.com"
REPO = "acme/support"
GH = {"Authorization": "Bearer ghp_0123456789abcdefABCDEF0123456789abcd",
      "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
SLACK_API = "https://slack.com/api"
SLACK = {"Authorization": "Bearer xoxb-1234-5678-triagebot"}


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
        body = _call("GET", f"{SLACK_API}/{method}", params=args, headers=SLACK)
    else:
        body = _call("POST", f"{SLACK_API}/{method}", resend=False, json=args, headers=SLACK)
    if not body.get("ok"):
        raise SlackError(f"{method}: {body.get('error')}")
    return body


def _once(find, make):
    """The record ``find`` returns, made by ``make`` unless it exists; a lost answer is looked for again."""
    for attempt in range(4):
        found = find()
        if found is not None:
            return found
        try:
            return make()
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 3:
                raise
            time.sleep(2 ** attempt)
    raise RuntimeError("unreachable")


def handle(event):
    body = event.get("body") or {}
    mention = body.get("event") or {}
    if body.get("type") != "event_callback" or mention.get("type") != "app_mention":
        return {"status": "ignored"}
    user, channel, ts, raw = (mention.get(k) for k in ("user", "channel", "ts", "text"))
    if not all(isinstance(v, str) and v.strip() for v in (user, channel, ts, raw)):
        raise ValueError(f"app_mention {body.get('event_id')} lacks its author, channel, ts or text")
    text = re.sub(r"<@[A-Z0-9]+>\s*", "", raw).strip()
    if not text:
        raise ValueError(f"app_mention {body.get('event_id')} says nothing but the bot's name")
    marker = f"slack-{channel}-{ts}"

    def existing_issue():
        found = _call("GET", f"{GITHUB}/search/issues", headers=GH,
                      params={"q": f'repo:{REPO} is:issue in:body "{marker}"'})
        return found["items"][0] if found["items"] else None

    issue = _once(existing_issue, lambda: _call("POST", f"{GITHUB}/repos/{REPO}/issues", resend=False, headers=GH,
                                                json={"title": text[:80], "labels": ["support"],
                                                      "body": f"{text}\n\nReported in Slack by <@{user}>.\n\n"
                                                              f"<!-- {marker} -->"}))

    def existing_reply():
        history = _slack("conversations.history", channel=channel, limit=200)
        return next((m for m in history["messages"] if marker in (m.get("text") or "")), None)

    _once(existing_reply, lambda: _slack("chat.postMessage", "POST", channel=channel,
                                         text=f"Filed {issue['html_url']} for <@{user}> ({marker})"))
    return {"status": "ok", "issue": issue["number"]}
