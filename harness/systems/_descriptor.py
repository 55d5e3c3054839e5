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

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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
            raise ValueError("Idempotency: set exactly one of 'header' or 'query_param'")


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
    nothing about the automation, so value faults leave them alone.
    """

    endpoint: str
    kind: str
    at: str = ""
    fields: str = ""
    system_fields: frozenset[str] = frozenset()


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
    mechanism the system honours (``None``: none).
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

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ValueError(
                f"SystemDescriptor name must be lowercase letters, digits and '_': {self.name!r}"
            )
        for shape in self.id_shapes:
            try:
                re.compile(shape)
            except re.error as exc:
                raise ValueError(f"{self.name}: id shape {shape!r} is not a regular expression ({exc})") from None

    def id_pattern(self) -> re.Pattern[str]:
        """One regular expression a whole path segment matches when it is an id of this system."""
        joined = "|".join(f"(?:{s})" for s in self.id_shapes)
        return re.compile(rf"^(?:{joined})(?:\.json)?$")
