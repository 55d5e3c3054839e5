"""Options shared by several commands, so one option name has one meaning everywhere.

``--flow FILE`` is always a flow file (``check``, ``replay``, ``inbox retry``,
``report``, ``inbox list``, ``simulate``); ``--flow-name NAME`` is always a flow's
name as the ledger records it.  A name given to ``--flow`` is answered with an
error that says which option to use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from harness.errors import UsageError

__all__ = ["flow_name_options", "resolve_flow_name"]

F = TypeVar("F", bound=Callable[..., Any])


def flow_name_options(help_name: str, *, default: str | None = None) -> Callable[[F], F]:
    """``--flow FILE`` and ``--flow-name NAME`` on a command that selects a flow by name."""

    def decorate(fn: F) -> F:
        fn = click.option(
            "--flow-name", "flow_name", metavar="NAME", default=default,
            show_default=default is not None, help=help_name,
        )(fn)
        return click.option(
            "--flow", "flow_file", metavar="FILE", default=None,
            help="The same, naming the flow by its file (the Flow declared in FILE).",
        )(fn)

    return decorate


def resolve_flow_name(flow_file: str | None, flow_name: str | None, *, default: str | None = None) -> str | None:
    """The flow name a command works on, from ``--flow FILE`` or ``--flow-name NAME``.

    ``--flow`` given a flow's name rather than a file is a usage error naming
    ``--flow-name``; both options at once must agree.
    """
    if flow_file is None:
        return flow_name
    path = Path(flow_file)
    if not path.suffix == ".py" and not path.exists():
        raise UsageError(
            f"--flow {flow_file!r}: --flow takes a flow file (path/to/flow.py); to pick a flow "
            f"by its name use --flow-name {flow_file}"
        )
    from harness.flow import load_flow

    name = str(load_flow(flow_file).name)
    if flow_name is not None and flow_name != default and flow_name != name:
        raise UsageError(
            f"--flow {flow_file!r} declares flow {name!r} but --flow-name says {flow_name!r}; "
            "give one of them"
        )
    return name
