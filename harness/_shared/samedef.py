"""Whether two registrations are the same definition (registries' idempotence).

A flow file that registers a fault, a trigger, an oracle or a system at import
is often executed twice: once imported by its module name (by the user's
tests, say) and once by path through :func:`harness.load_flow`.  The second
execution makes new function objects and new dataclass instances, equal in
everything but identity.  Registries call :func:`same_definition` so that such
a repeat is harmless while a different definition under a taken name still
fails.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from typing import Any

__all__ = ["same_definition"]

# Deep enough for descriptors of descriptors; a cycle deeper than this is not a definition.
_MAX_DEPTH = 12


def same_definition(a: object, b: object) -> bool:
    """``a`` and ``b`` are equal, counting functions defined by the same source as equal.

    Two functions are the same definition when they have the same qualified
    name, equal code objects (CPython compares the bytecode, constants, names
    and line numbers, not the file name), equal defaults and equal closure
    contents.  Dataclass instances, mappings, sequences and sets are compared
    element by element with the same rule; anything else with ``==``.
    """
    return _same(a, b, 0, set())


def _same(a: Any, b: Any, depth: int, pending: set[tuple[int, int]]) -> bool:
    """``pending`` holds the pairs of functions being compared further up the stack."""
    if a is b:
        return True
    if depth > _MAX_DEPTH:
        return False
    if isinstance(a, types.FunctionType) and isinstance(b, types.FunctionType):
        pair = (id(a), id(b))
        if pair in pending:
            # a recursive closure (a cell holding the function itself): the same
            # definition if everything else is, which the caller is checking
            return True
        return _same_function(a, b, depth, pending | {pair})
    if isinstance(a, types.MethodType) and isinstance(b, types.MethodType):
        return _same(a.__func__, b.__func__, depth + 1, pending) and _same(
            a.__self__, b.__self__, depth + 1, pending
        )
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        if type(a).__qualname__ != type(b).__qualname__ or not dataclasses.is_dataclass(b):
            return False
        return all(
            _same(getattr(a, f.name), getattr(b, f.name), depth + 1, pending)
            for f in dataclasses.fields(a)
            if f.compare
        )
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k], depth + 1, pending) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_same(x, y, depth + 1, pending) for x, y in zip(a, b, strict=True))
        )
    try:
        return bool(a == b)
    except Exception:  # an __eq__ that raises is not the same definition
        return False


def _same_function(
    a: types.FunctionType, b: types.FunctionType, depth: int, pending: set[tuple[int, int]]
) -> bool:
    if a.__qualname__ != b.__qualname__ or a.__code__ != b.__code__:
        return False
    if not _same(a.__defaults__, b.__defaults__, depth + 1, pending):
        return False
    if not _same(a.__kwdefaults__, b.__kwdefaults__, depth + 1, pending):
        return False
    return _same(_cells(a), _cells(b), depth + 1, pending)


_EMPTY = object()


def _cells(fn: types.FunctionType) -> tuple[object, ...]:
    out: list[object] = []
    for cell in fn.__closure__ or ():
        try:
            out.append(cell.cell_contents)
        except ValueError:  # a cell not yet filled (a name assigned after the def)
            out.append(_EMPTY)
    return tuple(out)
