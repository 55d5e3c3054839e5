"""Fake Xero: identity host, tenant header, envelopes, create-or-update, where=, Idempotency-Key, errors."""

from __future__ import annotations

import base64

import pytest

from harness.systems import World, Xero, standard_world

from ._helpers import assert_shape, call, load

API = "https://api.xero.com/api.xro/2.0"


@pytest.fixture
def xworld() -> World:
    return World([Xero(seed=3)])


def _h(world: World, **extra: str) -> dict[str, str]:
    return {"Authorization": "Bearer access", "xero-tenant-id": world.system("xero").tenant_id, **extra}


def _invoice(**extra: object) -> dict:
    return {"Type": "ACCREC", "Contact": {"Name": "ACME Ltd"}, "Status": "AUTHORISED", "DueDate": "2026-02-01",
            "Reference": "deal-1",
            "LineItems": [{"Description": "Licence", "Quantity": 2, "UnitAmount": 20, "AccountCode": "200",
                           "TaxType": "NONE"}], **extra}


def test_token_refresh_on_identity_host_rotates_the_refresh_token(xworld: World) -> None:
    basic = "Basic " + base64.b64encode(b"client-id:client-secret").decode()
    first = call(xworld, "POST", "https://identity.xero.com/connect/token", headers={"Authorization": basic},
                 form={"grant_type": "refresh_token", "refresh_token": "consent-token"})
    assert first.status == 200, first.body
    assert_shape(first.json(), load("xero", "token_refresh"))
    rotated = first.json()["refresh_token"]
    assert rotated != "consent-token" and first.json()["expires_in"] == 1800
    # the old token works for 30 minutes, then is refused
    again = call(xworld, "POST", "https://identity.xero.com/connect/token", headers={"Authorization": basic},
                 form={"grant_type": "refresh_token", "refresh_token": "consent-token"})
    assert again.status == 200
    xworld.clock.advance(31 * 60)  # type: ignore[attr-defined]
    late = call(xworld, "POST", "https://identity.xero.com/connect/token", headers={"Authorization": basic},
                form={"grant_type": "refresh_token", "refresh_token": "consent-token"})
    assert late.status == 400 and late.json() == {"error": "invalid_grant"}
    wrong = call(xworld, "POST", "https://identity.xero.com/connect/token", headers={"Authorization": basic},
                 form={"grant_type": "password", "refresh_token": rotated})
    assert wrong.json() == {"error": "unsupported_grant_type"}
    no_client = call(xworld, "POST", "https://identity.xero.com/connect/token",
                     form={"grant_type": "refresh_token", "refresh_token": rotated})
    assert no_client.status == 400 and no_client.json() == {"error": "invalid_client"}


def test_connections_and_the_tenant_header(xworld: World) -> None:
    conns = call(xworld, "GET", "https://api.xero.com/connections", headers={"Authorization": "Bearer a"})
    assert_shape(conns.json(), load("xero", "connections"))
    assert conns.json()[0]["tenantId"] == xworld.system("xero").tenant_id
    missing = call(xworld, "GET", f"{API}/Contacts", headers={"Authorization": "Bearer a"})
    assert missing.status == 403 and "xero-tenant-id" in missing.json()["Detail"]
    other = call(xworld, "GET", f"{API}/Contacts",
                 headers={"Authorization": "Bearer a", "xero-tenant-id": "00000000-0000-0000-0000-000000000000"})
    assert other.status == 403
    unauth = call(xworld, "GET", f"{API}/Contacts", headers={"xero-tenant-id": xworld.system("xero").tenant_id})
    assert unauth.status == 401 and unauth.json()["Title"] == "Unauthorized"


