"""Output files of the CLI: checked before any work starts, written whole or not at all.

Every command that writes a file names it by the option the user typed
(``--json``, ``--report``, ``--out``), so an error says which one is wrong.
:func:`check_outputs` runs before a scenario runs or a ledger is opened: a
missing directory, a directory where a file is expected, an unwritable place
or two options naming the same file is a usage error (exit 2) that changes
nothing.  :func:`write_text` writes beside the target and renames when whole;
a full disk or any other failure removes the partial file and raises
:class:`~harness.errors.RunBrokenError` (exit 3): the run happened, its file
could not be written, and that is neither a pass nor a finding.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import RunBrokenError, UsageError

__all__ = ["check_outputs", "partial_file", "write_text"]


def check_outputs(*, makes_dirs: tuple[str, ...] = (), **options: str | Path | None) -> None:
    """Check output paths, given as ``option_name=path`` (``json="out.json"`` is ``--json``).

    Options listed in ``makes_dirs`` create their missing directories (a report
    does), so for them the nearest existing directory must be writable.
    Raises :class:`~harness.errors.UsageError` naming the option, the path and the fix.
    """
    seen: dict[Path, str] = {}
    for name, value in options.items():
        if value is None or str(value) == "":
            continue
        option = "--" + name.replace("_", "-")
        path = Path(value)
        if path.is_dir():
            raise UsageError(
                f"{option} {str(path)!r} is a directory; give a file path inside it, "
                f"e.g. {str(path / ('out' + (path.suffix or '.json')))!r}"
            )
        parent = path.parent
        if not parent.exists() and name in makes_dirs:
            while not parent.exists() and parent != parent.parent:
                parent = parent.parent
        if not parent.exists():
            raise UsageError(
                f"{option} {str(path)!r}: the directory {str(parent)!r} does not exist; create it "
                "first (mkdir -p) or write elsewhere"
            )
        if not parent.is_dir():
            raise UsageError(f"{option} {str(path)!r}: {str(parent)!r} is not a directory")
        if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise UsageError(f"{option} {str(path)!r}: not writable (check its permissions)")
        key = path.resolve()
        if key in seen:
            raise UsageError(
                f"{seen[key]} and {option} both name {str(path)!r}: the second would overwrite "
                "the first; give each its own file"
            )
        seen[key] = option


@contextmanager
def partial_file(path: Path, *, option: str) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it when the block succeeds, else removed."""
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        # mkstemp makes the file private; the result gets the mode any new file would
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        os.close(fd)
    except OSError as exc:
        raise RunBrokenError(
            f"cannot write {option} {str(path)!r}: {exc.strerror or exc} (free space or fix "
            "permissions, then rerun)"
        ) from None
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunBrokenError(
            f"cannot write {option} {str(path)!r}: {exc.strerror or exc}; nothing was written "
            "there (free space or fix permissions, then rerun)"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str, *, option: str) -> None:
    """Write ``text`` to ``path`` whole (temporary file, then rename), or raise RunBrokenError."""
    with partial_file(Path(path), option=option) as tmp:
        tmp.write_text(text, encoding="utf-8")
