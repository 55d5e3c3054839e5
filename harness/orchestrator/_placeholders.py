"""The orchestrator's default data contract: no stand-in for a value the run read as missing.

With no flow file nothing says which values are valid, yet one defect needs no
declaration to be recognised: the automation read a record whose field was
empty (``null``, ``""``) or absent although it asked for it by name, and then
wrote a stand-in for it downstream (``amount = 0`` on an invoice line, the text
``"None"`` as a name).  That is a bad value a system will accept silently, the
worst kind.  The orchestrator holds such a write before it is sent (a logical
:class:`~harness.orchestrator.ContractViolation`: the run goes to the inbox with
the write named), unless the flow declares a write contract for that endpoint
(the flow's contract then decides) or ``Policy.hold_placeholders`` is off.

What counts, and why it stays narrow (a held run costs a person's time):

- a *missing* value is a leaf of a successful read's JSON body that is
  ``null`` or ``""``, or a field the read asked for by name (``properties=``,
  ``fields=`` or ``select=`` in its query) that the answer does not carry;
- a *stand-in* is a number equal to zero (``0``, ``"0"``, ``"0.00"``), the
  text of a missing value (``"None"``, ``"null"``, ``"undefined"``, ``"nan"``),
  or a text with such a word in it as a runtime prints it (``"Ada None"``);
  an empty text is one when a value of the same name was missing (``email or
  ""``, or an empty email copied as it is: a customer without an email is the
  bad value either way); a field the flow means to be optional is declared so
  with a write contract for that write;
- the write's field and the missing field have the same name, or one is the
  other with a prefix (``unit_amount`` for ``amount``), compared without case;
  a value with the text of nothing (``"None"``) needs no name match, since a
  renamed field (``dealname`` written as ``description``) is common, and
  neither does an empty text when the missing field was the run's subject's
  (the record its event is about, read by its id).

A second default rule holds a zero in a field that bills money
(:func:`zero_money_violations`, the fields each system's descriptor names as
``money_fields``): a zero bill is a lost amount far more often than a price,
and it is accepted silently.  A flow that bills zero on purpose declares a
write contract for that endpoint, or turns ``Policy.hold_placeholders`` off.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.flow import Violation

#: query parameters through which a read names the fields it wants
_NAMING_PARAMS = frozenset({"properties", "fields", "select", "$select"})
#: texts that say "there was no value here"
_MISSING_TEXTS = frozenset({"none", "null", "undefined", "nan"})
_ZERO = re.compile(r"^[+-]?0+(?:\.0*)?$")
#: how deep a read's body is walked (records inside envelopes inside lists)
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class MissingField:
    """A field a read of this run found empty or without the value it asked for."""

    name: str
    #: ``"null"``, ``"empty"`` or ``"absent"``
    how: str
    #: the read that showed it (``"GET /crm/v3/objects/deals/1"``)
    where: str
    #: whether that read was of the run's subject (the object its event is about)
    subject: bool = False


def missing_in_read(method: str, url: str, body: bytes, subject_id: str | None = None) -> list[MissingField]:
    """The missing values a successful read's answer shows (see the module docstring).

    A read whose path has ``subject_id`` as one of its segments is a read of the
    run's subject: its missing fields also make an empty text a stand-in under
    another name (:func:`stand_in_violations`).
    """
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        return []
    parts = urlsplit(url)
    where = f"{method.upper()} {parts.path}"
    # an object key is "noun:id" ("deal:123") or the id itself
    ids = {subject_id, subject_id.rsplit(":", 1)[-1]} if subject_id else set()
    subject = bool(ids & set(parts.path.split("/")))
    found: dict[str, MissingField] = {}
    present: set[str] = set()
    for name, value in _leaves(data, 0):
        key = name.lower()
        if value is None or value == "":
            found.setdefault(key, MissingField(key, "null" if value is None else "empty", where, subject))
        else:
            present.add(key)
    asked = {
        n.strip().lower()
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() in _NAMING_PARAMS
        for n in v.split(",")
        if n.strip()
    }
    for name in sorted(asked - present - set(found)):
        found[name] = MissingField(name, "absent", where, subject)
    # a name with a value elsewhere in the same answer is not missing (another record's field)
    return [m for k, m in found.items() if k not in present]


def stand_in_violations(body: Mapping[str, Any], missing: Iterable[MissingField]) -> tuple[Violation, ...]:
    """The fields of a write's ``body`` that carry a stand-in for a ``missing`` value."""
    by_name = {m.name: m for m in missing}
    if not by_name:
        return ()
    out: list[Violation] = []
    for dotted, value in _flat(body, "", 0):
        empty = value == ""
        if not (empty or _is_stand_in(value) or _is_missing_text(value)):
            continue
        leaf = dotted.rsplit(".", 1)[-1].lower()
        source = by_name.get(leaf) or next(
            (m for n, m in by_name.items() if leaf.endswith("_" + n) or n.endswith("_" + leaf)), None
        )
        if source is None and _is_missing_text(value):
            # the text of nothing ("None"): whatever its name, it stands in for one of the
            # missing values (a renamed field: dealname -> description)
            source = next(iter(by_name.values()))
        if source is None and empty:
            # an empty text under another name stands in for a missing field of the run's
            # own subject only: other records' empty fields say nothing about this write
            source = next((m for m in by_name.values() if m.subject), None)
        if source is None:
            continue
        out.append(
            Violation(
                dotted,
                value,
                f"a real value: {source.where} had {source.name} {_HOW[source.how]}, "
                f"and {value!r} stands in for it",
            )
        )
    return tuple(out)


