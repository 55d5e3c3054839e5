"""Every error the harness raises on purpose.

One root, :class:`HarnessError`. A subclass says which side is at fault:
:class:`UsageError` (the user's input: a file, an argument, a declaration) makes
the CLI exit with status 2 and one line of text; the others are failures of a
system the harness talks to (the ledger's database) or of the harness itself.

Messages follow one pattern: where (file, field, value), what was wrong, what
was expected, how to fix it.  Build them with :func:`usage` when a location is
known so that every message reads the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "BaselineFailure",
    "ConfigError",
    "FlowDeclarationError",
    "HarnessError",
    "LedgerError",
    "UsageError",
    "did_you_mean",
]


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""

    exit_code = 1


class UsageError(HarnessError):
    """The user's input is wrong: an argument, a file, a declaration.

    The CLI prints the message on one line and exits with status 2; nothing is
    written before the input has been validated.
    """

    exit_code = 2


class ConfigError(UsageError):
    """A file the user wrote (scenario, pilot, gate, contract) is invalid.

    ``path`` names the file, ``key`` the offending field (dotted), ``value``
    the bad value; the message already contains all three.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        key: str | None = None,
        value: object = None,
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}: "
        if key is not None:
            where += f"{key}: "
        super().__init__(f"{where}{message}")
        self.path = path
        self.key = key
        self.value = value


class FlowDeclarationError(UsageError):
    """A :class:`~harness.Flow` was declared wrongly (raised at declaration)."""


class BaselineFailure(UsageError):
    """The automation fails without any fault, or calls a host no fake serves.

    A campaign measured against a failing reference run would find nothing
    (or blame the faults); ``harness check`` exits 2 naming the failing calls
    or the unfaked hosts, how many runs failed, and how to declare the
    missing fake.
    """


class LedgerError(HarnessError):
    """The ledger cannot be opened, read or written.

    The message names the ledger URL with any password hidden.  Raised as a
    usage error (exit 2) when the URL itself is wrong or the database is
    unreachable or too new; see :attr:`exit_code`.
    """

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.exit_code = 2 if usage else 1


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
