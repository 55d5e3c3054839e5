"""Hypothesis properties of the Xero, QuickBooks, Pipedrive and grown HubSpot fakes (notes and property definitions too).

Idempotency: however a client repeats its writes, one key (``Idempotency-Key``,
``requestid``) makes one record.  Validation: a request is applied whole or
rejected in the vendor's shape with nothing stored, and no input makes a fake
crash (a crash would be a 500 the vendor never sends).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.systems import HubSpot, Pipedrive, QuickBooks, World, Xero

from ._helpers import HUBSPOT_AUTH, call

SETTINGS = settings(deadline=None, max_examples=60, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
XERO = "https://api.xero.com/api.xro/2.0"

_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20)
_json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                         st.floats(allow_nan=False, allow_infinity=False, width=32), _text)
_line = st.fixed_dictionaries({}, optional={
    "Description": _json_scalar, "Quantity": _json_scalar, "UnitAmount": _json_scalar,
    "AccountCode": st.sampled_from(["200", "260", "999", None]), "TaxType": st.sampled_from(["NONE", "OUTPUT", "BOGUS"]),
    "DiscountRate": _json_scalar})
_invoice = st.fixed_dictionaries({}, optional={
    "Type": st.sampled_from(["ACCREC", "ACCPAY", "NOPE"]),
    "Contact": st.one_of(st.none(), st.fixed_dictionaries({"Name": _text})),
    "Status": st.sampled_from(["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED"]),
    "DueDate": st.sampled_from(["2026-02-01", "/Date(1767225600000+0000)/", "tomorrow", None]),
    "LineAmountTypes": st.sampled_from(["Exclusive", "Inclusive", "NoTax", "Both"]),
    "CurrencyCode": st.sampled_from(["USD", "EUR", "usd", 5]),
    "LineItems": st.lists(_line, max_size=3)})


def _xero() -> tuple[World, dict[str, str]]:
    world = World([Xero(seed=1)])
    return world, {"Authorization": "Bearer a", "xero-tenant-id": world.system("xero").tenant_id}


@SETTINGS
@given(invoices=st.lists(_invoice, min_size=1, max_size=3), summarize=st.booleans())
def test_xero_invoice_writes_are_whole_or_rejected_in_xero_shape(invoices: list[dict[str, Any]],
                                                                 summarize: bool) -> None:
    world, headers = _xero()
    suffix = "" if summarize else "?summarizeErrors=false"
    resp = call(world, "PUT", f"{XERO}/Invoices{suffix}", headers=headers, json_body={"Invoices": invoices})
    fake: Xero = world.system("xero")
    assert not fake.crashes, fake.crashes
    stored = fake.records()["invoice"]
    if resp.status == 400:
        body = resp.json()
        assert body["Type"] == "ValidationException" and body["ErrorNumber"] == 10
        assert all(e["ValidationErrors"] for e in body["Elements"])
        assert stored == [] and world.writes == []
    else:
        assert resp.status == 200, resp.body
        answered = resp.json()["Invoices"]
        ok = [i for i in answered if i.get("StatusAttributeString", "OK") == "OK"]
        assert len(stored) == len(ok)
        for invoice in ok:
            lines = sum(line["LineAmount"] for line in invoice["LineItems"])
            assert abs(invoice["Total"] - (invoice["SubTotal"] + invoice["TotalTax"])) < 0.011
            if invoice["LineAmountTypes"] != "Inclusive":
                assert abs(invoice["SubTotal"] - lines) < 0.011


@SETTINGS
@given(keys=st.lists(st.sampled_from(["k1", "k2", "k3", None]), min_size=1, max_size=8))
def test_xero_one_idempotency_key_makes_one_invoice(keys: list[str | None]) -> None:
    world, headers = _xero()
    body = {"Invoices": [{"Type": "ACCREC", "Contact": {"Name": "ACME"}, "LineItems": [
        {"Description": "x", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}]}]}
    answers: dict[str, bytes] = {}
    for key in keys:
        extra = {"Idempotency-Key": key} if key else {}
        resp = call(world, "PUT", f"{XERO}/Invoices", headers={**headers, **extra}, json_body=body)
        assert resp.status == 200
        if key:
            assert answers.setdefault(key, resp.body) == resp.body
    expected = len({k for k in keys if k}) + sum(1 for k in keys if k is None)
    assert len(world.system("xero").records()["invoice"]) == expected


@SETTINGS
@given(where=st.text(alphabet='Name=!<>"() .&|ANDORStatus0123456789guid-abcTrueflsenul,', max_size=40))
def test_xero_where_never_crashes(where: str) -> None:
    world, headers = _xero()
    world.system("xero").add_contact("ACME", email="a@acme.example")
    resp = call(world, "GET", f"{XERO}/Contacts?where={quote(where)}", headers=headers)
    assert resp.status in (200, 400), resp.body
    if resp.status == 400:
        assert resp.json()["Type"] == "QueryParseException"
    assert not world.system("xero").crashes


def _qbo() -> tuple[World, str, str]:
    world = World([QuickBooks(seed=1)])
    fake: QuickBooks = world.system("quickbooks")
    customer = fake.add_customer("Amy's Bird Sanctuary", email="amy@example.com")
    return world, f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}", customer


@SETTINGS
@given(ids=st.lists(st.sampled_from(["r1", "r2", None]), min_size=1, max_size=8))
def test_quickbooks_one_requestid_makes_one_invoice(ids: list[str | None]) -> None:
    world, base, customer = _qbo()
    body = {"CustomerRef": {"value": customer}, "Line": [{"Amount": 10, "DetailType": "SalesItemLineDetail"}]}
    for rid in ids:
        suffix = f"?requestid={rid}" if rid else ""
        assert call(world, "POST", f"{base}/invoice{suffix}", headers={"Authorization": "Bearer t"},
                    json_body=body).status == 200
    expected = len({r for r in ids if r}) + sum(1 for r in ids if r is None)
    assert len(world.system("quickbooks").records()["invoice"]) == expected


@SETTINGS
@given(tokens=st.lists(st.integers(0, 4), min_size=1, max_size=6))
def test_quickbooks_update_succeeds_only_with_the_current_sync_token(tokens: list[int]) -> None:
    world, base, customer = _qbo()
    current = 0
    for token in tokens:
        resp = call(world, "POST", f"{base}/customer", headers={"Authorization": "Bearer t"},
                    json_body={"Id": customer, "SyncToken": str(token), "sparse": True, "Notes": f"v{token}"})
        if token == current:
            assert resp.status == 200 and resp.json()["Customer"]["SyncToken"] == str(current + 1)
            current += 1
        else:
            assert resp.status == 400 and resp.json()["Fault"]["Error"][0]["code"] == "5010"
    assert world.system("quickbooks").get("customer", customer)["SyncToken"] == str(current)


@SETTINGS
@given(query=st.text(alphabet="select*fromInvoiceCustomerwhere='0123456789 andorINLIKE%(),.maxresultsstartposition",
                     max_size=60))
def test_quickbooks_query_never_crashes(query: str) -> None:
    world, base, _ = _qbo()
    resp = call(world, "GET", f"{base}/query?query={quote(query)}", headers={"Authorization": "Bearer t"})
    assert resp.status in (200, 400), resp.body
    if resp.status == 400:
        assert resp.json()["Fault"]["type"] == "ValidationFault"
    assert not world.system("quickbooks").crashes


@SETTINGS
@given(kind=st.sampled_from(["deals", "persons", "organizations", "activities"]),
       fields=st.dictionaries(st.sampled_from(["title", "name", "subject", "value", "currency", "status",
                                               "email", "org_id", "person_id", "deal_id", "type", "stage_id"]),
                              _json_scalar, max_size=5),
       as_form=st.booleans())
def test_pipedrive_creates_whole_or_rejects_in_its_shape(kind: str, fields: dict[str, Any], as_form: bool) -> None:
    world = World([Pipedrive(seed=1)])
    url = f"https://api.pipedrive.com/v1/{kind}?api_token=t"
    if as_form:
        form = [(k, "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)) for k, v in fields.items()]
        resp = call(world, "POST", url, form=form)
    else:
        resp = call(world, "POST", url, json_body=fields)
    fake: Pipedrive = world.system("pipedrive")
    assert not fake.crashes, fake.crashes
    stored = sum(len(v) for v in fake.records().values())
    if resp.status == 201:
        assert resp.json()["success"] is True and stored == 1
    else:
        assert resp.status == 400 and resp.json()["success"] is False and resp.json()["error"]
        assert stored == 0 and world.writes == []


_filter = st.fixed_dictionaries({
    "propertyName": st.sampled_from(["dealname", "amount", "dealstage", "nope", "hs_object_id"]),
    "operator": st.sampled_from(["EQ", "NEQ", "LT", "GTE", "BETWEEN", "IN", "HAS_PROPERTY", "CONTAINS_TOKEN", "LIKE"]),
}, optional={"value": _json_scalar, "highValue": _json_scalar, "values": st.lists(_json_scalar, max_size=3)})


@SETTINGS
@given(groups=st.lists(st.fixed_dictionaries({"filters": st.lists(_filter, max_size=7)}), max_size=6),
       limit=st.integers(-1, 250))
def test_hubspot_search_answers_or_rejects_and_never_crashes(groups: list[Any], limit: int) -> None:
    world = World([HubSpot(seed=1)])
    fake: HubSpot = world.system("hubspot")
    for n in range(3):
        fake.add_object("deal", {"dealname": f"Deal {n}", "amount": str(100 * n), "dealstage": "closedwon"})
    resp = call(world, "POST", "https://api.hubapi.com/crm/v3/objects/deals/search", headers=dict([HUBSPOT_AUTH]),
                json_body={"filterGroups": groups, "limit": limit})
    assert not fake.crashes, fake.crashes
    assert resp.status in (200, 400), resp.body
    if resp.status == 200:
        body = resp.json()
        assert body["total"] >= len(body["results"]) and len(body["results"]) <= limit
    else:
        assert resp.json()["category"] == "VALIDATION_ERROR"


_qbo_line = st.fixed_dictionaries({"DetailType": st.sampled_from(["SalesItemLineDetail", "DescriptionOnly", "Bogus"])},
                                  optional={"Amount": _json_scalar, "Description": _json_scalar,
                                            "SalesItemLineDetail": st.fixed_dictionaries({}, optional={
                                                "Qty": _json_scalar, "UnitPrice": _json_scalar,
                                                "ItemRef": st.fixed_dictionaries({"value": st.sampled_from(["1", "999"])})})})


@SETTINGS
@given(lines=st.lists(_qbo_line, max_size=3), customer=st.sampled_from(["known", "999", None]))
def test_quickbooks_invoice_is_stored_whole_or_refused_with_a_fault(lines: list[Any], customer: str | None) -> None:
    world, base, known = _qbo()
    body: dict[str, Any] = {"Line": lines}
    if customer is not None:
        body["CustomerRef"] = {"value": known if customer == "known" else customer}
    resp = call(world, "POST", f"{base}/invoice", headers={"Authorization": "Bearer t"}, json_body=body)
    fake: QuickBooks = world.system("quickbooks")
    assert not fake.crashes, fake.crashes
    stored = fake.records()["invoice"]
    if resp.status == 200:
        invoice = resp.json()["Invoice"]
        assert [i["Id"] for i in stored] == [invoice["Id"]] and [w.action for w in world.writes] == ["create"]
        # QuickBooks totals what it stored: the sum of the sales lines
        total = sum(float(line["Amount"]) for line in invoice["Line"] if line["DetailType"] != "SubTotalLineDetail")
        assert abs(invoice["TotalAmt"] - total) < 0.005
    else:
        assert resp.status == 400 and resp.json()["Fault"]["type"] == "ValidationFault"
        assert resp.json()["Fault"]["Error"][0]["code"].isdigit()
        assert stored == [] and world.writes == []


_prop_value = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8),
                        st.sampled_from(["gold", "silver", "bronze"]))


@SETTINGS
@given(props=st.dictionaries(st.sampled_from(["dealname", "amount", "tier", "tier_note", "nope_undefined"]),
                             _prop_value, min_size=1, max_size=4))
def test_hubspot_writes_only_defined_properties_with_valid_values_and_nothing_on_refusal(
    props: dict[str, Any]
) -> None:
    world = World([HubSpot(seed=1)])
    fake: HubSpot = world.system("hubspot")
    headers = dict([HUBSPOT_AUTH])
    defined = call(world, "POST", "https://api.hubapi.com/crm/v3/properties/deals", headers=headers, json_body={
        "name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select", "groupName": "dealinformation",
        "options": [{"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}]})
    assert defined.status == 201, defined.body
    before = list(world.writes)
    resp = call(world, "POST", "https://api.hubapi.com/crm/v3/objects/deals", headers=headers,
                json_body={"properties": props})
    assert not fake.crashes, fake.crashes
    undefined = {"tier_note", "nope_undefined"} & set(props)
    bad_tier = props.get("tier") not in (None, "", "gold", "silver")
    if undefined or (bad_tier and not isinstance(props.get("tier"), bool)):
        assert resp.status == 400 and resp.json()["category"] == "VALIDATION_ERROR"
        codes = {e["code"] for e in resp.json()["errors"]}
        assert ("PROPERTY_DOESNT_EXIST" in codes) is bool(undefined)
        assert fake.ids("deals") == [] and world.writes == before
    else:
        assert resp.status in (201, 400), resp.body
        if resp.status == 201:
            stored = fake.get("deal", resp.json()["id"])["properties"]  # type: ignore[index]
            for name, value in props.items():
                expected = None if value is None else ("true" if value is True else "false" if value is False
                                                       else str(value))
                assert stored[name] == expected
        else:
            assert fake.ids("deals") == [] and world.writes == before


@SETTINGS
@given(timestamp=st.one_of(st.none(), st.just(""), st.sampled_from(["2026-01-15T10:30:00.000Z", "1767225600000"])),
       body_length=st.sampled_from([0, 10, 65_536, 65_537]))
def test_hubspot_note_needs_its_timestamp_and_a_body_within_the_limit(timestamp: str | None, body_length: int) -> None:
    world = World([HubSpot(seed=1)])
    fake: HubSpot = world.system("hubspot")
    props: dict[str, Any] = {"hs_note_body": "x" * body_length}
    if timestamp is not None:
        props["hs_timestamp"] = timestamp
    resp = call(world, "POST", "https://api.hubapi.com/crm/v3/objects/notes", headers=dict([HUBSPOT_AUTH]),
                json_body={"properties": props})
    if timestamp and body_length <= 65_536:
        assert resp.status == 201 and fake.ids("notes") == [resp.json()["id"]]
    else:
        assert resp.status == 400 and fake.ids("notes") == [] and world.writes == []
