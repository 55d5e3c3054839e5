"""Hostile values from the ledger reach every output escaped, and no secret reaches any output.

Strings with markup, quotes, control characters, huge and non-ASCII values,
and secrets in headers, URLs and basic auth are written to every text column
a report shows (segment, error detail, inbox reason/owner/runbook, contract
violation field and value, finding message/scenario/reproduce/timeline,
campaign command and versions, flow changes); the HTML must parse to only the
tags the template uses, with no event-handler attribute and no script, and
no output may contain a secret.
"""

from __future__ import annotations

import json
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.ledger import (
    CampaignRecord,
    EventRecord,
    FindingRecord,
    FlowChange,
    InboxItem,
    Ledger,
    RunRecord,
)
from harness.report import write_report
from harness.report._build import build_report
from harness.report.render import render

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "nav", "a", "dl", "dt",
    "dd", "section", "div", "small", "p", "strong", "h1", "h2", "h3", "ul", "li", "details",
    "summary", "table", "tr", "th", "td", "span", "code", "pre", "footer", "svg", "rect",
    "text", "line", "polyline", "circle",
}

HOSTILE = st.sampled_from([
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "</style><script>x()</script>",
    "<!-- -->]]><![CDATA[",
    "{{ 7*7 }}{% raw %}",
    "=HYPERLINK(\"http://evil.example\")",
    "\x00\x07\x1b[31m\u202e\ufeff",
    "ümlaut ☃ 日本語 🚀 مرحبا",
    "&amp;&lt;&#x3c;",
    "javascript:alert(1)",
]) | st.text(min_size=0, max_size=40)

TOKEN = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", min_size=10, max_size=24).map(
    lambda s: "Zq9" + s  # unique enough never to occur in the report by chance
)


def secret_forms(token: str) -> list[str]:
    return [
        f"Authorization: Bearer {token}",
        f"X-Api-Key: {token}",
        f"https://api.example.com/v1/deals?api_key={token}&limit=5",
        f"https://admin:{token}@hooks.example.com/in",
        f'{{"headers": {{"Authorization": "Basic {token}"}}}}',
        f"token={token}",
        f"sk_live_{token}",
    ]


def mix(a: str, b: str, secret: str, big: bool) -> str:
    return f"{a} {secret} {b}" + (" Ω" * 20_000 if big else "")


@settings(deadline=None, max_examples=8, derandomize=True, phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(a=HOSTILE, b=HOSTILE, token=TOKEN, big=st.booleans())
def test_hostile_values_are_escaped_and_secrets_redacted(a: str, b: str, token: str, big: bool) -> None:
    forms = secret_forms(token)

    def text(i: int) -> str:
        return mix(a, b, forms[i % len(forms)], big and i == 0)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        with Ledger.open(f"sqlite:///{out / 'l.db'}") as led:
            led.start_campaign(CampaignRecord(
                id="c1", flow="f", mode="orchestrated", wall_started=1.7e9, seed=1, examples=1,
                command=text(1), versions={"harness": text(2)}, status="completed", wall_ended=1.7e9 + 9,
            ))
            events = (
                EventRecord(0, "contract_violation", 0.0, 1.7e9, detail={"field": text(3), "value": text(4), "rule": text(5)}),
                EventRecord(1, "call", 0.5, 1.7e9, system=text(6), step=text(0), fault=text(1), outcome="timeout"),
                EventRecord(2, "error", 1.0, 1.7e9, system=text(2), step=text(3), error_class="logical",
                            detail={"message": text(4), "headers": {"Authorization": f"Bearer {token}"}}),
            )
            led.write_runs([RunRecord(
                id="r1", flow="f", mode="orchestrated", end_state="manual", started_at=0.0, ended_at=5.0,
                wall_started=1.7e9, wall_ended=1.7e9 + 5, campaign_id="c1", segment=text(5),
                error_class="logical", first_error_at=1.0, events=events, delivery_kind=text(6)[:30],
                is_duplicate=True, duplicate_effects=1,
            )])
            led.add_inbox_item(InboxItem(
                id="i1", run_id="r1", flow="f", reason=text(0), created_at=1.0, wall_created=1.7e9,
                due_at=2.0, owner=text(1), error_class="logical", segment=text(5),
                context={"runbook": text(2), "request": {"url": forms[2], "headers": {"X-Api-Key": token}}},
            ))
            led.write_findings([FindingRecord(
                id="x1", flow="f", mode="orchestrated", oracle=text(3)[:60], message=text(4),
                scenario=text(5), reproduce=text(6), wall_created=1.7e9, campaign_id="c1", seed=1, example=0,
                timeline=({"at": 0.0, "system": text(0), "kind": text(1), "message": text(2)},),
            )])
            led.record_change(FlowChange(flow="f", wall_at=1.7e9, kind="rule", description=text(3), by=text(4)))
            # one build, four renderings: what write_report does per format, without
            # querying the ledger four times per example
            data = build_report(led, flow="f", title=text(5), contract=[(text(3), text(4), text(5))],
                                owners=[(text(6), forms[2])])
            outputs = {
                suffix: render(data, out / f"r.{suffix}").read_text()
                for suffix in ("html", "json", "csv", "xml")
            }
            # and the public entry point once, on the HTML
            assert write_report(led, out / "w.html", flow="f").read_text().count("<html") == 1
    for suffix, body in outputs.items():
        assert token not in body, f"secret leaked into the {suffix} output"
    json.loads(outputs["json"])
    html = outputs["html"]
    for raw in (a, b):
        if "<" in raw or ">" in raw:
            assert raw not in html
    _check_markup(html)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.bad.append(f"tag <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("src", "srcset", "formaction", "style"):
                self.bad.append(f"attribute {name}={value!r} on <{tag}>")
            if name == "href" and value is not None and not value.startswith("#"):
                self.bad.append(f"href={value!r}")


def _check_markup(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    assert parser.bad == []
    # exactly one <style> and its content is the template's stylesheet only
    assert html.count("<style>") == 1 and html.count("</style>") == 1
    assert "<script" not in html.lower()
