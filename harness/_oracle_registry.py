"""The oracle registry: every finding class by name, the built-in ones and those a flow adds.

Kept apart from :mod:`harness.oracles` (which imports the chaos room) so that
the gate and the reports can read the names without importing the engines.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from harness._shared.samedef import same_definition
from harness.errors import NameTakenError, UsageError

__all__ = ["BUILTIN_ORACLES", "SILENT_CLASSES", "Oracle", "oracle_names", "register_oracle", "registered_oracles"]

#: the built-in oracle classes, in the order findings are reported
BUILTIN_ORACLES: tuple[str, ...] = (
    "duplicate_effect",
    "silent_loss",
    "bad_value",
    "partial_effect",
    "unbounded_wait",
    "logical_retry",
    "transient_unrecovered",
    "effect",
)

#: classes whose harm nobody sees when it happens: they fail a gate by default
SILENT_CLASSES: tuple[str, ...] = ("duplicate_effect", "silent_loss", "bad_value")


@dataclass(frozen=True, kw_only=True)
class Oracle:
    """One registered oracle.

    ``check(run)`` receives a finished :class:`~harness.chaos.ScenarioRun` and
    returns its violations: :class:`~harness.oracles.Hit` s, ``(object_key,
    message)`` pairs, or messages.  ``None`` for the built-in ones (judged by
    :func:`harness.oracles.judge` itself).
    """

    name: str
    check: Callable[[Any], Iterable[Any]] | None
    description: str = ""


_REGISTRY: dict[str, Oracle] = {name: Oracle(name=name, check=None) for name in BUILTIN_ORACLES}
_LOCK = threading.Lock()


def register_oracle(
    name: str, check: Callable[[Any], Iterable[Any]], *, description: str = ""
) -> Oracle:
    """Add an oracle judged on every scenario after the built-in ones.

    Registering the same check under the same name again is harmless (also a
    check defined by the same source, as when a flow file is imported by name
    and again by path through :func:`~harness.load_flow`); another check under
    a taken name (a built-in's included) is a :class:`~harness.errors.NameTakenError`.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
        raise UsageError(
            f"register_oracle: the name must be lowercase letters, digits and '_' (a finding "
            f"class such as 'unpaid_invoice'), got {name!r}"
        )
    if not callable(check):
        raise UsageError(f"register_oracle {name!r}: 'check' must be a callable check(run), got {check!r}")
    oracle = Oracle(name=name, check=check, description=description)
    with _LOCK:
        taken = _REGISTRY.get(name)
        if taken is not None:
            if taken.check is not None and same_definition(taken.check, check):
                return taken
            raise NameTakenError(
                f"register_oracle: an oracle named {name!r} is already registered"
                f"{' (a built-in one)' if taken.check is None else ''}; choose another name"
            )
        _REGISTRY[name] = oracle
    return oracle


def registered_oracles() -> tuple[Oracle, ...]:
    """Every oracle, built-in ones first, then in registration order."""
    with _LOCK:
        return tuple(_REGISTRY.values())


def oracle_names() -> tuple[str, ...]:
    """Every finding class: the gate's ``max_findings`` keys and the reports' columns."""
    return tuple(o.name for o in registered_oracles())
