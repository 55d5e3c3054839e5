"""Fake QuickBooks Online: entity envelopes, the query language, SyncToken, requestid, Fault bodies."""

from __future__ import annotations

import pytest

from harness.systems import QuickBooks, World, standard_world

from ._helpers import assert_shape, call, load

AUTH = {"Authorization": "Bearer qbo-token"}


@pytest.fixture
def qworld() -> World:
    return World([QuickBooks(seed=2)])


def _base(world: World) -> str:
    return f"https://quickbooks.api.intuit.com/v3/company/{world.system('quickbooks').realm_id}"


def _customer(world: World, name: str = "King's Groceries") -> dict:
    resp = call(world, "POST", f"{_base(world)}/customer", headers=AUTH,
                json_body={"DisplayName": name, "GivenName": "James", "FamilyName": "King", "CompanyName": name,
                           "PrimaryEmailAddr": {"Address": "jdrew@myemail.com"}})
    assert resp.status == 200, resp.body
    return dict(resp.json()["Customer"])


def _line(amount: float = 100.0, **detail: object) -> dict:
    return {"Amount": amount, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, **detail}}


def test_customer_and_invoice_match_documented_shapes(qworld: World) -> None:
    customer = _customer(qworld)
    assert_shape({"Customer": customer, "time": "x"}, load("quickbooks", "customer"))
    made = call(qworld, "POST", f"{_base(qworld)}/invoice", headers=AUTH,
                json_body={"CustomerRef": {"value": customer["Id"]}, "Line": [_line(100, Qty=2, UnitPrice=50)]})
    assert made.status == 200, made.body
    assert_shape(made.json(), load("quickbooks", "invoice"))
    invoice = made.json()["Invoice"]
    assert invoice["TotalAmt"] == 100.0 and invoice["Balance"] == 100.0 and invoice["DocNumber"] == "1001"
    assert invoice["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    shown = call(qworld, "GET", f"{_base(qworld)}/invoice/{invoice['Id']}", headers=AUTH).json()
    assert shown["Invoice"] == invoice
    assert qworld.system("quickbooks").get("customer", customer["Id"])["Balance"] == 100.0


def test_query_language(qworld: World) -> None:
    a = _customer(qworld, "Amy's Bird Sanctuary")
    b = _customer(qworld, "Bill's Windsurf Shop")
    for cust, amount in ((a, 100), (b, 250), (a, 40)):
        call(qworld, "POST", f"{_base(qworld)}/invoice", headers=AUTH,
             json_body={"CustomerRef": {"value": cust["Id"]}, "Line": [_line(amount)]})

    def q(text: str) -> dict:
        resp = call(qworld, "GET", f"{_base(qworld)}/query?query={text}", headers=AUTH)
        assert resp.status == 200, resp.body
        return dict(resp.json()["QueryResponse"])

    found = q(f"select * from Invoice where CustomerRef = '{a['Id']}' and TotalAmt > '50'")
    assert [i["TotalAmt"] for i in found["Invoice"]] == [100.0]
    assert_shape({"QueryResponse": found, "time": "x"}, load("quickbooks", "query_invoices"))
    assert q("SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary'")["Customer"][0]["Id"] == a["Id"]
    assert [c["DisplayName"] for c in q("select * from Customer where DisplayName LIKE 'Bill%'")["Customer"]] == [
        "Bill's Windsurf Shop"]
    paged = q("select * from Invoice orderby TotalAmt desc startposition 2 maxresults 1")
    assert [i["TotalAmt"] for i in paged["Invoice"]] == [100.0] and paged["startPosition"] == 2
    assert q("select count(*) from Invoice where DocNumber IN ('1001', '1003')") == {"totalCount": 2}
    assert q("select * from Invoice where DocNumber = 'nope'") == {}
    bad = call(qworld, "GET", f"{_base(qworld)}/query?query=select * from Invoice where A = '1' or B = '2'", headers=AUTH)
    assert bad.status == 400 and bad.json()["Fault"]["Error"][0]["code"] == "4000"


def test_sync_token_stale_update_is_5010(qworld: World) -> None:
    customer = _customer(qworld)
    upd = call(qworld, "POST", f"{_base(qworld)}/customer", headers=AUTH,
               json_body={"Id": customer["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "King Groceries"})
    assert upd.status == 200 and upd.json()["Customer"]["SyncToken"] == "1"
    assert upd.json()["Customer"]["GivenName"] == "James"  # sparse keeps what it was not sent
    stale = call(qworld, "POST", f"{_base(qworld)}/customer", headers=AUTH,
                 json_body={"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "late"})
    assert stale.status == 400
    assert_shape(stale.json(), load("quickbooks", "error_stale"))
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    assert [w.action for w in qworld.writes] == ["create", "update"]


def test_validation_faults(qworld: World) -> None:
    customer = _customer(qworld)
    base = _base(qworld)

    def post(body: dict, path: str = "/invoice") -> dict:
        resp = call(qworld, "POST", base + path, headers=AUTH, json_body=body)
        assert resp.status == 400, resp.body
        return dict(resp.json()["Fault"]["Error"][0])

    no_line = post({"CustomerRef": {"value": customer["Id"]}})
    assert no_line["code"] == "2020" and no_line["element"] == "Line"
    assert_shape({"Fault": {"Error": [no_line], "type": "ValidationFault"}, "time": "x"},
                 load("quickbooks", "error_required"))
    assert post({"Line": [_line()]})["code"] == "2020"
    assert post({"CustomerRef": {"value": "999"}, "Line": [_line()]})["code"] == "2500"
    assert post({"CustomerRef": {"value": customer["Id"]}, "Line": [_line(90, Qty=2, UnitPrice=50)]})["code"] == "6070"
    assert post({"CustomerRef": {"value": customer["Id"]}, "Line": [_line()], "Colour": "red"})["code"] == "2010"
    assert post({"DisplayName": "King's Groceries"}, "/customer")["code"] == "6240"
    ok = call(qworld, "POST", base + "/invoice", headers=AUTH,
              json_body={"CustomerRef": {"value": customer["Id"]}, "DocNumber": "HS-1", "Line": [_line()]})
    assert ok.status == 200
    assert post({"CustomerRef": {"value": customer["Id"]}, "DocNumber": "HS-1", "Line": [_line()]})["code"] == "6140"
    allowed = call(qworld, "POST", base + "/invoice?include=allowduplicatedocnum", headers=AUTH,
                   json_body={"CustomerRef": {"value": customer["Id"]}, "DocNumber": "HS-1", "Line": [_line()]})
    assert allowed.status == 200
    assert len(qworld.system("quickbooks").records()["invoice"]) == 2


def test_requestid_replays_and_auth_faults(qworld: World) -> None:
    customer = _customer(qworld)
    url = f"{_base(qworld)}/invoice?requestid=deal-7-invoice"
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [_line()]}
    first = call(qworld, "POST", url, headers=AUTH, json_body=body)
    second = call(qworld, "POST", url, headers=AUTH, json_body=body)
    assert first.body == second.body and qworld.system("quickbooks").replays == 1
    assert len(qworld.system("quickbooks").records()["invoice"]) == 1
    unauth = call(qworld, "GET", f"{_base(qworld)}/customer/{customer['Id']}")
    assert unauth.status == 401
    assert_shape(unauth.json(), load("quickbooks", "error_401"))
    other_realm = call(qworld, "GET", "https://quickbooks.api.intuit.com/v3/company/123/customer/1", headers=AUTH)
    assert other_realm.status == 403
    qworld.system("quickbooks").fail_next(503)
    down = call(qworld, "GET", f"{_base(qworld)}/customer/{customer['Id']}", headers=AUTH)
    assert down.status == 503 and down.json()["Fault"]["type"] == "SystemFault"


def test_standard_world_seeds_existing_customers() -> None:
    quickbooks: QuickBooks = standard_world(5).system("quickbooks")
    assert len(quickbooks.records()["customer"]) == len(standard_world(5).system("xero").records()["contact"])
    assert [i["Name"] for i in quickbooks.records()["item"]] == ["Services", "Hours", "Licence"]