def test_contacts_put_creates_and_post_updates_by_name(xworld: World) -> None:
    created = call(xworld, "PUT", f"{API}/Contacts", headers=_h(xworld),
                   json_body={"Contacts": [{"Name": "ACME Ltd", "EmailAddress": "ap@acme.example"}]})
    assert created.status == 200, created.body
    assert_shape(created.json(), load("xero", "contacts"))
    contact = created.json()["Contacts"][0]
    taken = call(xworld, "PUT", f"{API}/Contacts", headers=_h(xworld), json_body={"Contacts": [{"Name": "acme ltd"}]})
    assert taken.status == 400
    assert_shape(taken.json(), load("xero", "error_validation"))
    assert "already assigned to another contact" in taken.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    updated = call(xworld, "POST", f"{API}/Contacts", headers=_h(xworld),
                   json_body={"Contacts": [{"Name": "ACME Ltd", "EmailAddress": "billing@acme.example"}]})
    assert updated.json()["Contacts"][0]["ContactID"] == contact["ContactID"]
    assert [c["EmailAddress"] for c in xworld.system("xero").records()["contact"]] == ["billing@acme.example"]
    bad = call(xworld, "POST", f"{API}/Contacts", headers=_h(xworld),
               json_body={"Contacts": [{"Name": "Other", "EmailAddress": "not-an-email"}]})
    assert bad.json()["Elements"][0]["ValidationErrors"] == [{"Message": "Email address must be valid."}]
    assert [w.action for w in xworld.writes] == ["create", "update"]


