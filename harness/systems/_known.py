"""The descriptors of every fake loaded in this process: what engines ask without a world.

The orchestrator in production has no :class:`~harness.systems.World`: it maps
a call's host to a system, and asks that system's descriptor about
idempotency and guards, through :func:`known_descriptors`.  Every
:class:`~harness.systems.FakeSystem` subclass that declares a ``descriptor``
is known as soon as its module is imported (the bundled fakes are imported
with :mod:`harness.systems`); :func:`register_system` adds a descriptor that
has no fake class (a system only the production path meets).
"""

from __future__ import annotations

import re
import threading

from harness._shared.samedef import same_definition
from harness.errors import InvalidTypeError, NameTakenError
from harness.systems._base import FakeSystem
from harness.systems._descriptor import SystemDescriptor

__all__ = ["known_descriptor", "known_descriptors", "register_system", "system_of_host"]

_REGISTERED: dict[str, SystemDescriptor] = {}
_LOCK = threading.Lock()


def register_system(descriptor: SystemDescriptor) -> SystemDescriptor:
    """Make ``descriptor`` known without a fake class and return the registered one.

    The same definition again (a flow file imported twice) is harmless; a
    different descriptor under a name already taken is a
    :class:`~harness.errors.NameTakenError`.
    """
    if not isinstance(descriptor, SystemDescriptor):
        raise InvalidTypeError(f"register_system: expected a SystemDescriptor, got {descriptor!r}")
    with _LOCK:
        taken = _REGISTERED.get(descriptor.name)
        if taken is not None and same_definition(taken, descriptor):
            return taken
        if taken is not None:
            raise NameTakenError(
                f"register_system: a different system named {descriptor.name!r} is already "
                "registered; give this one another name"
            )
        _REGISTERED[descriptor.name] = descriptor
    return descriptor


def _subclasses(cls: type[FakeSystem]) -> list[type[FakeSystem]]:
    out: list[type[FakeSystem]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


def known_descriptors() -> list[SystemDescriptor]:
    """Every known descriptor: registered ones first, then those of the loaded fake classes."""
    seen: dict[str, SystemDescriptor] = {}
    with _LOCK:
        seen.update(_REGISTERED)
    for cls in _subclasses(FakeSystem):
        descriptor = cls.__dict__.get("descriptor")
        if isinstance(descriptor, SystemDescriptor) and descriptor.name not in seen:
            seen[descriptor.name] = descriptor
    return list(seen.values())


def known_descriptor(name: str) -> SystemDescriptor:
    """The known descriptor called ``name``, else a generic one named after it."""
    for descriptor in known_descriptors():
        if descriptor.name == name:
            return descriptor
    safe = re.sub(r"[^a-z0-9_]", "_", name.lower()) or "system"
    if not safe[0].isalpha():
        safe = "s_" + safe
    return SystemDescriptor(name=safe)


def system_of_host(host: str, descriptors: list[SystemDescriptor] | None = None) -> str | None:
    """The name of the system whose descriptor serves ``host`` (``None``: none does)."""
    for descriptor in descriptors if descriptors is not None else known_descriptors():
        if descriptor.serves(host):
            return descriptor.name
    return None
