"""Stripe's request parameters: form decoding with nested keys and per-endpoint validation.

Stripe's v1 API takes ``application/x-www-form-urlencoded`` bodies whose keys
nest with brackets: ``metadata[deal_id]=7``, ``expand[]=customer``,
``lines[0][amount]=100``.  :func:`decode_form` turns the pairs into nested
dicts (lists stay dicts keyed by index until a validator asks for a list) and
:func:`validate` checks them against an endpoint's :data:`Spec`, raising
:class:`ParamError` with Stripe's message, code and param.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CURRENCIES", "P", "ParamError", "Spec", "decode_form", "parse_search", "validate"]

_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_PART = re.compile(r"\[([^\[\]]*)\]")
_INT = re.compile(r"-?[0-9]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

#: currencies the fake accepts (a subset of Stripe's list, lowercase as Stripe returns them)
CURRENCIES = frozenset(
    {"usd", "eur", "gbp", "cad", "aud", "chf", "jpy", "sek", "nok", "dkk", "nzd",
     "sgd", "hkd", "mxn", "brl", "pln", "czk", "huf", "ron", "inr", "zar", "ils"}
)


class ParamError(Exception):
    """A request parameter Stripe would reject; rendered as a 400 ``invalid_request_error``."""

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest Stripe's bracketed form keys: ``a[b][c]=1`` -> ``{"a": {"b": {"c": "1"}}}``.

    ``a[]=x`` appends to a list.  A key used both as a value and as a hash
    (``a=1&a[b]=2``) is a :class:`ParamError`, as in Stripe.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.fullmatch(key)
        if match is None:
            raise ParamError(f"Invalid parameter name: {key!r}", param=key)
        parts = [match.group(1), *_PART.findall(match.group(2))]
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                if not last or not isinstance(node, list):
                    raise ParamError(
                        f"Invalid array: {key} ('[]' is only allowed at the end of a key)",
                        param=key,
                    )
                node.append(value)
                break
            if not isinstance(node, dict):
                raise ParamError(f"Invalid hash: {key}", param=parts[0])
            if last:
                if isinstance(node.get(part), dict | list):
                    raise ParamError(f"Invalid hash: {key} is both a value and a hash", param=parts[0])
                node[part] = value
                break
            nxt = parts[i + 1]
            child = node.get(part)
            if child is None:
                child = [] if nxt == "" else {}
                node[part] = child
            elif isinstance(child, str):
                raise ParamError(f"Invalid hash: {key} is both a value and a hash", param=parts[0])
            elif nxt == "" and not isinstance(child, list):
                raise ParamError(f"Invalid array: {key}", param=key)
            node = child
    return root


@dataclass(frozen=True, slots=True)
class P:
    """One parameter's rule: ``kind`` plus options (enum values, nested spec, limits)."""

    kind: str
    required: bool = False
    values: tuple[str, ...] = ()
    nested: Mapping[str, P] | None = None
    unsettable: bool = True
    minimum: int | None = None
    maximum: int | None = None


Spec = Mapping[str, P]


def validate(params: Mapping[str, Any], spec: Spec, *, prefix: str = "") -> dict[str, Any]:
    """Check ``params`` against ``spec``; return the typed values (``""`` means unset: ``None``)."""
    for name in params:
        if name not in spec:
            full = f"{prefix}[{name}]" if prefix else name
            raise ParamError(f"Received unknown parameter: {full}", param=full, code="parameter_unknown")
    out: dict[str, Any] = {}
    for name, rule in spec.items():
        full = f"{prefix}[{name}]" if prefix else name
        if name not in params:
            if rule.required:
                raise ParamError(
                    f"Missing required param: {full}.", param=full, code="parameter_missing"
                )
            continue
        out[name] = _coerce(params[name], rule, full)
    return out


