"""The public API: one way in, and an honest ``__all__``."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import subprocess
import sys

import pytest

import harness


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert harness.__all__ == sorted(harness.__all__)
    assert len(set(harness.__all__)) == len(harness.__all__)
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name


def test_all_equals_the_public_names_of_the_module() -> None:
    """Every public name (no leading ``_``, not a submodule) is in ``__all__``, and nothing else.

    As Hypothesis keeps its ``__all__`` honest: a name added to the module but
    not to ``__all__`` (or left in ``__all__`` after it went) fails here.  The
    lazy names count: ``dir()`` lists them and ``getattr`` imports them.
    """
    public = {
        name
        for name in dir(harness)
        if not name.startswith("_") and not inspect.ismodule(getattr(harness, name))
    }
    assert sorted(public - set(harness.__all__)) == [], "public but not in __all__"
    assert sorted(set(harness.__all__) - public) == [], "in __all__ but not public"


def test_no_submodule_is_exported_by_name() -> None:
    for name in harness.__all__:
        assert not inspect.ismodule(getattr(harness, name)), name


def test_lazy_names_come_from_the_room_that_owns_them() -> None:
    from harness.chaos import run_campaign
    from harness.report import compute_metrics

    assert harness.run_campaign is run_campaign
    assert harness.compute_metrics is compute_metrics


def test_importing_harness_does_not_import_pandas_or_sqlalchemy() -> None:
    code = "import sys, harness; print(sorted(m for m in ('pandas', 'sqlalchemy', 'hypothesis') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        harness.NoSuchThing  # noqa: B018


# Positional on purpose (see the dataclasses' docstrings): the wire types are shaped like the
# vendors' own and built on every call; the scenario steps print as Python a user pastes; a
# Contract's one field is its tuple of fields; Field's type reads as Field("email", "email").
POSITIONAL_DEFAULTS = {
    ("Request", "headers"), ("Request", "body"), ("Request", "timeout"), ("Request", "client"),
    ("Response", "headers"), ("Response", "body"), ("Contract", "fields"),
    ("Field", "type"),
}


def _public_dataclasses() -> dict[str, type]:
    rooms = ["harness", "harness.chaos", "harness.gate", "harness.ledger", "harness.orchestrator",
             "harness.report", "harness.systems", "harness.triggers", "harness.oracles"]
    found: dict[str, type] = {}
    for room in rooms:
        module = importlib.import_module(room)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_public_dataclasses_take_their_defaults_by_keyword() -> None:
    classes = _public_dataclasses()
    assert len(classes) > 20, sorted(classes)  # the walk found the rooms' dataclasses
    positional = sorted(
        f"{cls.__qualname__}.{f.name}"
        for cls in classes.values()
        for f in dataclasses.fields(cls)
        if f.init and not f.kw_only
        and (f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING)
        and (cls.__qualname__, f.name) not in POSITIONAL_DEFAULTS
        and cls.__qualname__ not in ("Deliver", "InjectFault", "Scenario")
    )
    assert positional == [], positional


def test_a_policy_given_positionally_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="positional"):
        harness.RetryPolicy(3, 1.0)  # type: ignore[call-arg]
    assert harness.RetryPolicy(max_attempts=3, base_delay=1.0).max_attempts == 3
