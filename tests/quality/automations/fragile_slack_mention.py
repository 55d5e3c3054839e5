"""@bot in a Slack channel -> a GitHub issue with the message -> a reply in the channel with its link."""

import re

import requests

GITHUB = "https://api.github.com/repos/acme/support"
GH = {"Authorization": "Bearer ghp_0123456789abcdefABCDEF0123456789abcd", "Accept": "application/vnd.github+json"}
SLACK = {"Authorization": "Bearer xoxb-1234-5678-triagebot"}


def handle(event):
    mention = event["body"]["event"]
    text = re.sub(r"<@[A-Z0-9]+>\s*", "", mention["text"]).strip()
    resp = requests.post(f"{GITHUB}/issues", headers=GH, timeout=10, json={
        "title": text[:80], "body": f"{text}\n\nReported in Slack by <@{mention['user']}>.", "labels": ["support"]})
    resp.raise_for_status()
    issue = resp.json()
    reply = requests.post("https://slack.com/api/chat.postMessage", headers=SLACK, timeout=10, json={
        "channel": mention["channel"], "text": f"Filed {issue['html_url']} for <@{mention['user']}>"})
    reply.raise_for_status()
    if not reply.json().get("ok"):
        raise RuntimeError(reply.json().get("error"))
    return {"status": "ok", "issue": issue["number"]}