def _coerce(value: Any, rule: P, name: str) -> Any:
    kind = rule.kind
    if value == "" and kind not in ("metadata", "hash"):
        if rule.required or not rule.unsettable:
            raise ParamError(
                f"You passed an empty string for '{name}'. We assume empty values are an attempt "
                f"to unset a parameter; however '{name}' cannot be unset. You should remove "
                f"'{name}' from your request or supply a non-empty value.",
                param=name,
                code="parameter_invalid_empty",
            )
        return None
    if kind == "metadata":
        return _metadata(value, name)
    if kind == "hash":
        if value == "":
            return None
        if not isinstance(value, dict):
            raise ParamError(f"Invalid hash: {name}", param=name)
        return validate(value, rule.nested or {}, prefix=name)
    if kind == "strings":
        items = _as_list(value, name)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise ParamError(f"Invalid string: {name}[{i}]", param=f"{name}[{i}]")
        return items
    if not isinstance(value, str):
        raise ParamError(
            f"Invalid {'integer' if kind == 'integer' else 'string'}: {name} must be a single "
            "value, not a hash or array",
            param=name,
        )
    if kind == "string":
        if rule.maximum is not None and len(value) > rule.maximum:
            raise ParamError(
                f"Invalid string: {value[:20]}...; must be at most {rule.maximum} characters",
                param=name,
                code="parameter_invalid_string",
            )
        return value
    if kind == "integer":
        return _integer(value, rule, name)
    if kind == "boolean":
        if value not in ("true", "false"):
            raise ParamError(f"Invalid boolean: {value}", param=name)
        return value == "true"
    if kind == "enum":
        if value not in rule.values:
            choices = ", ".join(f"`{v}`" for v in rule.values)
            raise ParamError(f"Invalid {name}: must be one of {choices}", param=name)
        return value
    if kind == "email":
        if _EMAIL.fullmatch(value) is None:
            raise ParamError(f"Invalid email address: {value}", param=name, code="email_invalid")
        return value
    if kind == "currency":
        if value.lower() not in CURRENCIES:
            raise ParamError(
                f"Invalid currency: {value}. Stripe currently supports these currencies: "
                f"{', '.join(sorted(CURRENCIES))}",
                param=name,
            )
        return value.lower()
    raise AssertionError(f"unknown parameter kind {kind!r}")  # a bug in a spec, not in input


def _integer(value: str, rule: P, name: str) -> int:
    """A form-encoded integer within the rule's bounds, with Stripe's error for one that is not."""
    if _INT.fullmatch(value) is None:
        raise ParamError(
            f"Invalid integer: {value}", param=name, code="parameter_invalid_integer"
        )
    number = int(value)
    if rule.minimum is not None and number < rule.minimum:
        raise ParamError(
            f"Invalid integer: {value}; {name} must be at least {rule.minimum}",
            param=name,
            code="parameter_invalid_integer",
        )
    if rule.maximum is not None and number > rule.maximum:
        raise ParamError(
            f"Invalid integer: {value}; {name} must be at most {rule.maximum}",
            param=name,
            code="parameter_invalid_integer",
        )
    return number


