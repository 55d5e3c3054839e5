"""Every error the harness raises on purpose.

One root, :class:`HarnessError`. A subclass says which side is at fault:
:class:`UsageError` (the user's input: a file, an argument, a declaration) makes
the CLI exit with status 2 and one line of text; the others are failures of a
system the harness talks to (the ledger's database), of the automation under
test or of the environment (:class:`RunBrokenError`), exit status 3.

The CLI's exit statuses never lie: ``EXIT_OK`` (0) only when the work completed
with no findings, ``EXIT_FINDINGS`` (1) only for findings, ``EXIT_USAGE`` (2)
for usage and configuration errors, ``EXIT_BROKEN`` (3) for a run the
automation or the environment broke (it exited the process, hung, the disk
filled, the ledger became unreadable) and for a bug of the harness itself.

Messages follow one pattern: where (file, field, value), what was wrong, what
was expected, how to fix it.  When a location is known, raise
:class:`ConfigError` with ``path=``, ``key=`` and ``value=``: it puts the
location first so that every message reads the same way.

The public API's argument checks raise :class:`InvalidValueError`,
:class:`InvalidTypeError` and :class:`NotFoundError`: usage errors that are
also the builtin they replace (``ValueError``, ``TypeError``, ``KeyError``), so
``except HarnessError`` catches every one and ``except ValueError`` written
before they existed keeps working.  :class:`NameTakenError` is a registry's
answer to a different definition under a name already taken.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "EXIT_BROKEN",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_USAGE",
    "BaselineFailure",
    "ConfigError",
    "FlowDeclarationError",
    "HarnessError",
    "InvalidTypeError",
    "InvalidValueError",
    "LedgerError",
    "NameTakenError",
    "NotFoundError",
    "RunBrokenError",
    "UsageError",
    "did_you_mean",
]


EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_BROKEN = 3


class HarnessError(Exception):
    """Root of every error the harness raises on purpose (exit status 3 unless a subclass says)."""

    exit_code = EXIT_BROKEN


class RunBrokenError(HarnessError):
    """The automation or the environment broke the run: it cannot end in a verdict.

    The automation exited the process, raised a ``BaseException`` of its own,
    hung past the wall-clock limit; the disk filled; a file could not be
    written.  The CLI prints one line and exits with status 3: never 0 (a CI
    pass) and never 1 (which means findings).
    """

    exit_code = EXIT_BROKEN


class UsageError(HarnessError):
    """The user's input is wrong: an argument, a file, a declaration.

    The CLI prints the message on one line and exits with status 2; nothing is
    written before the input has been validated.
    """

    exit_code = EXIT_USAGE


class InvalidValueError(UsageError, ValueError):
    """An argument of the public API has a value it cannot take (also a ``ValueError``).

    The message names the function or field, the bad value and what was expected.
    """


class InvalidTypeError(UsageError, TypeError):
    """An argument of the public API has the wrong type (also a ``TypeError``)."""


class NotFoundError(UsageError, KeyError):
    """A lookup by name or id found nothing (also a ``KeyError``).

    The message names what was looked up and, where the list is short, what
    exists.  Unlike a plain ``KeyError`` it prints as written, without quotes.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


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


class NameTakenError(FlowDeclarationError, ValueError):
    """A registry already holds a different definition under this name.

    Registering the same definition again is harmless (a module imported twice,
    once by its name and once by path through :func:`~harness.load_flow`); a
    different one under a taken name raises this, naming the registry and the
    name, and asks for another name.  It is a declaration error and a
    ``ValueError``: what each registry raised before.
    """


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
    unreachable or too new; otherwise (a write failed, a page is corrupt) the
    run is broken: exit 3, never 1, which means findings.  See :attr:`exit_code`.
    """

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.exit_code = EXIT_USAGE if usage else EXIT_BROKEN


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
