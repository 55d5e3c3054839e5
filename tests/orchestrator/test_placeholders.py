"""The orchestrator's default data contract: no stand-in for a value the run read as missing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.orchestrator._placeholders import (
    MissingField,
    missing_in_read,
    stand_in_violations,
    zero_money_violations,
)

DEAL = "https://api.hubapi.com/crm/v3/objects/deals/42?properties=dealname,amount,closedate"


def _read(body: Any, url: str = DEAL, subject: str | None = "deal:42") -> dict[str, MissingField]:
    return {m.name: m for m in missing_in_read("GET", url, json.dumps(body).encode(), subject)}


def test_a_read_shows_null_empty_and_asked_for_but_absent_fields() -> None:
    missing = _read({"id": "42", "properties": {"dealname": None, "amount": ""}})
    assert {n: m.how for n, m in missing.items()} == {"dealname": "null", "amount": "empty", "closedate": "absent"}
    assert all(m.subject and m.where == "GET /crm/v3/objects/deals/42" for m in missing.values())


def test_a_field_with_a_value_in_another_record_of_the_answer_is_not_missing() -> None:
    body = {"results": [{"amount": None}, {"amount": "12.00"}]}
    assert "amount" not in _read(body, "https://api.example.com/deals")


def test_only_a_read_of_the_subject_marks_its_fields_as_the_subjects() -> None:
    (m,) = _read({"email": None}, "https://api.hubapi.com/crm/v3/objects/contacts/7").values()
    assert not m.subject


def test_stand_ins_by_name_prefix_runtime_text_and_subject_empty() -> None:
    missing = _read({"properties": {"amount": None, "dealname": ""}}).values()
    held = {v.field for v in stand_in_violations(
        {"unit_amount": "0", "name": "Ada None", "description": "", "quantity": 1, "memo": "none of the above"},
        missing,
    )}
    assert held == {"unit_amount", "name", "description"}


def test_nothing_is_held_when_no_read_missed_anything() -> None:
    assert stand_in_violations({"amount": 0, "name": "None"}, []) == ()


def test_an_empty_text_under_another_name_needs_the_subjects_missing_field() -> None:
    other = _read({"phone": None}, "https://api.hubapi.com/crm/v3/objects/contacts/7").values()
    assert stand_in_violations({"notes": ""}, other) == ()
    assert [v.field for v in stand_in_violations({"phone": ""}, other)] == ["phone"]


_WORD = st.from_regex(r"[A-Za-z][a-z]{1,9}", fullmatch=True).filter(
    lambda w: w.lower() not in {"none", "null", "undefined", "nan"}
)
_REAL = st.one_of(
    st.integers(min_value=1, max_value=10**6),
    st.floats(min_value=0.01, max_value=1e6),
    st.lists(_WORD, min_size=1, max_size=4).map(" ".join),
    st.builds("{}@{}.com".format, _WORD, _WORD),
)


@settings(deadline=None, max_examples=100, derandomize=True)
@given(st.dictionaries(st.sampled_from(["amount", "email", "name", "quantity", "description"]), _REAL))
def test_a_write_of_real_values_is_never_held(body: dict[str, Any]) -> None:
    missing = _read({"properties": {"amount": None, "email": None, "name": None}}).values()
    assert stand_in_violations(body, missing) == ()


def test_a_zero_in_a_money_field_is_held_wherever_it_sits() -> None:
    body = {"Line": [{"Amount": 0, "SalesItemLineDetail": {"UnitPrice": "0.00", "Qty": 0}}], "TotalAmt": 0}
    assert [v.field for v in zero_money_violations(body, ("Amount", "UnitPrice"))] == [
        "Line[0].Amount",
        "Line[0].SalesItemLineDetail.UnitPrice",
    ]
    assert zero_money_violations({"amount": -500, "quantity": 0}, ("amount",)) == ()
    assert zero_money_violations({"amount": 0}, ()) == ()
