"""Errors under one root: the public API's argument errors are usage errors and the builtin they replace."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

import harness
from harness import _oracle_registry, triggers
from harness._triggers import _registry as _trigger_registry
from harness.chaos import FaultKind, _faults, register_fault
from harness.errors import (
    EXIT_USAGE,
    FlowDeclarationError,
    HarnessError,
    InvalidTypeError,
    InvalidValueError,
    NameTakenError,
    NotFoundError,
    UsageError,
)
from harness.orchestrator import Orchestrator
from harness.systems import RecordStore, Resource, World, _known


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (InvalidValueError, ValueError),
        (InvalidTypeError, TypeError),
        (NotFoundError, KeyError),
        (NameTakenError, ValueError),
    ],
)
def test_each_argument_error_is_a_usage_error_and_its_builtin(cls: type[HarnessError], builtin: type[Exception]) -> None:
    err = cls("what was wrong")
    assert isinstance(err, UsageError) and isinstance(err, HarnessError) and isinstance(err, builtin)
    assert err.exit_code == EXIT_USAGE
    assert str(err) == "what was wrong"  # a KeyError subclass too: no quotes around the message


def test_name_taken_is_still_a_declaration_error() -> None:
    assert issubclass(NameTakenError, FlowDeclarationError)


def test_the_errors_module_docstring_names_only_what_exists() -> None:
    import harness.errors

    for name in ("ConfigError", "InvalidValueError", "InvalidTypeError", "NotFoundError", "NameTakenError"):
        assert f":class:`{name}`" in (harness.errors.__doc__ or "")
        assert hasattr(harness.errors, name)
    assert ":func:`usage`" not in (harness.errors.__doc__ or "")


def test_world_system_of_an_unknown_name_is_not_found_and_a_key_error() -> None:
    world = harness.standard_world(seed=1)
    with pytest.raises(NotFoundError, match=r"no system 'nope'; this world has \[") as caught:
        world.system("nope")
    assert isinstance(caught.value, KeyError)
    with pytest.raises(KeyError):  # code written before the root keeps working
        World().system("stripe")


def test_record_store_and_orchestrator_type_errors_are_harness_errors() -> None:
    with pytest.raises(InvalidTypeError, match="'descriptor' must be a SystemDescriptor"):
        RecordStore("books", [Resource("invoice", "/invoices")], descriptor="books")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="declare at least one Resource"):
        RecordStore("books", [])
    with pytest.raises(InvalidTypeError, match=r"'flow' must be a harness\.Flow"):
        Orchestrator("not a flow")  # type: ignore[arg-type]


def test_a_contract_field_lookup_names_the_fields() -> None:
    contract = harness.Contract((harness.Field("email", "email"), harness.Field("amount", "money")))
    with pytest.raises(NotFoundError, match=r"no field 'emial' \(did you mean 'email'\?\); its fields are \['email', 'amount'\]"):
        contract.field("emial")


def test_a_transport_fault_without_inject_is_an_invalid_value() -> None:
    with pytest.raises(InvalidValueError, match="transport fault 'no_inject' needs an 'inject' function"):
        register_fault(FaultKind("no_inject", "transport", "no injector"))
    with pytest.raises(InvalidTypeError, match=r"expected a harness\.FaultKind"):
        register_fault("stall")  # type: ignore[arg-type]


# -- registering the same definition twice --------------------------------------------------

FLOW_FILE = '''
"""A flow file that registers one of each: imported by name, then again by path."""

from harness import Flow, register_oracle, register_trigger, webhook_trigger
from harness.chaos import FaultKind, register_fault
from harness.systems import SystemDescriptor, register_system


def stall(request, ctx, call_next, params, injector):
    return call_next(request)


def no_refunds(run):
    return []


FAULT = register_fault(FaultKind("{fault}", "transport", "passes the call on", inject=stall,
                                 params={{"times": (1, 2)}}))
TRIGGER = register_trigger(webhook_trigger("{trigger}", example={{"id": "evt_1", "order": {{"id": 7}}}},
                                           object_key="order.id"))
ORACLE = register_oracle("{oracle}", no_refunds, description="no refund is ever made")
SYSTEM = register_system(SystemDescriptor(name="{system}", hosts=("{system}.example.internal",)))


def handle(event):
    return None


flow = Flow(name="{fault}_flow", automation=handle, trigger=TRIGGER)
'''

NAMES = {"fault": "twice_stall", "trigger": "twice.order.paid", "oracle": "twice_no_refunds", "system": "twicebooks"}


@pytest.fixture
def own_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registries of this test's own: what it registers must not outlive it."""
    monkeypatch.setattr(_faults, "_REGISTRY", dict(_faults._REGISTRY))
    monkeypatch.setattr(_trigger_registry, "_REGISTRY", dict(_trigger_registry._REGISTRY))
    monkeypatch.setattr(_oracle_registry, "_REGISTRY", dict(_oracle_registry._REGISTRY))
    monkeypatch.setattr(_known, "_REGISTERED", dict(_known._REGISTERED))


