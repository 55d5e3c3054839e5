"""New GitHub issue -> a thank-you comment on it and a heads-up in #support."""

import requests

GITHUB = "https://api.github.com"
HEADERS = {"Authorization": "Bearer ghp_0123456789abcdefABCDEF0123456789abcd",
           "Accept": "application/vnd.github+json"}
SLACK_TOKEN = "xoxb-1234-5678-issuebot"


def handle(event):
    if event["headers"]["X-GitHub-Event"] != "issues" or event["body"]["action"] != "opened":
        return {"status": "ignored"}
    issue = event["body"]["issue"]
    repo = event["body"]["repository"]["full_name"]
    resp = requests.post(f"{GITHUB}/repos/{repo}/issues/{issue['number']}/comments", headers=HEADERS,
                         json={"body": f"Thanks @{issue['user']['login']}! We'll triage this within a day."},
                         timeout=10)
    resp.raise_for_status()
    slack = requests.post("https://slack.com/api/chat.postMessage", timeout=10,
                          headers={"Authorization": f"Bearer {SLACK_TOKEN}"},
                          json={"channel": "#support", "text": f"New issue: {issue['title']} {issue['html_url']}"})
    slack.raise_for_status()
    if not slack.json().get("ok"):
        raise RuntimeError(slack.json().get("error"))
    return {"status": "ok"}
