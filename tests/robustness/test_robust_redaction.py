"""One redaction for every door: no secret shape survives in the terminal, JSON, ledger, exports or HTML.

A Hypothesis property puts a generated secret of every shape the harness knows
(URL userinfo and query parameters, connection strings, ``password=`` pairs,
bearer and basic credentials, AWS access keys, JWTs, Slack, GitHub, Stripe
and HubSpot tokens, webhook URL paths) in any position of free text and
checks :func:`harness._shared.redact.redact_text` removes it.  End to end, an
automation whose errors carry one secret of each shape is checked with
``--json`` and ``--report``, its inbox shown and its ledger exported: no
secret appears in any output.  A ledger URL with ``?password=P`` never prints
or stores P, and a reproduce line names a ledger path with a space so that
it works when pasted.
"""

from __future__ import annotations

import csv
import shlex
import sqlite3
import string
from pathlib import Path

import pytest
from _robust_figures import REDACTION_EXAMPLES
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness._shared.redact import redact_text
from harness.cli import main

#: the bundled deal-won flow: fragile, so a short campaign has findings with reproduce lines
FRAGILE = str(Path(__file__).resolve().parents[2] / "scenarios" / "deal_won" / "flow.py")
ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
B64URL = ALNUM + "-_"


def _s(alphabet: str, n: int, m: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=m or n)


#: each shape: (name, strategy of (text holding the secret, the secret part that must vanish))
def _shape(template: str, secret: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, str]]:
    return secret.map(lambda s: (template.format(s=s), s))


PASSWORD = _s(ALNUM + "!$%^*~", 10, 30).filter(lambda s: any(c.isalpha() for c in s))
SHAPES: dict[str, st.SearchStrategy[tuple[str, str]]] = {
    "url_userinfo": _shape("https://ops:{s}@api.example.com/v1/x", PASSWORD),
    "connection_string": _shape("postgresql://app:{s}@db.internal:5432/prod", PASSWORD),
    "query_password": _shape("https://api.example.com/v1/x?user=a&password={s}", PASSWORD),
    "query_token": _shape("https://api.example.com/v1/x?token={s}&page=2", PASSWORD),
    "query_key": _shape("https://maps.example.com/geo?key={s}", PASSWORD),
    "query_secret": _shape("https://api.example.com/cb?client_secret={s}", PASSWORD),
    "pair_password": _shape("login failed: password={s}; retry later", PASSWORD),
    "pair_header": _shape("X-Api-Key: {s}", PASSWORD),
    "bearer": _shape("Authorization: Bearer {s}", _s(ALNUM + "._-", 20, 60)),
    "basic": _shape("Basic {s}", _s(ALNUM + "+/", 16, 40)),
    "aws_access_key": _shape("AKIA{s}", _s(UPPER, 16)),
    "aws_temporary_key": _shape("ASIA{s}", _s(UPPER, 16)),
    "jwt": st.tuples(_s(B64URL, 10, 40), _s(B64URL, 10, 80), _s(B64URL, 20, 60)).map(
        lambda p: (f"eyJ{p[0]}.eyJ{p[1]}.{p[2]}", f"{p[1]}.{p[2]}")
    ),
    "slack_bot": _shape("xoxb-{s}", _s(string.digits + "-" + ALNUM, 20, 50)),
    "slack_user": _shape("xoxp-{s}", _s(string.digits + "-" + ALNUM, 20, 50)),
    "github_classic": _shape("ghp_{s}", _s(ALNUM, 36)),
    "github_fine_grained": _shape("github_pat_{s}", _s(ALNUM + "_", 60, 82)),
    "stripe_live": _shape("sk_live_{s}", _s(ALNUM, 24, 99)),
    "stripe_restricted": _shape("rk_live_{s}", _s(ALNUM, 24, 99)),
    "hubspot_private_app": _shape("pat-na1-{s}", _s("0123456789abcdef-", 36)),
    "slack_webhook_path": _shape("https://hooks.slack.com/services/T0001/B0002/{s}", _s(ALNUM, 24)),
}
SEPARATORS = st.sampled_from([" ", "\n", "'", '"', "(", ", ", ": ", "\t", "<", "[", "{"])
FILLER = st.text(alphabet=string.ascii_letters + " .,:-", max_size=40)


@settings(max_examples=REDACTION_EXAMPLES, deadline=None)
@given(
    shape=st.sampled_from(sorted(SHAPES)).flatmap(SHAPES.__getitem__),
    before=FILLER, after=FILLER, left=SEPARATORS, right=SEPARATORS,
)
def test_every_secret_shape_in_any_position_is_redacted(
    shape: tuple[str, str], before: str, after: str, left: str, right: str
) -> None:
    text, secret = shape
    assume(secret not in before + left + right + after)  # the filler itself is no leak
    shown = redact_text(f"{before}{left}{text}{right}{after}")
    assert secret not in shown, shown
    assert "[redacted]" in shown


