"""same_definition: what registries count as the same registration made twice."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from harness._shared.samedef import same_definition
from harness.chaos import FaultKind

SOURCE = '''
def outer(limit):
    def inner(n):
        return n if n >= limit else inner(n + 1)  # a recursive closure: a cell holds inner
    return inner

def stall(request, ctx, call_next, params, injector, *, wait=3):
    return call_next(request)

scaled = outer({limit})
'''


def _execute(limit: int = 5, source: str = SOURCE) -> dict[str, Any]:
    """One execution of ``source``, as importing a module a second time would make."""
    namespace: dict[str, Any] = {}
    exec(compile(source.format(limit=limit), "flow.py", "exec"), namespace)
    return namespace


def test_functions_made_by_two_executions_of_one_source_are_the_same() -> None:
    a, b = _execute(), _execute()
    assert a["stall"] is not b["stall"] and same_definition(a["stall"], b["stall"])
    assert same_definition(a["scaled"], b["scaled"])  # closure cells compared, recursion ends


def test_a_different_body_default_or_closed_over_value_is_another_definition() -> None:
    a = _execute()
    assert not same_definition(a["scaled"], _execute(limit=6)["scaled"])
    assert not same_definition(a["stall"], _execute(source=SOURCE.replace("wait=3", "wait=4"))["stall"])
    body = SOURCE.replace("return call_next(request)", "return call_next(request) or None")
    assert not same_definition(a["stall"], _execute(source=body)["stall"])
    assert not same_definition(a["stall"], a["outer"])


def test_dataclasses_holding_functions_compare_field_by_field() -> None:
    a, b = _execute(), _execute()
    kind_a = FaultKind("stall", "transport", "waits", inject=a["stall"], params={"times": (1, 2)})
    kind_b = FaultKind("stall", "transport", "waits", inject=b["stall"], params={"times": (1, 2)})
    assert kind_a != kind_b  # dataclass equality sees two function objects
    assert same_definition(kind_a, kind_b)
    assert not same_definition(kind_a, FaultKind("stall", "transport", "waits", inject=b["stall"],
                                                 params={"times": (1, 3)}))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)


@given(JSON)
def test_plain_values_are_the_same_as_their_copies(value: Any) -> None:
    assert same_definition(value, copy.deepcopy(value))


@given(JSON, JSON)
def test_on_plain_values_it_is_equality(a: Any, b: Any) -> None:
    assert same_definition(a, b) == (a == b)
