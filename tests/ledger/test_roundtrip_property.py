"""Property: any run, with any events and details, reads back equal to what was written."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import field, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.ledger import END_STATES, MODES, EventRecord, Ledger, RunRecord

_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20
)
_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | _int64 | _finite | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_detail = st.dictionaries(_text, _json, max_size=4)

_events = st.lists(
    st.builds(
        EventRecord,
        seq=st.integers(0, 10_000),
        kind=st.sampled_from(["delivery", "attempt", "call", "error", "end"]),
        at=_finite,
        wall_at=_finite,
        system=st.none() | _text,
        step=st.none() | _text,
        error_class=st.none() | st.sampled_from(["transient", "logical"]),
        fault=st.none() | _text,
        status=st.none() | st.integers(100, 599),
        outcome=st.none() | st.sampled_from(["ok", "timeout", "error"]),
        detail=_detail,
    ),
    max_size=5,
).map(lambda evs: tuple(sorted(evs, key=lambda e: e.seq)))


@st.composite
def _runs(draw: st.DrawFn) -> list[RunRecord]:
    n = draw(st.integers(1, 4))
    return [
        RunRecord(
            id=f"r{i}",
            flow=draw(_text),
            mode=draw(st.sampled_from(MODES)),
            end_state=draw(st.sampled_from(END_STATES)),
            started_at=draw(_finite),
            ended_at=draw(_finite),
            wall_started=draw(_finite),
            wall_ended=draw(_finite),
            segment=draw(_text),
            seed=draw(st.none() | _int64),
            example=draw(st.none() | st.integers(0, 2**31 - 1)),
            event_id=draw(st.none() | _text),
            is_duplicate=draw(st.booleans()),
            first_error_at=draw(st.none() | _finite),
            duplicate_effects=draw(st.none() | st.integers(0, 5)),
            synthetic=draw(st.booleans()),
            detail=draw(_detail),
            events=draw(_events),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def shared() -> Iterator[Ledger]:
    # one ledger for every example (opening one per example would dominate);
    # each example writes under its own campaign-free id prefix
    with Ledger.open("sqlite://") as ledger:
        yield ledger


_examples = itertools.count()


@settings(deadline=None, max_examples=25, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=_runs())
def test_written_runs_read_back_equal(shared: Ledger, runs: list[RunRecord]) -> None:
    prefix = f"x{next(_examples)}-"
    runs = [replace(r, id=prefix + r.id) for r in runs]
    shared.write_runs(runs)
    assert [shared.run(r.id) for r in runs] == runs  # events sorted by seq, ties in written order
    stored = [r for r in shared.runs(with_events=True) if r.id.startswith(prefix)]
    assert sorted(stored, key=lambda r: r.id) == sorted(runs, key=lambda r: r.id)


def test_a_row_codec_refuses_columns_and_fields_that_do_not_match() -> None:
    """The converters are derived from the dataclass: a column it lacks, or a field no column stores, fails at once."""
    from dataclasses import dataclass

    from harness.ledger._codec import RowCodec

    @dataclass(frozen=True)
    class Rec:
        id: str
        ok: bool = False
        detail: Mapping[str, Any] = field(default_factory=dict)

    codec = RowCodec(Rec, ("id", "ok", "detail"))
    assert codec.row(Rec("x", True, {"a": 1})) == ("x", True, '{"a": 1}')
    assert codec.from_row(("x", 1, '{"a": 1}')) == Rec("x", True, {"a": 1})
    with pytest.raises(ValueError, match=r"columns \['extra'\] are not fields"):
        RowCodec(Rec, ("id", "ok", "detail", "extra"))
    with pytest.raises(ValueError, match=r"fields \['detail'\] are not columns"):
        RowCodec(Rec, ("id", "ok"))
