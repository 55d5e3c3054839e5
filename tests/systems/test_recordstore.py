"""The generic record-store fake: declared resources, validation errors, CRUD."""

from __future__ import annotations

import pytest

from harness.systems import RecordStore, Resource, World

from ._helpers import call

BASE = "https://erp.internal/api/v1/orders"


@pytest.fixture
def erp() -> World:
    store = RecordStore(
        "erp",
        [Resource("order", "/api/v1/orders", required=("customer_email", "total"),
                  fields={"customer_email": "email", "total": "float", "lines": "list",
                          "note": "str", "external_ref": "str"},
                  unique=("external_ref",))],
        extra_hosts=("https://erp.internal",),
        idempotency=True,
    )
    return World([store])


def test_crud(erp: World) -> None:
    created = call(erp, "POST", BASE, json_body={"customer_email": "a@b.co", "total": 12.5})
    assert created.status == 201 and created.header("Location") == "/api/v1/orders/ord_1"
    oid = created.json()["id"]
    assert call(erp, "GET", f"{BASE}/{oid}").json()["total"] == 12.5
    patched = call(erp, "PATCH", f"{BASE}/{oid}", json_body={"note": "gift"}).json()
    assert patched["note"] == "gift" and patched["customer_email"] == "a@b.co"
    listed = call(erp, "GET", f"{BASE}?note=gift").json()
    assert [r["id"] for r in listed["data"]] == [oid] and listed["has_more"] is False
    replaced = call(erp, "PUT", f"{BASE}/{oid}", json_body={"customer_email": "c@d.co", "total": 1})
    assert "note" not in replaced.json()
    assert call(erp, "DELETE", f"{BASE}/{oid}").status == 204
    assert call(erp, "GET", f"{BASE}/{oid}").status == 404
    assert [w.action for w in erp.writes] == ["create", "update", "replace", "delete"]


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"total": 1}, "customer_email", "is required"),
        ({"customer_email": "nope", "total": 1}, "customer_email", "must be of type email"),
        ({"customer_email": "a@b.co", "total": "12"}, "total", "must be of type float"),
        ({"customer_email": "a@b.co", "total": 1, "colour": "red"}, "colour", "is not a field"),
    ],
)
def test_validation_errors(erp: World, body: dict, field: str, problem: str) -> None:
    resp = call(erp, "POST", BASE, json_body=body)
    assert resp.status == 422
    error = resp.json()["error"]
    assert error["code"] == "validation_failed"
    assert any(d["field"] == field and d["problem"].startswith(problem) for d in error["details"])
    assert erp.system("erp").records()["order"] == []


def test_conflict_bad_json_idempotency_and_unknown_path(erp: World) -> None:
    body = {"customer_email": "a@b.co", "total": 1, "external_ref": "X1"}
    first = call(erp, "POST", BASE, json_body=body, headers={"Idempotency-Key": "k"})
    replay = call(erp, "POST", BASE, json_body=body, headers={"Idempotency-Key": "k"})
    assert replay.header("Idempotent-Replayed") == "true" and replay.body == first.body
    dup = call(erp, "POST", BASE, json_body=body)
    assert dup.status == 409 and dup.json()["error"]["code"] == "conflict"
    assert call(erp, "POST", BASE, body=b"{oops").json()["error"]["code"] == "invalid_json"
    assert call(erp, "GET", "https://erp.internal/api/v1/nothing").status == 404


def test_declaration_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="unknown type 'decimal'"):
        Resource("order", "/orders", fields={"total": "decimal"})
    with pytest.raises(ValueError, match="give the hosts"):
        RecordStore("erp", [Resource("order", "/orders")])
    with pytest.raises(ValueError, match="must start with '/'"):
        Resource("order", "orders")
