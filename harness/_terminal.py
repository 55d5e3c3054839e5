"""Text for a terminal: control characters neutralised, so nothing from outside can drive it.

An exception message, an event value or an inbox note comes from the
automation, a vendor or a person, and may hold terminal escape sequences
(``\\x1b]0;title\\x07``, ``\\x1b[2J``), a carriage return that overwrites the
line before it, or a backspace.  Everything the CLI prints that it did not
write itself passes :func:`safe`: each control character (C0, DEL, C1, and the
bidirectional overrides that reorder what is shown) becomes its visible
escape (``\\x1b``, ``\\u202e``); newlines and tabs are kept only where a
multi-line text is expected.
"""

from __future__ import annotations

import re

__all__ = ["safe", "safe_line"]

# C0 (but \t and \n, decided per call), DEL, C1, and the bidi controls
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_NO_NEWLINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = m.group(0)
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def safe(text: str) -> str:
    """``text`` with every control character but newline and tab shown as its escape."""
    return _CONTROL.sub(_escape, text)


def safe_line(text: str) -> str:
    """``text`` as one line: control characters, newlines and tabs included, shown as escapes."""
    return _CONTROL_NO_NEWLINE.sub(_escape, text)
