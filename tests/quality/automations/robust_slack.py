"""Deal won -> one message in #sales, however often HubSpot delivers it.

A requests Session retries 429 (honouring Retry-After) and 5xx; Slack's
`{"ok": false}` is an error; before posting, the channel's history is checked
for this deal's marker, so a retry after a lost answer posts nothing twice.
"""

import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

HUBSPOT = "https://api.hubapi.com"
SLACK = "https://slack.com/api"
TOKEN = "xoxb-1234-5678-dealwonbot"


class SlackError(Exception):
    pass


def _session():
    session = requests.Session()
    # reads only: urllib3 re-sending a POST after a lost answer would post twice; 429s are
    # handled below, because urllib3 refuses Shopify's "Retry-After: 2.0" as a header
    retry = Retry(total=5, backoff_factor=1.0, status_forcelist=(500, 502, 503, 504),
                  allowed_methods=frozenset({"GET"}), respect_retry_after_header=False,
                  raise_on_status=False)
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


SESSION = _session()


def _call(method, url, *, retry_network=True, **kwargs):
    kwargs.setdefault("timeout", 8)
    for attempt in range(4):
        try:
            resp = SESSION.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 3 or not retry_network:
                raise
            time.sleep(2 ** attempt)
            continue
        if resp.status_code == 429 or resp.status_code >= 500:
            # a 429 or 5xx answer means the request was refused: safe to send again
            if attempt == 3:
                resp.raise_for_status()
            try:
                wait = float(resp.headers.get("Retry-After") or 2 ** attempt)
            except ValueError:
                wait = 2 ** attempt
            time.sleep(wait)
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("unreachable")


def _slack(method, verb="GET", **args):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if verb == "GET":
        body = _call("GET", f"{SLACK}/{method}", params=args, headers=headers)
    else:
        body = _call("POST", f"{SLACK}/{method}", json=args, headers=headers)
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


def _already_posted(channel, marker):
    history = _slack("conversations.history", channel=channel, limit=200)
    return any(marker in (m.get("text") or "") for m in history["messages"])


def handle(event):
    name, stage = event.get("propertyName"), event.get("propertyValue")
    if not isinstance(name, str) or not name or not isinstance(stage, str) or not stage:
        raise ValueError(f"event without a property change: {event!r}")
    if name != "dealstage" or stage != "closedwon":
        return {"status": "ignored"}
    deal_id = event.get("objectId")
    if not isinstance(deal_id, int):
        raise ValueError(f"event without a deal id: {event!r}")
    deal = _call("GET", f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}",
                 params={"properties": "dealname,amount,deal_currency_code"},
                 headers={"Authorization": "Bearer pat-na1-x"})
    props = deal["properties"]
    name = props.get("dealname")
    currency = props.get("deal_currency_code")
    try:
        amount = float(props.get("amount"))
    except (TypeError, ValueError):
        raise ValueError(f"deal {deal_id}: unusable amount {props.get('amount')!r}") from None
    if not name or not isinstance(currency, str) or len(currency) != 3 or amount <= 0:
        raise ValueError(f"deal {deal_id}: incomplete deal {props!r}")
    channel = _channel("sales")
    marker = f"[deal {deal_id}]"
    text = f":tada: {name} closed for {amount:,.2f} {currency} {marker}"
    for attempt in range(4):
        if _already_posted(channel, marker):
            return {"status": "ok", "posted": False}
        try:
            # not re-sent blindly: a lost answer may hide a posted message (checked above)
            posted = _call("POST", f"{SLACK}/chat.postMessage", retry_network=False,
                           json={"channel": channel, "text": text},
                           headers={"Authorization": f"Bearer {TOKEN}"})
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 3:
                raise
            time.sleep(2 ** attempt)
            continue
        if not posted.get("ok"):
            raise SlackError(f"chat.postMessage: {posted.get('error')}")
        return {"status": "ok", "posted": True, "ts": posted["ts"]}
    raise RuntimeError("unreachable")
