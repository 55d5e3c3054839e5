"""The ``harness`` command: check | replay | demo | report | gate | inbox | ledger | simulate | triggers | serve | worker.

Each subcommand lives in ``harness/_commands/<name>.py`` as a click command and
is registered here.  This module owns the error policy of the whole CLI:

* a :class:`~harness.errors.UsageError` (or a click usage error: unknown
  option, bad value) prints one line, ``harness: error: ...``, and exits 2;
* any other :class:`~harness.errors.HarnessError` prints one line and exits
  with its ``exit_code``;
* the automation breaking the process (``sys.exit``, ``os._exit``, a
  ``BaseException`` of its own, a hang past the wall-clock limit) or the
  environment breaking the run (a full disk) prints one line and exits 3
  (:data:`~harness.errors.EXIT_BROKEN`): never 0, a pass, nor 1, findings;
* an unexpected exception is a bug of the harness: it is shown in full, with a
  request to report it, and exits 3.  It is never swallowed.

While a command runs, ``os._exit`` raises instead of ending the process
(:func:`harness._watchdog.exit_guard`, installed before any automation is
imported, so ``from os import _exit`` in the automation is caught too).
"""

from __future__ import annotations

import errno
import sys
import traceback
from collections.abc import Sequence

import click

from harness._shared.redact import redact_text
from harness._terminal import safe_line
from harness._watchdog import AutomationExited, exit_guard, location_of_traceback
from harness.errors import EXIT_BROKEN, HarnessError

__all__ = ["main"]


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="harness", prog_name="harness")
def cli() -> None:
    """Reliability testing and chaos harness for business automations.

    Start with `harness demo`, then point `harness check` at your own automation.
    """


def _register() -> None:
    from harness._commands import (
        check,
        demo,
        gate,
        inbox,
        ledger,
        report,
        serve,
        simulate,
        systems,
        triggers,
        worker,
    )

    for module in (demo, check, report, gate, inbox, ledger, simulate, systems, triggers, serve, worker):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def _one_line(text: str, *, redact: bool = False) -> str:
    # messages quote what the user, the automation or a server gave: show, never obey,
    # its control characters; what the automation or a server said is redacted too (a
    # usage error quotes only the user's own input, with any ledger password hidden)
    line = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return safe_line(redact_text(line) if redact else line)


def _stdout_closed() -> bool:
    """Whether click has met a closed pipe on stdout (it then wraps stdout to silence flushes)."""
    return "PacifyFlushWrapper" in type(sys.stdout).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return (and, as a console script, exit with) its status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        with exit_guard():
            result = cli.main(args=args, prog_name="harness", standalone_mode=False)
    except BaseException as exc:  # every way out gets one line and its exit status
        code = _exit_status(exc)
    else:
        code = result if isinstance(result, int) else 0
    if argv is None:
        sys.exit(code)
    return code


def _exit_status(exc: BaseException) -> int:
    """Say on stderr, in one line, why the command ended with ``exc``; return its exit status.

    Usage errors are 2, interruptions 130, a harness error its own status;
    an automation that exits or raises a non-``Exception`` breaks the run (3),
    and anything else is a bug of the harness, reported with its traceback.
    """
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return 2
    if isinstance(exc, click.UsageError):
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"harness: error: {_one_line(exc.format_message())}{hint}", err=True)
        return 2
    if isinstance(exc, click.exceptions.Abort):
        click.echo("harness: aborted", err=True)
        return 130
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code
    if isinstance(exc, click.ClickException):
        click.echo(f"harness: error: {_one_line(exc.format_message())}", err=True)
        return exc.exit_code
    if isinstance(exc, HarnessError):
        click.echo(f"harness: error: {_one_line(str(exc), redact=exc.exit_code != 2)}", err=True)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        click.echo("harness: interrupted", err=True)
        return 130
    if isinstance(exc, BrokenPipeError):
        return 0
    if isinstance(exc, SystemExit):
        return _system_exit(exc)
    if isinstance(exc, AutomationExited):
        click.echo(f"harness: error: {_one_line(str(exc), redact=True)}", err=True)
        return EXIT_BROKEN
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS):
        # the environment broke the run; not a bug of the harness, not a finding
        where = f" writing {exc.filename!r}" if exc.filename else ""
        click.echo(f"harness: error: the environment failed{where}: {exc.strerror}", err=True)
        return EXIT_BROKEN
    if isinstance(exc, Exception):
        click.echo(
            "harness: internal error (a bug in the harness, please report it with the "
            "traceback below):\n" + "".join(traceback.format_exception(exc)),
            err=True,
        )
        return EXIT_BROKEN
    # a BaseException of the automation's own, outside a campaign
    where = location_of_traceback(exc.__traceback__)
    click.echo(
        f"harness: error: the automation raised {type(exc).__name__}({_one_line(str(exc), redact=True)[:200]!r}), "
        "a BaseException that is not an Exception" + (f", at {where}" if where else "")
        + "; the run is broken; derive the automation's errors from Exception",
        err=True,
    )
    return EXIT_BROKEN


def _system_exit(exc: SystemExit) -> int:
    if _stdout_closed():
        # click met EPIPE writing our output (`harness inbox list | head -1`) and asked
        # to exit: the reader has what it wanted, so end quietly
        return 0
    # click never raises SystemExit with standalone_mode=False otherwise: this came
    # from user code
    click.echo(
        f"harness: error: the automation or its flow called sys.exit({exc.code!r}) while the "
        "harness was running it; an automation must return or raise, never exit the process",
        err=True,
    )
    return EXIT_BROKEN


if __name__ == "__main__":  # pragma: no cover
    main()