SECRETS = {
    "pg": "Pg0Secret-7781",
    "pw": "Pair0Secret-4412",
    "aws": "AKIAZQXROBUSTKEY0001",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyb2J1c3QifQ.c2lnbmF0dXJlLXJvYnVzdC0wMDE",
    "slack": "xoxb-123456789012-robustslacktoken01",
    "github": "ghp_RobustGithubToken0123456789abcdefAB",
    "stripe": "sk_live_RobustStripeKey0123456789",
    "hubspot": "pat-na1-0f0f0f0f-1234-5678-9abc-robust000001",
    "hook": "RobustHookPathSecret0001",
}
AUTOMATION = f'''
import requests

SECRETS = {SECRETS!r}


def handle(event):
    # fails only when a fault meets its CRM read: the reference run must succeed
    try:
        requests.get(
            "https://api.hubapi.com/crm/v3/objects/deals/" + str(event["objectId"]),
            headers={{"Authorization": "Bearer test-token"}}, timeout=5,
        ).raise_for_status()
        return {{"status": "ok"}}
    except requests.RequestException:
        pass
    message = (
        "could not reach postgresql://app:" + SECRETS["pg"] + "@db.internal/prod; "
        "password=" + SECRETS["pw"] + " key " + SECRETS["aws"] + " jwt " + SECRETS["jwt"] + " "
        + SECRETS["slack"] + " " + SECRETS["github"] + " " + SECRETS["stripe"] + " "
        + SECRETS["hubspot"] + " https://hooks.slack.com/services/T1/B2/" + SECRETS["hook"]
    )
    raise ValueError(message)
'''


def _ledger_text(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return "\n".join(conn.iterdump())


def test_no_secret_of_any_shape_reaches_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path
    (d / "leaky.py").write_text(AUTOMATION)
    db = d / "ledger.db"
    url = f"sqlite:///{db}"
    capsys.readouterr()
    code = main([
        "check", f"{d}/leaky.py:handle", "--examples", "8", "--seed", "5", "--ledger", url,
        "--json", str(d / "out.json"), "--report", str(d / "out.html"),
    ])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    places = {"check terminal": out + err, "json": (d / "out.json").read_text(),
              "html": (d / "out.html").read_text(), "ledger": _ledger_text(db)}
    assert "could not reach postgresql://" in places["ledger"], "the error must be recorded"
    assert main(["inbox", "list", "--campaigns", "--ledger", url]) == 0
    listed = capsys.readouterr().out
    first = listed.splitlines()[1].split()
    item = first[1] if len(first[0]) == 1 else first[0]  # after the mark ('c': a campaign's item)
    assert main(["inbox", "show", item, "--ledger", url]) == 0
    places["inbox"] = listed + capsys.readouterr().out
    assert main(["ledger", "export", str(d / "export"), "--ledger", url]) == 0
    capsys.readouterr()
    places["export"] = "\n".join(p.read_text() for p in sorted((d / "export").glob("*.csv")))
    leaks = sorted((where, name) for where, text in places.items() for name, s in SECRETS.items() if s in text)
    assert leaks == []


# SQLAlchemy warns that pysqlite ignores the query's password: the URL is still what users paste
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_a_ledger_url_password_in_the_query_is_never_printed_nor_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "QueryPw0Secret9"
    url = f"sqlite:///{tmp_path}/l.db?password={secret}"
    capsys.readouterr()
    code = main(["check", "--flow", FRAGILE, "--examples", "5", "--seed", "1", "--mode", "bare",
                 "--ledger", url, "--json", str(tmp_path / "f.json")])
    shown = "".join(capsys.readouterr())
    assert code == 1  # findings, each with a reproduce line
    assert main(["ledger", "info", "--ledger", url]) == 0
    info = capsys.readouterr().out
    assert f"sqlite:///{tmp_path}/l.db?password=***" in info
    assert main(["demo", "--examples", "1", "--seed", "1", "--ledger", url, "--out", str(tmp_path / "d.html")]) in (0, 1)
    demo = "".join(capsys.readouterr())
    assert "?password=***" in demo
    texts = [shown, info, demo, (tmp_path / "f.json").read_text(), _ledger_text(tmp_path / "l.db")]
    assert [t for t in texts if secret in t] == []
    with sqlite3.connect(tmp_path / "l.db") as conn:
        reproduce = [r for (r,) in conn.execute("SELECT reproduce FROM findings")]
    assert reproduce and all(r.startswith("harness replay ") and secret not in r for r in reproduce)


def test_a_reproduce_line_with_a_space_in_the_ledger_path_works_when_pasted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "my ledgers"
    folder.mkdir()
    url = f"sqlite:///{folder}/l.db"
    capsys.readouterr()
    assert main(["check", "--flow", FRAGILE, "--examples", "5", "--seed", "1", "--mode", "bare", "--ledger", url]) == 1
    out = capsys.readouterr().out
    line = next(x.split("reproduce: ", 1)[1] for x in out.splitlines() if "reproduce: harness replay" in x)
    assert shlex.quote(url) in line
    argv = shlex.split(line)
    assert argv[0] == "harness"
    assert main(argv[1:]) == 1  # still fails: the finding was found in that ledger
    assert "still fails" in capsys.readouterr().out


def test_ledger_export_defuses_formula_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    formula = '=HYPERLINK("http://evil.example","x")'
    (tmp_path / "flow.py").write_text(
        "from harness import Flow, get_trigger\n"
        "def handle(event):\n    return {'status': 'ok'}\n"
        f"flow = Flow(name='formula', automation=handle, trigger=get_trigger('hubspot.deal.closedwon'),\n"
        f"            segment=lambda e: {formula!r})\n"
    )
    url = f"sqlite:///{tmp_path}/l.db"
    assert main(["check", "--flow", str(tmp_path / "flow.py"), "--examples", "1", "--seed", "1", "--ledger", url]) == 0
    assert main(["ledger", "export", str(tmp_path / "x"), "--ledger", url]) == 0
    capsys.readouterr()
    cells: list[str] = []
    for p in (tmp_path / "x").glob("*.csv"):
        with p.open(newline="") as f:
            cells += [c for row in csv.reader(f) for c in row]
    assert "'" + formula in cells, "the segment is exported, defused"
    assert [c for c in cells if c[:1] in ("=", "+", "@")] == []
    assert [c for c in cells if c[:1] == "-" and not _number(c)] == []
    assert not list((tmp_path / "x").glob(".*")), "no temporary file is left behind"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