_HOW = {"null": "= null", "empty": 'as ""', "absent": "missing"}


def _is_missing_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if value.strip().lower() in _MISSING_TEXTS:
        return True
    # "Ada None": a missing value formatted into a text, spelt as a language runtime
    # prints it (case-sensitive, a whole word), so "none of the above" is not held
    return any(word in _PRINTED_NOTHING for word in re.split(r"[\s,;:()\[\]{}\"']+", value))


#: how Python and JavaScript print a missing value inside a formatted text
_PRINTED_NOTHING = frozenset({"None", "null", "undefined", "NaN"})


def _is_stand_in(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, str):
        text = value.strip()
        return bool(_ZERO.match(text)) or text.lower() in _MISSING_TEXTS
    return False


def _leaves(data: Any, depth: int) -> Iterator[tuple[str, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(data, Mapping):
        for k, v in data.items():
            if isinstance(v, Mapping | list):
                yield from _leaves(v, depth + 1)
            else:
                yield str(k), v
    elif isinstance(data, list):
        for item in data:
            yield from _leaves(item, depth + 1)


def _flat(data: Any, prefix: str, depth: int) -> Iterator[tuple[str, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(data, Mapping):
        for k, v in data.items():
            yield from _flat(v, f"{prefix}.{k}" if prefix else str(k), depth + 1)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from _flat(item, f"{prefix}[{i}]", depth + 1)
    else:
        yield prefix, data


def zero_money_violations(body: Mapping[str, Any], money_fields: Iterable[str]) -> tuple[Violation, ...]:
    """The fields of a write's ``body`` named like one of ``money_fields`` that bill zero.

    A billing system accepts a zero amount silently, and an automation that writes
    one has almost always lost the real amount on the way (a missing CRM value
    turned into ``0``, a zero read as "not set yet"); a person confirms it instead.
    """
    names = {n.lower() for n in money_fields}
    if not names:
        return ()
    return tuple(
        Violation(dotted, value, "an amount above zero: a zero bill is held for a person "
                  "(a write contract for this write in the flow decides instead)")
        for dotted, value in _flat(body, "", 0)
        if _is_zero_number(value) and dotted.rsplit(".", 1)[-1].split("[")[0].lower() in names
    )


def _is_zero_number(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return value == 0
    return isinstance(value, str) and bool(_ZERO.match(value.strip()))
