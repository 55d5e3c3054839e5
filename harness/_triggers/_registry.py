"""The trigger registry: every :class:`~harness.flow.Trigger` by name.

Kept below :mod:`harness.triggers` (the public face) so that the modules
declaring built-in triggers register into it without importing the module
that imports them.
"""

from __future__ import annotations

from harness._shared.samedef import same_definition
from harness.errors import FlowDeclarationError, NameTakenError, UsageError, did_you_mean
from harness.flow import Trigger

__all__ = ["all_triggers", "get_trigger", "register_trigger", "trigger_names"]

_REGISTRY: dict[str, Trigger] = {}


def register_trigger(trigger: Trigger) -> Trigger:
    """Add ``trigger`` to the registry and return it.

    Registering the same trigger again (an equal declaration, as when a module
    is imported twice, once by name and once by path through
    :func:`~harness.load_flow`) is harmless and returns the trigger already
    registered; a different trigger under a taken name is a
    :class:`~harness.errors.NameTakenError`.
    """
    if not isinstance(trigger, Trigger):
        raise FlowDeclarationError(f"register_trigger: expected a harness.Trigger, got {trigger!r}")
    taken = _REGISTRY.get(trigger.name)
    if taken is not None:
        if same_definition(taken, trigger):
            return taken
        raise NameTakenError(
            f"a different trigger named {trigger.name!r} is already registered (system "
            f"{taken.system!r}); choose another name"
        )
    _REGISTRY[trigger.name] = trigger
    return trigger


def trigger_names() -> list[str]:
    """The registered triggers' names, sorted."""
    return sorted(_REGISTRY)


def all_triggers() -> list[Trigger]:
    """Every registered trigger, sorted by name."""
    return [_REGISTRY[name] for name in trigger_names()]


def get_trigger(name: str) -> Trigger:
    """The trigger called ``name``; :class:`UsageError` listing the names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(
            f"unknown trigger {name!r}{did_you_mean(name, _REGISTRY)}; known triggers: "
            f"{', '.join(trigger_names())}"
        ) from None
