"""Xero's ``where=`` filter: a small parser and evaluator for the documented subset.

Xero filters list endpoints with a .NET-flavoured expression::

    Name=="ACME Ltd"
    Status=="AUTHORISED" AND Type=="ACCREC"
    Contact.ContactID==guid("5cc8cf28-567e-4d43-b287-687cfcaec47c")
    EmailAddress!=null && Name.StartsWith("Ac")
    AmountDue>=100.50 OR Date>=DateTime(2026, 01, 01)

Supported: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``; ``AND``/``&&`` and
``OR``/``||`` (``AND`` binds tighter) and parentheses; dotted fields;
string, number, ``true``/``false``, ``null``, ``guid("…")`` and
``DateTime(y, m, d)`` values; ``.Contains``, ``.StartsWith``,
``.EndsWith`` on strings and ``.ToLower()``/``.ToUpper()`` before them.
String comparison with ``==`` is case-insensitive, as Xero's is.  Anything
else raises :class:`WhereError`, which the fake answers with Xero's 400
``QueryParseException`` (ErrorNumber 16).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["WhereError", "compile_where"]

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|<=|>=|<|>|&&|\|\||\(|\)|,|\.)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_METHODS = ("Contains", "StartsWith", "EndsWith")


class WhereError(ValueError):
    """A ``where`` expression outside the supported subset; the message says where."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise WhereError(f"unexpected character {text[pos:pos + 1]!r} (at index {pos})")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _ms_date(value: Any) -> datetime | None:
    """``/Date(1552262400000+0000)/`` or ``2026-01-01T00:00:00`` -> datetime."""
    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/", value)
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _get(record: Mapping[str, Any], path: list[str]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, Mapping):
            return None
        # Xero's field names are case-insensitive in filters
        key = next((k for k in value if k.lower() == part.lower()), None)
        if key is None:
            return None
        value = value[key]
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise WhereError(f"the expression ends early; expected {value or 'more'}")
        if value is not None and tok[1] != value:
            raise WhereError(f"expected {value!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.peek() is not None:
            raise WhereError(f"unexpected {self.peek()[1]!r} after a complete condition")  # type: ignore[index]
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and (tok[1] == "||" or tok[1].upper() == "OR"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.atom()]
        while (tok := self.peek()) is not None and (tok[1] == "&&" or tok[1].upper() == "AND"):
            self.take()
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def atom(self) -> Predicate:
        tok = self.peek()
        if tok is not None and tok[1] == "(":
            self.take("(")
            inner = self.or_expr()
            self.take(")")
            return inner
        kind, word = self.take()
        if kind != "word":
            raise WhereError(f"expected a field name, found {word!r}")
        path = [word]
        transform: Callable[[Any], Any] = lambda v: v  # noqa: E731
        while (tok := self.peek()) is not None and tok[1] == ".":
            self.take(".")
            kind, name = self.take()
            if kind != "word":
                raise WhereError(f"expected a name after '.', found {name!r}")
            if name in ("ToLower", "ToUpper"):
                self.take("(")
                self.take(")")
                fn = str.lower if name == "ToLower" else str.upper
                transform = _caser(fn)
                continue
            if name in _METHODS:
                self.take("(")
                arg = self.value()
                self.take(")")
                if not isinstance(arg, str):
                    raise WhereError(f"{name}() takes a string, got {arg!r}")
                return self._method(path, transform, name, arg)
            path.append(name)
        kind, op = self.take()
        if op not in ("==", "!=", "<", "<=", ">", ">="):
            raise WhereError(f"expected a comparison after {'.'.join(path)}, found {op!r}")
        value = self.value()
        return self._compare(path, transform, op, value)

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape")
        if kind == "num":
            return float(text)
        if kind == "word":
            low = text.lower()
            if low in ("true", "false"):
                return low == "true"
            if low == "null":
                return None
            if low == "guid":
                self.take("(")
                inner = self.value()
                self.take(")")
                return str(inner).lower()
            if text == "DateTime":
                self.take("(")
                nums = [int(self.value())]
                while self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                    self.take(",")
                    nums.append(int(self.value()))
                self.take(")")
                try:
                    if len(nums) != 3:
                        raise ValueError("expected DateTime(year, month, day)")
                    return datetime(nums[0], nums[1], nums[2], tzinfo=UTC)
                except (TypeError, ValueError) as exc:
                    raise WhereError(f"DateTime{tuple(nums)} is not a date ({exc})") from None
        raise WhereError(f"expected a value, found {text!r}")

    @staticmethod
    def _method(path: list[str], transform: Callable[[Any], Any], name: str, arg: str) -> Predicate:
        def pred(record: Mapping[str, Any]) -> bool:
            value = transform(_get(record, path))
            if not isinstance(value, str):
                return False
            if name == "Contains":
                return arg in value
            if name == "StartsWith":
                return value.startswith(arg)
            return value.endswith(arg)

        return pred

    @staticmethod
    def _compare(path: list[str], transform: Callable[[Any], Any], op: str, want: Any) -> Predicate:
        def pred(record: Mapping[str, Any]) -> bool:
            have = transform(_get(record, path))
            if isinstance(want, datetime):
                have = _ms_date(have)
                if have is None:
                    return op == "!="
            elif isinstance(want, float):
                try:
                    have = float(have)
                except (TypeError, ValueError):
                    return op == "!="
            elif isinstance(want, str) and isinstance(have, str):
                have, cmp_want = have.lower(), want.lower()
                return _apply(op, have, cmp_want)
            elif isinstance(want, bool) or want is None:
                if op not in ("==", "!="):
                    return False
                return bool(have == want) == (op == "==")
            return _apply(op, have, want)

        return pred


def _caser(fn: Callable[[str], str]) -> Callable[[Any], Any]:
    return lambda v: fn(v) if isinstance(v, str) else v


def _apply(op: str, have: Any, want: Any) -> bool:
    if op == "==":
        return bool(have == want)
    if op == "!=":
        return bool(have != want)
    try:
        if op == "<":
            return bool(have < want)
        if op == "<=":
            return bool(have <= want)
        if op == ">":
            return bool(have > want)
        return bool(have >= want)
    except TypeError:
        return False


def compile_where(text: str) -> Predicate:
    """A predicate over a record in the API's shape; :class:`WhereError` when unsupported."""
    if not text.strip():
        return lambda record: True
    return _Parser(text).parse()
