"""A generated secret, passed the ways automations pass them, never leaves the process.

The automation reads a token from an environment variable and sends it as a
Bearer header, an API-key header, a query parameter and Stripe basic auth; one
call always fails with a 404 whose message (requests' own) carries the URL
with the token.  After ``harness check`` with ``--json`` and ``--report``, the
token (and its base64 form in the Basic header) appears nowhere: not in the
terminal, the JSON, the HTML nor in any row of the ledger.
"""

from __future__ import annotations

import base64
import itertools
import sqlite3
from pathlib import Path

import pytest
from _robust_figures import SECRET_EXAMPLES
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.cli import main

AUTOMATION = '''
import os

import requests

TOKEN = os.environ["ROBUST_SECRET_TOKEN"]
HUBSPOT = "https://api.hubapi.com"


def handle(event):
    deal_id = event["objectId"]
    deal = requests.get(
        f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}",
        params={"hapikey": TOKEN, "properties": "amount"},
        headers={"Authorization": f"Bearer {TOKEN}", "X-Api-Key": TOKEN},
        timeout=5,
    )
    deal.raise_for_status()
    customer = requests.post(
        "https://api.stripe.com/v1/customers", data={"email": "ops@example.com"},
        auth=("sk_test_" + TOKEN, ""), timeout=5,
    )
    customer.raise_for_status()
    missing = requests.get(f"{HUBSPOT}/crm/v3/objects/deals/404404", params={"hapikey": TOKEN}, timeout=5)
    try:
        missing.raise_for_status()  # HTTPError: ... for url: ...?hapikey=<token>
    except requests.HTTPError as exc:
        # the error message, token and all, comes back in the result the harness records
        return {"status": "ok", "lookup": str(exc)}
    return {"status": "ok"}
'''

_counter = itertools.count()
# a prefix no fake, Faker or harness text contains, so a hit can only be the secret
TOKENS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=16, max_size=40).map(
    lambda s: "zqx" + s
)


def _ledger_text(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return "\n".join(conn.iterdump())


@settings(
    max_examples=SECRET_EXAMPLES, deadline=None, derandomize=True, phases=[Phase.generate],
    # capsys and monkeypatch are reset by hand in each example; the campaign inside is
    # itself a Hypothesis search, nested on purpose
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.nested_given],
)
@given(token=TOKENS)
def test_a_token_never_reaches_the_ledger_terminal_json_or_html(
    token: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    d = tmp_path_factory.mktemp(f"secret{next(_counter)}")
    auto = d / "token_automation.py"
    auto.write_text(AUTOMATION)
    monkeypatch.setenv("ROBUST_SECRET_TOKEN", token)
    capsys.readouterr()
    db = d / "ledger.db"
    code = main([
        "check", f"{auto}:handle", "--examples", "2", "--seed", "7", "--ledger", f"sqlite:///{db}",
        "--json", str(d / "out.json"), "--report", str(d / "out.html"),
    ])
    out, err = capsys.readouterr()
    monkeypatch.delenv("ROBUST_SECRET_TOKEN")
    assert code in (0, 1), err
    forms = {token, base64.b64encode(f"sk_test_{token}:".encode()).decode()}
    places = {
        "terminal": out + err,
        "json": (d / "out.json").read_text(),
        "html": (d / "out.html").read_text(),
        "ledger": _ledger_text(db),
    }
    assert "404404" in places["ledger"], "the failing call must be recorded (else nothing was tested)"
    leaks = [(where, form[:6]) for where, text in places.items() for form in forms if form in text]
    assert leaks == []
