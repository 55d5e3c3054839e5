"""The public description of a system: everything vendor-specific an engine may ask.

Chaos, the oracles and the orchestrator never name a vendor.  They ask the
:class:`SystemDescriptor` of the system a call went to: which hosts it serves,
what its ids look like (to template endpoints), how its error bodies look (so
an injected 503 or 429 reads like the vendor's own), which idempotency
mechanism it honours (so the orchestrator sends keys to it), which responses
carry records and where their fields are (so value faults can break any field
of any record), and how it says "failed" inside a 2xx (Slack's
``200 {"ok": false}``).

Bundled fakes and user-declared systems use the same descriptor.  A fake
declares it as the class attribute ``descriptor``; a world answers
:meth:`harness.systems.World.descriptor` for any system in it (a plain
generic descriptor for a system that declares none).

Example, a small internal REST API::

    BILLING = SystemDescriptor(
        name="billing",
        hosts=("billing.internal",),
        id_shapes=(ID_NUMERIC, ID_PREFIXED),
        errors=ErrorShape(body=lambda status, message: {"error": {"code": status, "message": message}}),
        idempotency=Idempotency(header="Idempotency-Key"),
        records=(RecordShape(endpoint="GET /v1/invoices/{id}", kind="invoice"),
                 RecordShape(endpoint="GET /v1/invoices", kind="invoice", at="data[]")),
    )
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from harness.errors import InvalidValueError

__all__ = [
    "DEFAULT_ID_SHAPES",
    "ID_HEX",
    "ID_NUMERIC",
    "ID_PREFIXED",
    "ID_UUID",
    "CreateGuard",
    "ErrorShape",
    "Idempotency",
    "RecordShape",
    "SystemDescriptor",
    "generic_error_body",
    "generic_rejected_field",
    "match_endpoint",
    "template_endpoint",
]

#: id shapes, as regular expressions a whole path segment must match (``.json`` suffix allowed)
ID_NUMERIC = r"\d+"
ID_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#: Mongo-style ObjectIds (24 hex) and other long hex ids
ID_HEX = r"[0-9a-f]{16,64}"
#: Stripe-style prefixed ids: ``cus_NffrFeUfNV2Hib``, ``in_1MtHbE...``
ID_PREFIXED = r"[a-z]{2,8}_[A-Za-z0-9]{6,}"
DEFAULT_ID_SHAPES: tuple[str, ...] = (ID_NUMERIC, ID_UUID, ID_HEX, ID_PREFIXED)

Encoding = Literal["json", "form", "query"]


def generic_error_body(status: int, message: str | None) -> Any:
    """The error body of a system that declares none: ``{"error": {"status", "message"}}``."""
    return {"error": {"status": status, "message": message or f"the server answered {status}"}}


@dataclass(frozen=True, kw_only=True)
class ErrorShape:
    """How a system says no.

    ``body(status, message)`` returns the JSON body of an error with that
    status in the vendor's shape (``message`` may be ``None``: use the
    vendor's usual text).  ``headers(status)`` adds headers (a request id, say);
    ``Retry-After`` on a 429 is added by whoever injects it.  ``declined`` and
    ``invalid`` are the statuses of the vendor's usual logical rejections
    (Stripe declines with 402 and rejects parameters with 400; Zendesk answers
    422).  ``rejected_field(body)`` names the field a validation error blames
    (``None`` when the error blames no field, for example a state conflict).
    ``failure_in_body(status, body)`` says whether a 2xx answer is in fact a
    failure (Slack's ``{"ok": false}``); the default trusts the status.
    """

    body: Callable[[int, str | None], Any] = generic_error_body
    headers: Callable[[int], Mapping[str, str]] | None = None
    declined: int = 400
    invalid: int = 400
    rejected_field: Callable[[Any], str | None] | None = None
    failure_in_body: Callable[[int, Any], bool] | None = None


@dataclass(frozen=True, kw_only=True)
class Idempotency:
    """The idempotency mechanism a system honours, so a retry can be made safe.

    Exactly one of ``header`` (``Idempotency-Key`` for Stripe and Xero) or
    ``query_param`` (``requestid`` for QuickBooks Online) is set.  ``methods``
    are the methods it applies to.  ``replay_header`` is the response header
    the vendor sets on a replayed answer, when it sets one
    (``Idempotent-Replayed`` for Stripe).
    """

    header: str | None = None
    query_param: str | None = None
    methods: tuple[str, ...] = ("POST",)
    replay_header: str | None = None

    def __post_init__(self) -> None:
        if (self.header is None) == (self.query_param is None):
            raise InvalidValueError("Idempotency: set exactly one of 'header' or 'query_param'")


@dataclass(frozen=True, kw_only=True)
class RecordShape:
    """Which responses carry records, and where their fields are.

    ``endpoint`` is a templated endpoint (``"GET /crm/v3/objects/{type}/{id}"``,
    as :func:`harness.chaos.endpoint_of` writes them; ``{type}`` and other
    named segments match any one segment).  ``kind`` is the record kind, or
    ``"{type}"`` to take it from that path segment.  ``at`` is the dotted path
    from the response body to the record: ``""`` is the body itself, ``"ticket"``
    a wrapper key, ``"Invoices[]"`` or ``"data[]"`` every element of a list.
    ``fields`` is the dotted path inside the record to the map of its fields
    (``"properties"`` for HubSpot, ``""`` for a flat record).  ``system_fields``
    are fields the vendor sets itself (ids, timestamps): breaking them says
    nothing about the automation, so value faults leave them alone (a name
    matches the field at the top of the record's fields and every dotted path
    under it).  ``id_field`` is the record's id inside the record (a value
    fault breaks one record, found by its id, in every response that carries
    it).  ``text_values`` says the vendor stores every field as text (HubSpot
    properties): a wrong-typed or zero value is then text too.
    """

    endpoint: str
    kind: str
    at: str = ""
    fields: str = ""
    system_fields: frozenset[str] = frozenset()
    id_field: str = "id"
    text_values: bool = False


@dataclass(frozen=True, kw_only=True)
class CreateGuard:
    """Search-before-create for a create that carries its own lookup key.

    When a create to ``endpoint`` got no answer (it may have happened), the
    orchestrator first sends ``GET search`` with ``{key}`` replaced by the
    value at ``key_field`` (a dotted path in the request's JSON body); a
    record found at ``found_at`` (a dotted path in the search answer; ``[]``
    for a list, the first element is taken) answers the create instead.
    Zendesk: ``endpoint="POST /api/v2/tickets.json"``,
    ``key_field="ticket.external_id"``,
    ``search="/api/v2/tickets.json?external_id={key}"``, ``found_at="tickets[]"``,
    ``wrap="ticket"``.
    """

    endpoint: str
    key_field: str
    search: str
    found_at: str
    wrap: str = ""


@dataclass(frozen=True, kw_only=True)
class SystemDescriptor:
    """Everything vendor-specific about one system, asked by every engine.

    ``hosts`` are exact names or ``*.suffix`` wildcards, several when the
    vendor uses several (an identity host for OAuth token refresh).
    ``base_url_env`` names an environment variable whose URL's host also
    belongs to the system (``STRIPE_BASE_URL``).  ``id_shapes`` are regular
    expressions for the ids in its paths; endpoints are templated with them so
    faults land per endpoint, not per object.  ``encoding`` is how writes
    send their bodies.  ``records`` say where records are in responses;
    ``guards`` list search-before-create guards; ``idempotency`` is the
    mechanism the system honours (``None``: none).  ``rate_limit`` is the
    documented request limit as ``(calls, seconds)`` (``None``: none known);
    production workers pace their calls to it.  ``money_fields`` name the
    fields of its writes that bill an amount (``unit_amount``; matched by the
    last part of a field's name, without case): with no write contract of the
    flow covering the write, the orchestrator holds a zero there for a person.
    """

    name: str
    hosts: tuple[str, ...] = ()
    base_url_env: str | None = None
    id_shapes: tuple[str, ...] = DEFAULT_ID_SHAPES
    encoding: Encoding = "json"
    errors: ErrorShape = field(default_factory=ErrorShape)
    idempotency: Idempotency | None = None
    records: tuple[RecordShape, ...] = ()
    guards: tuple[CreateGuard, ...] = ()
    docs: str = ""
    rate_limit: tuple[int, float] | None = None
    money_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise InvalidValueError(
                f"SystemDescriptor name must be lowercase letters, digits and '_': {self.name!r}"
            )
        for shape in self.id_shapes:
            try:
                re.compile(shape)
            except re.error as exc:
                raise InvalidValueError(f"{self.name}: id shape {shape!r} is not a regular expression ({exc})") from None

    def id_pattern(self) -> re.Pattern[str]:
        """One regular expression a whole path segment matches when it is an id of this system."""
        return _id_pattern(self.id_shapes)

    # -- what engines ask ---------------------------------------------------------

    def endpoint(self, method: str, path: str) -> str:
        """``"POST /v1/invoices/{id}/finalize"``: the method and path, ids templated by :attr:`id_shapes`."""
        return template_endpoint(method, path, self.id_shapes)

    def serves(self, host: str) -> bool:
        """Whether ``host`` is one of :attr:`hosts` (``*.suffix`` wildcards included) or the
        host of ``$base_url_env``."""
        host = host.lower()
        for pattern in self.hosts:
            pattern = pattern.lower()
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                    return True
            elif host == pattern:
                return True
        if self.base_url_env:
            base = os.environ.get(self.base_url_env)
            if base:
                with contextlib.suppress(ValueError):
                    if (urlsplit(base).hostname or "").lower() == host:
                        return True
        return False

    def error_body(self, status: int, message: str | None = None) -> Any:
        """The body of a ``status`` error in this system's shape."""
        return self.errors.body(status, message)

    def error_headers(self, status: int) -> dict[str, str]:
        """The headers this system adds to a ``status`` error (``Retry-After`` is the caller's)."""
        return dict(self.errors.headers(status)) if self.errors.headers is not None else {}

    def rejected_field(self, body: Any) -> str | None:
        """The field a validation error with this ``body`` blames (``None``: none).

        Uses :attr:`ErrorShape.rejected_field`; a system that declares none is
        read with :func:`generic_rejected_field`.
        """
        reader = self.errors.rejected_field or generic_rejected_field
        try:
            return reader(body)
        except Exception:  # a user's reader that trips on an odd body blames nothing
            return None

    def failed_in_body(self, status: int, body: Any) -> bool:
        """Whether a 2xx answer with ``body`` is in fact a failure (Slack's ``{"ok": false}``)."""
        check = self.errors.failure_in_body
        return bool(check(status, body)) if check is not None else False

    def record_shapes(self, endpoint: str) -> list[tuple[RecordShape, str]]:
        """The record shapes whose endpoint matches the templated ``endpoint``, with each
        shape's record kind (``{type}`` resolved from the path)."""
        out = []
        for shape in self.records:
            bound = match_endpoint(shape.endpoint, endpoint)
            if bound is not None:
                kind = shape.kind
                for name, value in bound.items():
                    kind = kind.replace("{" + name + "}", value)
                out.append((shape, kind))
        return out

    def guard_for(self, method: str, path: str) -> CreateGuard | None:
        """The :class:`CreateGuard` of a ``method`` ``path`` write, if one is declared."""
        endpoint = self.endpoint(method, path)
        for guard in self.guards:
            if match_endpoint(guard.endpoint, endpoint) is not None:
                return guard
        return None


@functools.lru_cache(maxsize=64)
def _id_pattern(shapes: tuple[str, ...]) -> re.Pattern[str]:
    joined = "|".join(f"(?:{s})" for s in shapes)
    return re.compile(rf"^(?:{joined})(?:\.json)?$")


def template_endpoint(method: str, path: str, id_shapes: tuple[str, ...] = DEFAULT_ID_SHAPES) -> str:
    """``"GET /v1/customers/{id}"``: ``method`` and ``path`` with every segment that is an id
    (by ``id_shapes``) replaced by ``{id}`` (``{id}.json`` keeps the suffix)."""
    pattern = _id_pattern(tuple(id_shapes))
    parts = []
    for seg in path.split("/"):
        if seg and pattern.match(seg):
            parts.append("{id}.json" if seg.endswith(".json") else "{id}")
        else:
            parts.append(seg)
    return f"{method.upper()} {'/'.join(parts) or '/'}"


def _bare(segment: str) -> str:
    return segment[:-5] if segment.endswith(".json") else segment


def match_endpoint(pattern: str, endpoint: str) -> dict[str, str] | None:
    """Whether the templated ``endpoint`` is one ``pattern`` describes; the named segments bound.

    Both are ``"METHOD /path"``.  ``{id}`` in ``pattern`` matches only an id
    segment (``{id}`` in ``endpoint``); any other ``{name}`` matches one
    segment that is not an id; ``.json`` suffixes are optional on both sides;
    ``endpoint`` may carry a longer path prefix (a base URL's path).
    """
    pmethod, _, ppath = pattern.partition(" ")
    emethod, _, epath = endpoint.partition(" ")
    if pmethod.upper() != emethod.upper():
        return None
    psegs = [_bare(s) for s in ppath.strip("/").split("/")]
    esegs = [_bare(s) for s in epath.strip("/").split("/")]
    if len(esegs) < len(psegs):
        return None
    esegs = esegs[len(esegs) - len(psegs) :]
    bound: dict[str, str] = {}
    for p, e in zip(psegs, esegs, strict=True):
        if p == "{id}":
            if e != "{id}":
                return None
        elif p.startswith("{") and p.endswith("}"):
            if e == "{id}":
                return None
            bound[p[1:-1]] = e
        elif p != e:
            return None
    return bound


def generic_rejected_field(body: Any) -> str | None:
    """The field a validation error names, read from the common shapes.

    ``{"error": {"param"|"field": ...}}``, ``{"errors": [{"field"|"name"|"param": ...}]}``,
    ``{"details": {FIELD: ...}}`` or ``{"field": ...}``; ``None`` when the body
    names no field (a state conflict, say).
    """
    if not isinstance(body, Mapping):
        return None
    for key in ("field", "param"):
        if isinstance(body.get(key), str) and body[key]:
            return str(body[key])
    err = body.get("error")
    if isinstance(err, Mapping):
        for key in ("param", "field"):
            if isinstance(err.get(key), str) and err[key]:
                return str(err[key])
    details = body.get("details")
    if isinstance(details, Mapping) and details:
        return ", ".join(sorted(str(k) for k in details))
    errors = body.get("errors")
    if isinstance(errors, list):
        names = [
            str(e[key])
            for e in errors
            if isinstance(e, Mapping)
            for key in ("field", "name", "param", "path")
            if isinstance(e.get(key), str) and e[key]
        ]
        if names:
            return ", ".join(sorted(set(names)))
    if isinstance(errors, Mapping) and errors:
        return ", ".join(sorted(str(k) for k in errors))
    return None
