"""The ``harness`` command: check | replay | demo | report | gate | inbox | ledger | simulate | triggers | serve.

Each subcommand lives in ``harness/_commands/<name>.py`` as a click command and
is registered here.  This module owns the error policy of the whole CLI:

* a :class:`~harness.errors.UsageError` (or a click usage error: unknown
  option, bad value) prints one line, ``harness: error: ...``, and exits 2;
* any other :class:`~harness.errors.HarnessError` prints one line and exits
  with its ``exit_code``;
* an unexpected exception is a bug of the harness: it is shown in full, with a
  request to report it, and exits 3.  It is never swallowed.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import click

from harness.errors import HarnessError

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
    )

    for module in (demo, check, report, gate, inbox, ledger, simulate, systems, triggers, serve):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _stdout_closed() -> bool:
    """Whether click has met a closed pipe on stdout (it then wraps stdout to silence flushes)."""
    return "PacifyFlushWrapper" in type(sys.stdout).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return (and, as a console script, exit with) its status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="harness", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        code = 2
    except click.UsageError as exc:
        hint = ""
        if exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        click.echo(f"harness: error: {_one_line(exc.format_message())}{hint}", err=True)
        code = 2
    except click.exceptions.Abort:
        click.echo("harness: aborted", err=True)
        code = 130
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        click.echo(f"harness: error: {_one_line(exc.format_message())}", err=True)
        code = exc.exit_code
    except HarnessError as exc:
        click.echo(f"harness: error: {_one_line(str(exc))}", err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("harness: interrupted", err=True)
        code = 130
    except BrokenPipeError:
        code = 0
    except SystemExit as exc:
        if _stdout_closed():
            # click met EPIPE writing our output (`harness inbox list | head -1`) and asked
            # to exit: the reader has what it wanted, so end quietly
            code = 0
            if argv is None:
                sys.exit(code)
            return code
        # click never raises SystemExit with standalone_mode=False otherwise: this came
        # from user code
        click.echo(
            f"harness: error: the automation or its flow called sys.exit({exc.code!r}) while the "
            "harness was running it; an automation must return or raise, never exit the process",
            err=True,
        )
        code = 2
    except Exception:
        click.echo(
            "harness: internal error (a bug in the harness, please report it with the "
            "traceback below):\n" + traceback.format_exc(),
            err=True,
        )
        code = 3
    else:
        code = result if isinstance(result, int) else 0
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    main()
