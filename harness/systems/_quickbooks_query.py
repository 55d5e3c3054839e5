"""QuickBooks Online's query language: the documented subset, parsed and evaluated.

``SELECT * | count(*) FROM Entity [WHERE cond [AND cond ...]] [ORDERBY Field [ASC|DESC]]
[STARTPOSITION n] [MAXRESULTS n]``, keywords in any case, where ``cond`` is
``Field op 'value'`` with ``=``, ``<``, ``>``, ``<=``, ``>=``, ``IN ('a', 'b')``
or ``LIKE '%text%'`` (``%`` at either end).  As Intuit documents, there is no
``OR``, no parentheses and no projection of single fields here (``select *``
only); a reference field (``CustomerRef``) compares its ``value``; dotted
fields (``MetaData.LastUpdatedTime``) reach into sub-objects.  A statement
outside that subset raises :class:`QueryError` (the fake's 400 with code 4000).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Condition", "Query", "QueryError", "parse_query"]

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*')
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|=|<|>|\(|\)|,|\*)
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*(?:\(\*\))?)
    )""",
    re.VERBOSE,
)


class QueryError(ValueError):
    """A statement the QuickBooks query language rejects; the message says where."""


@dataclass(frozen=True, slots=True)
class Condition:
    """``field op value`` (``value`` is a tuple for ``IN``)."""

    field: str
    op: str
    value: Any

    def test(self, record: Mapping[str, Any]) -> bool:
        have = _field(record, self.field)
        if have is None:
            return False
        if self.op == "IN":
            return any(_equal(have, v) for v in self.value)
        if self.op == "LIKE":
            pattern = "^" + ".*".join(re.escape(p) for p in str(self.value).split("%")) + "$"
            return re.match(pattern, str(have), re.IGNORECASE | re.DOTALL) is not None
        if self.op == "=":
            return _equal(have, self.value)
        if self.op == "!=":
            return not _equal(have, self.value)
        a, b = _comparable(have, self.value)
        return bool({"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[self.op])


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed statement."""

    entity: str
    count: bool
    where: tuple[Condition, ...]
    order_by: str | None
    descending: bool
    start: int
    max_results: int

    def select(self, records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The records that match, ordered and paged (1-based ``STARTPOSITION``)."""
        found = [r for r in records if all(c.test(r) for c in self.where)]
        if self.order_by:
            found.sort(key=lambda r: _sort_key(_field(r, self.order_by or "")), reverse=self.descending)
        return found[self.start - 1 : self.start - 1 + self.max_results]


def _field(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        key = next((k for k in value if k.lower() == part.lower()), None)
        if key is None:
            return None
        value = value[key]
    if isinstance(value, Mapping):
        # a reference (CustomerRef) or a wrapped value (PrimaryEmailAddr) compares its value
        return value.get("value", value.get("Address"))
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _equal(have: Any, want: Any) -> bool:
    if isinstance(have, bool):
        return str(have).lower() == str(want).lower()
    a, b = _number(have), _number(want)
    if a is not None and b is not None:
        return a == b
    return str(have).lower() == str(want).lower()


def _comparable(have: Any, want: Any) -> tuple[Any, Any]:
    a, b = _number(have), _number(want)
    if a is not None and b is not None:
        return a, b
    return str(have), str(want)


def _sort_key(value: Any) -> tuple[int, Any]:
    number = _number(value)
    if number is not None:
        return (0, number)
    return (1, "" if value is None else str(value).lower())


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip().rstrip(";")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QueryError(f'Encountered "{text[pos:pos + 10]}" at column {pos + 1}')
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse_query(text: str, entities: Mapping[str, str]) -> Query:
    """Parse ``text``; ``entities`` maps lowercase entity names to their spelling (``invoice``)."""
    toks = _tokens(text)
    i = 0

    def peek() -> str | None:
        return toks[i][1] if i < len(toks) else None

    def take(expect: str | None = None) -> tuple[str, str]:
        nonlocal i
        if i >= len(toks):
            raise QueryError(f"the statement ends early{f'; expected {expect}' if expect else ''}")
        tok = toks[i]
        if expect is not None and tok[1].lower() != expect.lower():
            raise QueryError(f'Encountered "{tok[1]}"; was expecting "{expect}"')
        i += 1
        return tok

    take("select")
    what = take()[1]
    count = what.lower() == "count(*)"
    if what != "*" and not count:
        raise QueryError(f'Encountered "{what}"; this fake supports "select *" and "select count(*)"')
    take("from")
    name = take()[1]
    entity = entities.get(name.lower())
    if entity is None:
        raise QueryError(f"Entity {name!r} is not queryable here; known: {', '.join(sorted(entities.values()))}")
    where: list[Condition] = []
    order_by: str | None = None
    descending = False
    start, max_results = 1, DEFAULT_RESULTS
    while peek() is not None:
        word = take()[1].lower()
        if word == "where":
            while True:
                kind, field = take()
                if kind != "word":
                    raise QueryError(f'Encountered "{field}"; was expecting a property name')
                op = take()[1].upper()
                if op == "IN":
                    take("(")
                    values = [_literal(take())]
                    while peek() == ",":
                        take(",")
                        values.append(_literal(take()))
                    take(")")
                    where.append(Condition(field, "IN", tuple(values)))
                elif op in ("=", "<", ">", "<=", ">=", "!=", "LIKE"):
                    where.append(Condition(field, op, _literal(take())))
                else:
                    raise QueryError(f'Encountered "{op}" after {field}; was expecting an operator')
                nxt = peek()
                if nxt is not None and nxt.lower() == "and":
                    take()
                    continue
                if nxt is not None and nxt.lower() == "or":
                    raise QueryError('Encountered "OR": the query language has no OR; use IN')
                break
        elif word == "orderby":
            order_by = take()[1]
            if peek() is not None and peek().lower() in ("asc", "desc"):  # type: ignore[union-attr]
                descending = take()[1].lower() == "desc"
        elif word in ("startposition", "maxresults"):
            kind, raw = take()
            if kind != "num" or int(float(raw)) < 1:
                raise QueryError(f"{word.upper()} must be a positive integer, got {raw!r}")
            if word == "startposition":
                start = int(float(raw))
            else:
                max_results = int(float(raw))
                if max_results > MAX_RESULTS:
                    raise QueryError(f"MAXRESULTS must be at most {MAX_RESULTS}, got {max_results}")
        else:
            raise QueryError(f'Encountered "{word}"; was expecting WHERE, ORDERBY, STARTPOSITION or MAXRESULTS')
    return Query(entity, count, tuple(where), order_by, descending, start, max_results)


def _literal(tok: tuple[str, str]) -> Any:
    kind, text = tok
    if kind == "str":
        return text[1:-1].replace("\\'", "'")
    if kind == "num":
        return text
    if kind == "word" and text.lower() in ("true", "false"):
        return text.lower()
    raise QueryError(f'Encountered "{text}"; was expecting a quoted value')