def _as_list(value: Any, name: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and all(k.isdigit() for k in value):
        return [value[k] for k in sorted(value, key=int)]
    raise ParamError(f"Invalid array: {name}", param=name)


def _metadata(value: Any, name: str) -> dict[str, str] | None:
    if value == "":
        return None
    if not isinstance(value, dict):
        raise ParamError(
            f"Invalid {name}: {name} must be a hash of keys and string values", param=name
        )
    if len(value) > 50:
        raise ParamError(f"Invalid {name}: at most 50 keys are allowed", param=name)
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise ParamError(
                f"Invalid value for {name}[{key}]: metadata values must be strings",
                param=f"{name}[{key}]",
            )
        if len(key) > 40:
            raise ParamError(
                f"Metadata keys can have up to 40 characters. The key {key!r} has {len(key)}.",
                param=f"{name}[{key}]",
            )
        if len(item) > 500:
            raise ParamError(
                f"Metadata values can have up to 500 characters, but you passed in a value that "
                f"is {len(item)} characters. Invalid value: {item[:40]}...",
                param=f"{name}[{key}]",
            )
        out[key] = item
    return out


# -- the endpoints' parameters ------------------------------------------------------

_ADDRESS = {k: P("string") for k in ("city", "country", "line1", "line2", "postal_code", "state")}
_EXPAND = P("strings")
_LIST = {
    "limit": P("integer", minimum=1, maximum=100),
    "starting_after": P("string"),
    "ending_before": P("string"),
    "expand": _EXPAND,
}

CUSTOMER_CREATE: Spec = {
    "email": P("email", maximum=512),
    "name": P("string", maximum=256),
    "description": P("string", maximum=350),
    "phone": P("string", maximum=20),
    "metadata": P("metadata"),
    "address": P("hash", nested=_ADDRESS),
    "preferred_locales": P("strings"),
    "invoice_prefix": P("string", maximum=12),
    "expand": _EXPAND,
}
INVOICEITEM_CREATE: Spec = {
    "customer": P("string", required=True),
    "amount": P("integer"),
    "currency": P("currency"),
    "description": P("string", maximum=500),
    "metadata": P("metadata"),
    "invoice": P("string", unsettable=False),
    "quantity": P("integer", minimum=1),
    "unit_amount_decimal": P("string"),
    "discountable": P("boolean"),
    "period": P("hash", nested={"start": P("integer"), "end": P("integer")}),
    "expand": _EXPAND,
}
INVOICE_CREATE: Spec = {
    "customer": P("string", required=True),
    "collection_method": P("enum", values=("charge_automatically", "send_invoice")),
    "days_until_due": P("integer", minimum=0, maximum=3650),
    "due_date": P("integer"),
    "pending_invoice_items_behavior": P("enum", values=("exclude", "include")),
    "auto_advance": P("boolean"),
    "currency": P("currency"),
    "description": P("string", maximum=1500),
    "footer": P("string", maximum=5000),
    "metadata": P("metadata"),
    "expand": _EXPAND,
}
INVOICE_FINALIZE: Spec = {"auto_advance": P("boolean"), "expand": _EXPAND}
CUSTOMER_UPDATE: Spec = {k: v for k, v in CUSTOMER_CREATE.items() if k != "invoice_prefix"}
INVOICE_UPDATE: Spec = {
    k: INVOICE_CREATE[k]
    for k in ("collection_method", "days_until_due", "due_date", "auto_advance", "description",
              "footer", "metadata", "expand")
}
CUSTOMER_LIST: Spec = {**_LIST, "email": P("string")}
INVOICEITEM_LIST: Spec = {
    **_LIST, "customer": P("string"), "invoice": P("string"), "pending": P("boolean")
}
INVOICE_LIST: Spec = {
    **_LIST,
    "customer": P("string"),
    "status": P("enum", values=("draft", "open", "paid", "uncollectible", "void")),
    "collection_method": P("enum", values=("charge_automatically", "send_invoice")),
}
RETRIEVE: Spec = {"expand": _EXPAND}
SEARCH: Spec = {"query": P("string", required=True), "limit": P("integer", minimum=1, maximum=100),
                "page": P("string"), "expand": _EXPAND}


def parse_search(query: str) -> Callable[[Mapping[str, Any]], bool]:
    """Stripe's search language, subset: ``field:'v'``, ``metadata['k']:'v'``, ``-`` negation,
    clauses joined by ``AND`` or ``OR`` (not mixed)."""
    clause = re.compile(
        r"""\s*(-?)(metadata\[['"]([^'"]+)['"]\]|[a-z_]+)\s*(:|~)\s*(['"])(.*?)\5\s*"""
    )
    terms: list[tuple[bool, str | None, str, str, str]] = []
    pos = 0
    joiner: str | None = None
    text = query.strip()
    while pos < len(text):
        match = clause.match(text, pos)
        if match is None:
            raise ParamError(
                f"Invalid search query at position {pos}: {text[pos:pos + 30]!r}; expected "
                "field:'value' or metadata['key']:'value'",
                param="query",
            )
        negate, field, meta_key, op, _, value = match.groups()
        terms.append((bool(negate), meta_key, field, op, value))
        pos = match.end()
        rest = text[pos:]
        for word in ("AND", "OR"):
            if rest.startswith(word + " "):
                if joiner is not None and joiner != word:
                    raise ParamError(
                        "Invalid search query: AND and OR cannot be mixed in one query",
                        param="query",
                    )
                joiner = word
                pos += len(word) + 1
    if not terms:
        raise ParamError("Invalid search query: the query is empty", param="query")

    def one(record: Mapping[str, Any], term: tuple[bool, str | None, str, str, str]) -> bool:
        negate, meta_key, field, op, value = term
        actual = record.get("metadata", {}).get(meta_key) if meta_key else record.get(field)
        if actual is None:
            hit = False
        elif op == "~":
            hit = value.lower() in str(actual).lower()
        else:
            hit = str(actual).lower() == value.lower() if field == "email" else str(actual) == value
        return hit != negate

    def matches(record: Mapping[str, Any]) -> bool:
        results = (one(record, t) for t in terms)
        return any(results) if joiner == "OR" else all(results)

    return matches
