"""New Intercom conversation -> a GitHub issue for the support engineers to triage."""

import requests

GITHUB = "https://api.github.com/repos/acme/support"
HEADERS = {"Authorization": "token ghp_0123456789abcdefABCDEF0123456789abcd",
           "Accept": "application/vnd.github+json"}


def handle(event):
    conversation = event["data"]["item"]
    author = conversation["source"]["author"]
    issue = {
        "title": f"Support: {author.get('name') or author.get('email')}",
        "body": f"{conversation['source']['body']}\n\nIntercom conversation {conversation['id']}",
        "labels": ["support"],
    }
    resp = requests.post(f"{GITHUB}/issues", json=issue, headers=HEADERS, timeout=10)
    resp.raise_for_status()
    return {"status": "ok", "issue": resp.json()["number"]}