def _write(folder: Path, module: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module}.py"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.usefixtures("own_registries")
def test_a_flow_file_imported_by_name_and_again_by_load_flow_registers_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "twice_flow", FLOW_FILE.format(**NAMES))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "twice_flow", raising=False)
    module = importlib.import_module("twice_flow")
    try:
        flow = harness.load_flow(str(path))  # a second execution of the same file
    finally:
        sys.modules.pop("twice_flow", None)
    assert flow.name == "twice_stall_flow"
    # the first registration stays: the second execution got it back
    assert _faults.get_fault("twice_stall") is module.FAULT
    assert triggers.get_trigger("twice.order.paid") is module.TRIGGER
    assert _known.known_descriptor("twicebooks") is module.SYSTEM
    assert [o for o in _oracle_registry.registered_oracles() if o.name == "twice_no_refunds"] == [module.ORACLE]


@pytest.mark.usefixtures("own_registries")
@pytest.mark.parametrize(
    ("kind", "edit", "message"),
    [
        ("fault", ("return call_next(request)", "return call_next(request) or None"),
         "register_fault: a different fault named 'twice_stall' is already registered"),
        ("fault", ("(1, 2)", "(1, 3)"),
         "register_fault: a different fault named 'twice_stall' is already registered"),
        ("trigger", ('object_key="order.id"', 'object_key="id"'),
         "a different trigger named 'twice.order.paid' is already registered"),
        ("oracle", ("return []", "return [run]"),
         "register_oracle: an oracle named 'twice_no_refunds' is already registered"),
        ("system", ('.example.internal",)', '.example.internal", "other.example.internal")'),
         "register_system: a different system named 'twicebooks' is already registered"),
    ],
)
def test_a_different_definition_under_a_taken_name_fails_clearly(
    kind: str, edit: tuple[str, str], message: str, tmp_path: Path
) -> None:
    first = _write(tmp_path / "a", "flow_a", FLOW_FILE.format(**NAMES))
    harness.load_flow(str(first))
    text = FLOW_FILE.format(**NAMES).replace(*edit)
    assert text != FLOW_FILE.format(**NAMES)
    # only the edited registration may collide: the others get names of their own
    for other, name in NAMES.items():
        if other != kind:
            text = text.replace(f'"{name}"', f'"{name}_b"')
    second = _write(tmp_path / "b", "flow_b", text)
    with pytest.raises(UsageError, match=r"importing .* raised NameTakenError") as caught:
        harness.load_flow(str(second))
    assert message in str(caught.value)


@pytest.mark.usefixtures("own_registries")
def test_name_taken_is_raised_directly_outside_load_flow() -> None:
    register_fault(FaultKind("taken_once", "trigger", "first"))
    assert register_fault(FaultKind("taken_once", "trigger", "first")) is _faults.get_fault("taken_once")
    with pytest.raises(NameTakenError, match=r"a different fault named 'taken_once' .*choose another name") as caught:
        register_fault(FaultKind("taken_once", "trigger", "second"))
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, FlowDeclarationError)


def test_world_system_with_a_kind_is_typed_and_checked() -> None:
    world = harness.standard_world(seed=1)
    stripe = world.system("stripe", harness.Stripe)
    assert stripe is world.system("stripe") and isinstance(stripe, harness.Stripe)
    with pytest.raises(InvalidTypeError, match=r"world\.system\('stripe'\): the system is a Stripe, not a HubSpot"):
        world.system("stripe", harness.HubSpot)