def test_invoice_totals_status_and_where_filters(xworld: World) -> None:
    made = call(xworld, "PUT", f"{API}/Invoices", headers=_h(xworld), json_body={"Invoices": [_invoice()]})
    assert made.status == 200, made.body
    assert_shape(made.json(), load("xero", "invoices"))
    invoice = made.json()["Invoices"][0]
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (40.0, 0.0, 40.0)
    assert invoice["InvoiceNumber"] == "INV-0001" and invoice["Contact"]["Name"] == "ACME Ltd"
    taxed = call(xworld, "PUT", f"{API}/Invoices", headers=_h(xworld), json_body={"Invoices": [_invoice(
        Status="DRAFT", LineItems=[{"Description": "Design", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200"}])]})
    assert taxed.json()["Invoices"][0]["TotalTax"] == 15.0 and taxed.json()["Invoices"][0]["Total"] == 115.0
    listed = call(xworld, "GET", f'{API}/Invoices?where=Status=="AUTHORISED" AND Contact.Name=="acme ltd"',
                  headers=_h(xworld)).json()["Invoices"]
    assert [i["InvoiceID"] for i in listed] == [invoice["InvoiceID"]]
    assert "LineItems" not in listed[0]  # an unpaged list leaves line items out
    paged = call(xworld, "GET", f"{API}/Invoices?page=1&where=Total>=100", headers=_h(xworld)).json()
    assert [i["Status"] for i in paged["Invoices"]] == ["DRAFT"] and paged["Invoices"][0]["LineItems"]
    assert paged["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 1, "itemCount": 1}
    by_number = call(xworld, "GET", f"{API}/Invoices/INV-0001", headers=_h(xworld)).json()["Invoices"][0]
    assert by_number["InvoiceID"] == invoice["InvoiceID"]
    broken = call(xworld, "GET", f'{API}/Invoices?where=Status=="AUTH', headers=_h(xworld))
    assert broken.status == 400 and broken.json()["Type"] == "QueryParseException"
    missing = call(xworld, "GET", f"{API}/Invoices/7e0ad6b5-8b9f-4c8a-9d5e-6b2f4d0c1a3e", headers=_h(xworld))
    assert missing.status == 404


def test_invoice_validation_is_all_or_nothing_unless_summarize_errors_false(xworld: World) -> None:
    bad = _invoice(LineItems=[{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "999"}])
    both = call(xworld, "PUT", f"{API}/Invoices", headers=_h(xworld), json_body={"Invoices": [_invoice(), bad]})
    assert both.status == 400
    messages = [m["Message"] for e in both.json()["Elements"] for m in e["ValidationErrors"]]
    assert messages == ["Account code '999' is not a valid code for this document."]
    assert xworld.system("xero").records()["invoice"] == [] and xworld.writes == []
    partial = call(xworld, "PUT", f"{API}/Invoices?summarizeErrors=false", headers=_h(xworld),
                   json_body={"Invoices": [_invoice(), bad]})
    assert partial.status == 200
    assert [i["StatusAttributeString"] for i in partial.json()["Invoices"]] == ["OK", "ERROR"]
    assert len(xworld.system("xero").records()["invoice"]) == 1
    no_contact = call(xworld, "PUT", f"{API}/Invoices", headers=_h(xworld),
                      json_body={"Invoices": [_invoice(Contact=None)]})
    assert {"Message": "A Contact must be specified for this type of transaction"} in \
        no_contact.json()["Elements"][0]["ValidationErrors"]


def test_post_updates_an_invoice_and_respects_its_life_cycle(xworld: World) -> None:
    made = call(xworld, "PUT", f"{API}/Invoices", headers=_h(xworld),
                json_body={"Invoices": [_invoice(Status="DRAFT")]}).json()["Invoices"][0]
    upd = call(xworld, "POST", f"{API}/Invoices/{made['InvoiceID']}", headers=_h(xworld),
               json_body={"Invoices": [{"Status": "AUTHORISED"}]})
    assert upd.status == 200 and upd.json()["Invoices"][0]["Status"] == "AUTHORISED"
    back = call(xworld, "POST", f"{API}/Invoices", headers=_h(xworld),
                json_body={"Invoices": [{"InvoiceNumber": made["InvoiceNumber"], "Status": "DRAFT"}]})
    assert back.status == 400
    assert back.json()["Elements"][0]["ValidationErrors"] == [{"Message": "Invoice not of valid status for modification"}]
    voided = call(xworld, "POST", f"{API}/Invoices/{made['InvoiceID']}", headers=_h(xworld),
                  json_body={"Invoices": [{"Status": "VOIDED"}]})
    assert voided.json()["Invoices"][0]["AmountDue"] == 0.0
    assert [w.action for w in xworld.writes if w.kind == "invoice"] == ["create", "update", "update"]


def test_idempotency_key_replays_without_acting_again(xworld: World) -> None:
    key = {"Idempotency-Key": "deal-512-invoice"}
    first = call(xworld, "PUT", f"{API}/Invoices", headers=_h(xworld, **key), json_body={"Invoices": [_invoice()]})
    second = call(xworld, "PUT", f"{API}/Invoices", headers=_h(xworld, **key), json_body={"Invoices": [_invoice()]})
    assert first.body == second.body and first.status == second.status == 200
    assert len(xworld.system("xero").records()["invoice"]) == 1 and xworld.system("xero").replays == 1
    too_long = call(xworld, "PUT", f"{API}/Invoices", headers=_h(xworld, **{"Idempotency-Key": "k" * 129}),
                    json_body={"Invoices": [_invoice()]})
    assert too_long.status == 400
    xworld.clock.advance(25 * 3600)  # type: ignore[attr-defined]
    later = call(xworld, "PUT", f"{API}/Invoices", headers=_h(xworld, **key), json_body={"Invoices": [_invoice()]})
    assert later.json()["Invoices"][0]["InvoiceID"] != first.json()["Invoices"][0]["InvoiceID"]


def test_injected_errors_use_xero_shapes(xworld: World) -> None:
    fake: Xero = xworld.system("xero")
    fake.fail_next(429, retry_after=30)
    limited = call(xworld, "GET", f"{API}/Contacts", headers=_h(xworld))
    assert limited.status == 429 and limited.header("Retry-After") == "30"
    assert limited.header("X-Rate-Limit-Problem") == "minute"
    fake.fail_next(400, message="boom")
    rejected = call(xworld, "GET", f"{API}/Contacts", headers=_h(xworld))
    assert rejected.json()["Type"] == "ValidationException"
    assert fake.describe().errors.body(503, None)["Status"] == 503


def test_standard_world_seeds_existing_customers_as_xero_contacts() -> None:
    world = standard_world(5)
    xero: Xero = world.system("xero")
    contacts = xero.records()["contact"]
    assert contacts and all(c["IsCustomer"] for c in contacts)
    assert len(xero.records()["invoice"]) == len(contacts)
    assert standard_world(5).system("xero").records() == xero.records()
