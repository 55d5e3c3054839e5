"""A stateful fake of HubSpot's CRM API (v3 objects, search, properties, v4 associations) and its webhooks.

Served paths (``api.hubapi.com`` and any configured base URL), for deals,
contacts, companies, products, line items and notes (``{type}`` is the plural,
the singular or the object type id such as ``0-3``):

* ``GET /crm/v3/objects/{type}/{id}`` with ``properties=`` (comma list
  or repeated) and ``associations=``; ``GET /crm/v3/objects/{type}`` (list with
  ``limit``/``after``); ``POST /crm/v3/objects/{type}`` (with ``associations``
  in the body); ``PATCH .../{id}``;
* ``POST /crm/v3/objects/{type}/batch/read`` (207 with ``errors`` when some ids
  are unknown) and ``POST /crm/v3/objects/{type}/search`` (``filterGroups``
  OR-ed, filters AND-ed, ``sorts``, ``query``, ``after``/``limit``; immediately
  consistent, where HubSpot's index lags by seconds);
* ``GET|POST /crm/v3/properties/{type}`` and ``GET .../{name}``: a write to a
  property that is not defined is HubSpot's 400 ``PROPERTY_DOESNT_EXIST``; a value
  outside a user-defined enumeration's options is ``INVALID_OPTION``;
* ``GET /crm/v3/objects/deals/{id}/associations/contacts`` and the v4 forms:
  ``GET /crm/v4/objects/{type}/{id}/associations/{to}``,
  ``PUT .../associations/default/{to}/{toId}``, ``PUT .../associations/{to}/{toId}``,
  ``DELETE`` the same, ``POST /crm/v4/associations/{from}/{to}/batch/create|read``.

A note needs ``hs_timestamp`` (HubSpot's 400 ``REQUIRED_FIELD`` without it) and
is logged on records through ``associations`` (type 202 to a contact, 214 to a
deal, 190 to a company); ``hs_note_body`` holds at most 65,536 characters.

Line items copy the name and price of the product named by ``hs_product_id``
and carry HubSpot's calculated ``amount`` (price * quantity less discounts).

As HubSpot does, every property value is a string, a requested property
without a value is ``null``, unknown requested properties are left out, and
``hs_object_id``, ``createdate`` and the last-modified date are always present.
Errors use HubSpot's shape (``status``, ``message``, ``correlationId``,
``category``); a private-app Bearer token is required.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness._shared.wire import Request, Response
from harness.errors import InvalidValueError, NotFoundError
from harness.systems._base import FakeSystem, Record, iso8601
from harness.systems._descriptor import (
    ID_NUMERIC,
    ErrorShape,
    RecordShape,
    SystemDescriptor,
)
from harness.systems._hubspot_crm import (
    ASSOCIATION_TYPE_IDS,
    OBJECT_TYPE_IDS,
    REQUIRED_ON_CREATE,
    PropertyDefinition,
    SearchError,
    builtin_definition,
    line_item_amount,
    match_filter_groups,
)

__all__ = ["HubSpot"]

_TYPES = {"deals": "deal", "contacts": "contact", "deal": "deal", "contact": "contact",
          "companies": "company", "company": "company", "products": "product", "product": "product",
          "line_items": "line_item", "line_item": "line_item", "notes": "note", "note": "note",
          **{type_id: kind for kind, type_id in OBJECT_TYPE_IDS.items()}}
_PLURAL = {"deal": "deals", "contact": "contacts", "company": "companies", "product": "products",
           "line_item": "line_items", "note": "notes"}
_MODIFIED = {"deal": "hs_lastmodifieddate", "contact": "lastmodifieddate", "company": "hs_lastmodifieddate",
             "product": "hs_lastmodifieddate", "line_item": "hs_lastmodifieddate", "note": "hs_lastmodifieddate"}
_OBJ = (r"(deals|contacts|companies|products|line_items|notes|deal|contact|company|product|line_item|note"
        r"|0-46|0-[12378])")
#: HubSpot's object type ids (``/crm/v3/objects/0-2`` is ``companies``)
_TYPE_IDS = {type_id: kind for kind, type_id in OBJECT_TYPE_IDS.items()}

#: properties returned when the request names none (HubSpot's defaults)
DEFAULT_PROPERTIES = {
    "deal": (
        "amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate",
        "hs_object_id", "pipeline",
    ),
    "contact": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "company": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "product": ("createdate", "description", "hs_lastmodifieddate", "hs_object_id", "name", "price"),
    "line_item": ("amount", "createdate", "hs_lastmodifieddate", "hs_object_id", "hs_product_id", "name",
                  "price", "quantity"),
    "note": ("createdate", "hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
#: properties defined in the fake portal (requesting one without a value gives null)
DEFINED_PROPERTIES = {
    "deal": frozenset(
        DEFAULT_PROPERTIES["deal"]
        + ("dealtype", "deal_currency_code", "hubspot_owner_id", "description", "hs_priority",
           "closed_lost_reason", "closed_won_reason", "hs_is_closed_won", "hs_is_closed",
           "num_associated_contacts")
    ),
    "contact": frozenset(
        DEFAULT_PROPERTIES["contact"]
        + ("company", "phone", "jobtitle", "city", "country", "lifecyclestage", "website",
           "hs_email_domain")
    ),
    "company": frozenset(
        DEFAULT_PROPERTIES["company"]
        + ("city", "country", "industry", "phone", "website", "numberofemployees", "annualrevenue",
           "lifecyclestage", "description", "hubspot_owner_id")
    ),
    "product": frozenset(
        DEFAULT_PROPERTIES["product"]
        + ("hs_sku", "hs_cost_of_goods_sold", "recurringbillingfrequency", "hs_recurring_billing_period")
    ),
    "line_item": frozenset(
        DEFAULT_PROPERTIES["line_item"]
        + ("description", "hs_sku", "discount", "hs_discount_percentage", "recurringbillingfrequency",
           "hs_recurring_billing_period", "hs_line_item_currency_code", "hs_cost_of_goods_sold")
    ),
    # hs_note_body holds at most 65,536 characters (HubSpot's notes guide)
    "note": frozenset(
        DEFAULT_PROPERTIES["note"] + ("hs_timestamp", "hs_note_body", "hubspot_owner_id", "hs_attachment_ids")
    ),
}
_NOTE_BODY_MAX = 65_536
_ALWAYS = {kind: ("createdate", _MODIFIED[kind], "hs_object_id") for kind in _MODIFIED}
#: calculated properties a request may not set
_READ_ONLY = {"line_item": frozenset({"amount"})}
#: webhook subscription types this fake can emit -> the app's subscription id
SUBSCRIPTIONS = {
    "deal.propertyChange": 2345678, "deal.creation": 2345671, "deal.deletion": 2345672,
    "contact.propertyChange": 2345688, "contact.creation": 2345681, "contact.deletion": 2345682,
    "company.propertyChange": 2345698, "company.creation": 2345691, "company.deletion": 2345692,
}
#: the property a ``*.propertyChange`` event reports when none is named
_CHANGED = {"deal": "dealstage", "contact": "lifecyclestage", "company": "lifecyclestage"}

DEAL_STAGES = (
    "appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
    "contractsent", "closedwon", "closedlost",
)


def _error_body(status: int, message: str | None) -> dict[str, Any]:
    """HubSpot's error body (``status``, ``message``, ``correlationId``, ``category``)."""
    category = {
        429: "RATE_LIMITS",
        400: "VALIDATION_ERROR",
        401: "INVALID_AUTHENTICATION",
        403: "MISSING_SCOPES",
        404: "OBJECT_NOT_FOUND",
        409: "CONFLICT",
    }.get(status, "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR")
    default = "You have reached your secondly limit." if status == 429 else f"HubSpot answered {status}"
    return {
        "status": "error",
        "message": message or default,
        "correlationId": "00000000-0000-4000-8000-000000000000",
        "category": category,
    }


def _rejected_field(body: Any) -> str | None:
    """The properties a HubSpot validation error names (``errors[].context.propertyName``)."""
    if not isinstance(body, Mapping):
        return None
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        return None
    names: list[str] = []
    for err in errors:
        context = err.get("context") if isinstance(err, Mapping) else None
        found = context.get("propertyName") if isinstance(context, Mapping) else None
        if isinstance(found, list):
            names.extend(str(n) for n in found)
    return ", ".join(sorted(set(names))) if names else "properties"


#: properties HubSpot sets itself: breaking them says nothing about the automation
SYSTEM_PROPERTIES = frozenset(
    {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"}
)

_OBJECT = RecordShape(
    endpoint="GET /crm/v3/objects/{type}/{id}",
    kind="{type}",
    fields="properties",
    system_fields=SYSTEM_PROPERTIES,
    text_values=True,
)
_OBJECTS = RecordShape(
    endpoint="GET /crm/v3/objects/{type}",
    kind="{type}",
    at="results[]",
    fields="properties",
    system_fields=SYSTEM_PROPERTIES,
    text_values=True,
)

DESCRIPTOR = SystemDescriptor(
    name="hubspot",
    hosts=("api.hubapi.com", "api.hubspot.com"),
    # 100 requests per 10 seconds per app and account (190 on Professional and Enterprise)
    rate_limit=(100, 10.0),
    base_url_env="HUBSPOT_BASE_URL",
    id_shapes=(ID_NUMERIC,),
    errors=ErrorShape(body=_error_body, declined=400, invalid=400, rejected_field=_rejected_field),
    records=(_OBJECT, _OBJECTS),
    docs="https://developers.hubspot.com/docs/api/crm/understanding-the-crm",
)


class HubSpot(FakeSystem):
    """Fake HubSpot CRM.  Kinds: ``deal``, ``contact``, ``company``, ``product``, ``line_item``, ``note``.

    Records are stored in the API's shape (``id``, ``properties``, ``createdAt``,
    ``updatedAt``, ``archived``); associations live beside them.
    """

    name = "hubspot"
    default_hosts = DESCRIPTOR.hosts
    kinds = ("deal", "contact", "company", "product", "line_item", "note")
    descriptor = DESCRIPTOR

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
        portal_id: int = 62515,
        app_id: int = 54321,
    ) -> None:
        self.portal_id = portal_id
        self.app_id = app_id
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    # -- state ---------------------------------------------------------------

    def _init_state(self) -> None:
        super()._init_state()
        self._next_id = 10_000_000_001
        self._links: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self._hidden: dict[tuple[str, str], frozenset[str]] = {}
        self._defined = {k: set(v) for k, v in DEFINED_PROPERTIES.items()}
        self._custom: dict[tuple[str, str], PropertyDefinition] = {}
        self._event_ids = random.Random(f"hubspot-events:{self._seed}")

    def _extra_state(self) -> Any:
        return (
            dict(self._links),
            dict(self._hidden),
            {k: set(v) for k, v in self._defined.items()},
            self._event_ids.getstate(),
            dict(self._custom),
        )

    def _restore_extra(self, state: Any) -> None:
        links, hidden, defined, events, custom = state
        self._links, self._hidden = dict(links), dict(hidden)
        self._defined = {k: set(v) for k, v in defined.items()}
        self._event_ids.setstate(events)
        self._custom = dict(custom)

    # -- the Python API used by seeding, triggers and chaos -----------------

    def add_object(
        self,
        object_type: str,
        properties: Mapping[str, str | None],
        *,
        object_id: str | None = None,
        created_at: float | None = None,
    ) -> str:
        """Create an object of any served type without logging a write (seeding); returns its id."""
        kind = self._kind(object_type)
        with self._lock:
            oid = str(object_id) if object_id is not None else str(self._numeric_id())
            at = iso8601(self.now() if created_at is None else created_at)
            props = {k: None if v is None else str(v) for k, v in properties.items()}
            props.setdefault("createdate", at)
            props[_MODIFIED[kind]] = at
            props["hs_object_id"] = oid
            self._defined[kind].update(props)
            record: Record = {
                "id": oid,
                "properties": props,
                "createdAt": at,
                "updatedAt": at,
                "archived": False,
            }
            self.seed_record(kind, oid, record)
            return oid

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Associate two objects both ways (deal <-> contact, company, line item), without logging a write."""
        a, b = self._kind(from_type), self._kind(to_type)
        with self._lock:
            for kind, oid in ((a, from_id), (b, to_id)):
                if str(oid) not in self._store[kind]:
                    raise NotFoundError(f"hubspot: no {kind} {oid!r} to associate")
            for x, xid, y, yid in ((a, str(from_id), b, str(to_id)), (b, str(to_id), a, str(from_id))):
                current = self._links.get((x, xid, y), ())
                if yid not in current:
                    self._links[(x, xid, y)] = (*current, yid)

    def define_property(self, object_type: str, definition: Mapping[str, Any]) -> None:
        """Define a custom property as ``POST /crm/v3/properties/{type}`` would (no write logged)."""
        kind = self._kind(object_type)
        with self._lock:
            prop = PropertyDefinition.parse(definition, created_at=iso8601(self.now()))
            self._custom[(kind, prop.name)] = prop
            self._defined[kind].add(prop.name)

    def ids(self, object_type: str) -> list[str]:
        """Ids of every object of ``object_type``, oldest first."""
        return list(self._store[self._kind(object_type)])

    def deal_ids(self) -> list[str]:
        """Ids of every deal, oldest first."""
        return list(self._store["deal"])

    def contact_ids(self) -> list[str]:
        return list(self._store["contact"])

    def company_ids(self) -> list[str]:
        return list(self._store["company"])

    def update_object(self, object_type: str, object_id: str, properties: Mapping[str, str | None]) -> None:
        """A change made in HubSpot (by a person or a HubSpot workflow), not by the automation.

        Sets ``properties`` and stamps the last-modified date and ``updatedAt``
        with the world's clock, as HubSpot does on every change; logs no write.
        """
        kind = self._kind(object_type)
        with self._lock:
            record = self._existing(kind, object_id)
            at = iso8601(self.now())
            props = {**record["properties"],
                     **{k: None if v is None else str(v) for k, v in properties.items()},
                     _MODIFIED[kind]: at}
            self._defined[kind].update(props)
            self.seed_record(kind, record["id"], {**record, "properties": props, "updatedAt": at})

    def associated(self, from_type: str, from_id: str, to_type: str) -> tuple[str, ...]:
        """Ids of the ``to_type`` objects associated with ``from_type`` ``from_id``."""
        return self._links.get((self._kind(from_type), str(from_id), self._kind(to_type)), ())

    def set_property(self, object_type: str, object_id: str, name: str, value: str | None) -> None:
        """Set one property (``None``: the value is cleared and reads as ``null``).

        A HubSpot-side change, not an automation's effect: no write is logged.
        """
        kind = self._kind(object_type)
        with self._lock:
            record = self._existing(kind, object_id)
            props = {**record["properties"], name: None if value is None else str(value)}
            self._defined[kind].add(name)
            hidden = self._hidden.get((kind, record["id"]))
            if hidden and name in hidden:
                self._hidden[(kind, record["id"])] = hidden - {name}
            self.seed_record(kind, record["id"], {**record, "properties": props})

    def remove_property(self, object_type: str, object_id: str, name: str) -> None:
        """Make the property absent from this record's responses (the key disappears).

        Unlike ``set_property(..., None)`` (a ``null`` value), the response then
        lacks the key altogether, as when a portal has no such property.
        """
        kind = self._kind(object_type)
        with self._lock:
            record = self._existing(kind, object_id)
            props = {k: v for k, v in record["properties"].items() if k != name}
            key = (kind, record["id"])
            self._hidden[key] = self._hidden.get(key, frozenset()) | {name}
            self.seed_record(kind, record["id"], {**record, "properties": props})

    def webhook_event(
        self,
        object_id: str | int,
        *,
        subscription_type: str = "deal.propertyChange",
        property_name: str | None = None,
        property_value: str | None = None,
        attempt_number: int = 0,
        occurred_at: int | None = None,
        event_id: int | None = None,
        rng: random.Random | None = None,
        apply: bool = True,
    ) -> dict[str, Any]:
        """One webhook event in HubSpot's shape for an object that exists in this fake.

        ``subscription_type`` is one of :data:`SUBSCRIPTIONS` (``deal.*``,
        ``contact.*``, ``company.*``): the object is a deal, contact or company.
        ``*.propertyChange`` defaults to ``dealstage`` (deals) or
        ``lifecyclestage`` (contacts, companies) and the object's current value;
        with ``apply`` (default) the change is made first (the last-modified date
        stamped), as the event reports a change that happened.  ``*.creation``
        carries no property.  ``occurredAt`` is epoch milliseconds from the
        world's clock.  :class:`~harness.errors.NotFoundError` (a ``KeyError``) names the object when it does not exist.
        """
        if subscription_type not in SUBSCRIPTIONS:
            raise InvalidValueError(
                f"hubspot.webhook_event: unsupported subscription_type {subscription_type!r}; "
                f"expected one of {', '.join(SUBSCRIPTIONS)}"
            )
        kind, _, change = subscription_type.partition(".")
        with self._lock:
            record = self._existing(kind, str(object_id))
            source = rng if rng is not None else self._event_ids
            event: dict[str, Any] = {
                "eventId": int(event_id) if event_id is not None else source.randrange(10**8, 5 * 10**9),
                "subscriptionId": SUBSCRIPTIONS[subscription_type],
                "portalId": self.portal_id,
                "appId": self.app_id,
                "occurredAt": int(occurred_at) if occurred_at is not None else int(self.now() * 1000),
                "subscriptionType": subscription_type,
                "attemptNumber": int(attempt_number),
                "objectId": int(record["id"]),
            }
            if change == "propertyChange":
                name = property_name or _CHANGED[kind]
                value = property_value if property_value is not None else record["properties"].get(name)
                if apply and record["properties"].get(name) != value:
                    self.update_object(kind, record["id"], {name: value})
                event["propertyName"] = name
                event["propertyValue"] = value
            else:
                event["changeFlag"] = "CREATED" if change == "creation" else "DELETED"
            event["changeSource"] = "CRM_UI"
            event["sourceId"] = f"userId:{source.randrange(1_000_000, 99_999_999)}"
            return event

    # -- errors ----------------------------------------------------------------

    def _correlation_id(self) -> str:
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _err(
        self,
        status: int,
        message: str,
        category: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        body: dict[str, Any] = {"status": "error", "message": message,
                                "correlationId": self._correlation_id()}
        if extra:
            body.update(extra)
        body["category"] = category
        return Response.of_json(status, body, headers)

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        if status == 429:
            headers: dict[str, str] = {
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": str(self.rate_limit[0] if self.rate_limit else 100),
                "X-HubSpot-RateLimit-Remaining": "0",
            }
            if retry_after is not None:
                headers["Retry-After"] = str(int(max(1, retry_after)))
            return self._err(
                429,
                message or "You have reached your ten_secondly_rolling limit.",
                "RATE_LIMITS",
                extra={"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
                       "groupName": f"publicapi:private-app:{self.app_id}:{self.portal_id}"},
                headers=headers,
            )
        categories = {400: "VALIDATION_ERROR", 401: "INVALID_AUTHENTICATION",
                      403: "MISSING_SCOPES", 404: "OBJECT_NOT_FOUND", 409: "CONFLICT"}
        default = {
            404: "resource not found",
            401: "Authentication credentials not found.",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }.get(status, "internal error" if status >= 500 else "Bad Request")
        more = {"Retry-After": str(int(max(1, retry_after)))} if retry_after is not None else None
        return self._err(status, message or default, categories.get(status, "INTERNAL_ERROR"),
                         headers=more)

    def _not_found(self, object_id: str) -> Response:
        return self._err(
            404,
            "Object not found.  objectId are usually numeric.",
            "OBJECT_NOT_FOUND",
            extra={"context": {"id": [object_id]}},
        )

    def _invalid(self, message: str, errors: Sequence[Mapping[str, Any]] = ()) -> Response:
        extra = {"errors": list(errors)} if errors else None
        return self._err(400, message, "VALIDATION_ERROR", extra=extra)

    # -- routing ---------------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        obj = r"/crm/v3/objects/" + _OBJ
        v4 = r"/crm/v4/objects/" + _OBJ + r"/([^/]+)/associations/"
        return (
            ("POST", obj + r"/batch/read", self._batch_read),
            ("POST", obj + r"/search", self._search),
            ("GET", r"/crm/v3/properties/" + _OBJ, self._list_properties),
            ("POST", r"/crm/v3/properties/" + _OBJ, self._create_property),
            ("GET", r"/crm/v3/properties/" + _OBJ + r"/([A-Za-z0-9_]+)", self._get_property),
            ("GET", obj + r"/([^/]+)/associations/([a-z_0-9-]+)", self._assoc_v3),
            ("GET", v4 + r"([a-z_0-9-]+)", self._assoc_v4),
            ("PUT", v4 + r"default/([a-z_0-9-]+)/([^/]+)", self._assoc_default),
            ("PUT", v4 + r"([a-z_0-9-]+)/([^/]+)", self._assoc_labelled),
            ("DELETE", v4 + r"([a-z_0-9-]+)/([^/]+)", self._assoc_delete),
            ("POST", r"/crm/v4/associations/" + _OBJ + "/" + _OBJ + r"/batch/create", self._assoc_batch_create),
            ("POST", r"/crm/v4/associations/" + _OBJ + "/" + _OBJ + r"/batch/read", self._assoc_batch_read),
            ("GET", obj + r"/([^/]+)", self._get),
            ("PATCH", obj + r"/([^/]+)", self._patch),
            ("GET", obj, self._list),
            ("POST", obj, self._create),
        )

    def _serve(self, request: Request, path: str) -> Response:
        auth = request.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._err(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        found = self._route(request, path)
        if found is False:
            return self._err(405, f"HTTP {request.method} is not supported by this resource",
                             "VALIDATION_ERROR")
        if not isinstance(found, tuple):
            return self._err(404, f"Unable to route {request.method} {path}", "OBJECT_NOT_FOUND")
        failure = self._scripted_failure(request, path)
        if failure is not None:
            return failure
        handler, match = found
        response: Response = handler(request, *match.groups())
        return response

    def _kind(self, object_type: str) -> str:
        kind = _TYPES.get(object_type)
        if kind is None:
            raise NotFoundError(
                f"hubspot: unknown object type {object_type!r}; expected one of "
                f"{', '.join(sorted(_PLURAL))}"
            )
        return kind

    def _existing(self, kind: str, object_id: str) -> Record:
        record = self._store[kind].get(str(object_id))
        if record is None:
            raise NotFoundError(
                f"hubspot: no {kind} {str(object_id)!r}; the fake has {len(self._store[kind])} "
                f"{_PLURAL[kind]} (ids {list(self._store[kind])[:5]}...)"
            )
        return record

    # -- rendering -----------------------------------------------------------------

    def _names(self, query: list[tuple[str, str]], key: str) -> list[str]:
        names: list[str] = []
        for k, v in query:
            if k == key:
                names.extend(n.strip() for n in v.split(",") if n.strip())
        return names

    def _render(self, kind: str, record: Record, query: list[tuple[str, str]]) -> dict[str, Any]:
        requested = self._names(query, "properties")
        props = record["properties"]
        hidden = self._hidden.get((kind, record["id"]), frozenset())
        names = [*requested, *_ALWAYS[kind]] if requested else list(DEFAULT_PROPERTIES[kind])
        out: dict[str, Any] = {}
        for name in sorted(set(names)):
            if name in props:
                out[name] = props[name]
            elif name in self._defined[kind] and name not in hidden:
                out[name] = None
        body: dict[str, Any] = {
            "id": record["id"],
            "properties": out,
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "archived": record["archived"],
        }
        associations: dict[str, Any] = {}
        for target in self._names(query, "associations"):
            to_kind = _TYPES.get(target)
            if to_kind is None:
                continue
            ids = self._links.get((kind, record["id"], to_kind), ())
            if ids:  # HubSpot leaves out association types with no results
                associations[_PLURAL[to_kind]] = {
                    "results": [{"id": i, "type": f"{kind}_to_{to_kind}"} for i in ids]
                }
        if associations:
            body["associations"] = associations
        return body

    # -- handlers --------------------------------------------------------------------

    def _get(self, request: Request, object_type: str, object_id: str) -> Response:
        kind = self._kind(object_type)
        record = self._lookup(kind, object_id, request)
        if record is None:
            return self._not_found(object_id)
        return Response.of_json(200, self._render(kind, record, request.query))

    def _lookup(self, kind: str, object_id: str, request: Request) -> Record | None:
        query = request.parts.query
        id_property = dict(request.query).get("idProperty") if "idProperty" in query else None
        if id_property and id_property != "hs_object_id":
            for record in self._store[kind].values():
                if record["properties"].get(id_property) == object_id:
                    return record
            return None
        return self._store[kind].get(object_id)

    def _list(self, request: Request, object_type: str) -> Response:
        kind = self._kind(object_type)
        query = dict(request.query)
        try:
            limit = int(query.get("limit", "10"))
        except ValueError:
            return self._invalid(f"Invalid input for 'limit': {query.get('limit')!r} is not an integer")
        if not 1 <= limit <= 100:
            return self._invalid(f"Invalid input for 'limit': must be between 1 and 100, got {limit}")
        ids = list(self._store[kind])
        start = 0
        after = query.get("after")
        if after:
            start = next((i + 1 for i, oid in enumerate(ids) if oid == after), len(ids))
        page = ids[start : start + limit]
        body: dict[str, Any] = {
            "results": [self._render(kind, self._store[kind][i], request.query) for i in page]
        }
        if start + limit < len(ids):
            nxt = page[-1]
            body["paging"] = {"next": {"after": nxt, "link": f"https://api.hubapi.com/crm/v3/objects/{_PLURAL[kind]}?after={nxt}"}}
        return Response.of_json(200, body)

    def _body_properties(self, request: Request, kind: str) -> dict[str, str | None] | Response:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            return self._invalid(f"Invalid input JSON on line 1: {exc}")
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            return self._invalid(
                "Invalid input: the body must be a JSON object with a 'properties' object",
                [{"message": "properties is required", "in": "properties"}],
            )
        out: dict[str, str | None] = {}
        bad: list[dict[str, Any]] = []
        read_only = _READ_ONLY.get(kind, frozenset())
        for name, value in body["properties"].items():
            if name not in self._defined[kind]:
                bad.append({"isValid": False, "message": f'Property "{name}" does not exist',
                            "error": "PROPERTY_DOESNT_EXIST", "name": name})
                continue
            if name in read_only:
                bad.append({"isValid": False, "message": f'Property "{name}" is a calculated property',
                            "error": "READ_ONLY_VALUE", "name": name})
                continue
            if isinstance(value, dict | list):
                bad.append({"isValid": False, "message": f"{value!r} is not a valid value",
                            "error": "INVALID_OPTION", "name": name})
                continue
            if isinstance(value, bool):
                out[name] = "true" if value else "false"
            else:
                out[name] = None if value is None else str(value)
            custom = self._custom.get((kind, name))
            problem = custom.check(out[name]) if custom is not None else None
            if problem is not None:
                bad.append({"isValid": False, "message": f"{out[name]!r} was not one of the allowed options"
                            if problem == "INVALID_OPTION" else f"{out[name]!r} is not a valid {custom.type}",  # type: ignore[union-attr]
                            "error": problem, "name": name})
        if bad:
            return self._invalid(
                f"Property values were not valid: {json.dumps(bad)}",
                [{"message": b["message"], "code": b["error"], "context": {"propertyName": [b["name"]]}}
                 for b in bad],
            )
        return out

    def _patch(self, request: Request, object_type: str, object_id: str) -> Response:
        kind = self._kind(object_type)
        record = self._store[kind].get(object_id)
        if record is None:
            return self._not_found(object_id)
        props = self._body_properties(request, kind)
        if isinstance(props, Response):
            return props
        at = iso8601(self.now())
        new_props = {**record["properties"], **props, _MODIFIED[kind]: at}
        if kind == "line_item":
            new_props["amount"] = line_item_amount(new_props)
        updated = {**record, "properties": new_props, "updatedAt": at}
        self._store_record(kind, object_id, updated, "update")
        return Response.of_json(200, {**updated, "properties": dict(sorted(new_props.items()))})

    def _create(self, request: Request, object_type: str) -> Response:
        kind = self._kind(object_type)
        props = self._body_properties(request, kind)
        if isinstance(props, Response):
            return props
        missing = [name for name in REQUIRED_ON_CREATE.get(kind, ()) if not props.get(name)]
        if missing:
            bad = [{"isValid": False, "message": f"{n} is required", "error": "REQUIRED_FIELD", "name": n}
                   for n in missing]
            return self._invalid(
                f"Property values were not valid: {json.dumps(bad)}",
                [{"message": b["message"], "code": b["error"], "context": {"propertyName": [b["name"]]}}
                 for b in bad])
        if kind == "note" and len(props.get("hs_note_body") or "") > _NOTE_BODY_MAX:
            return self._invalid(
                f"hs_note_body is {len(props['hs_note_body'] or '')} characters; at most {_NOTE_BODY_MAX}",
                [{"message": "hs_note_body is too long", "code": "INVALID_STRING_LENGTH",
                  "context": {"propertyName": ["hs_note_body"]}}])
        links = self._body_associations(request, kind)
        if isinstance(links, Response):
            return links
        if kind == "line_item" and props.get("hs_product_id"):
            product = self._store["product"].get(str(props["hs_product_id"]))
            if product is None:
                return self._invalid(f"Product with id {props['hs_product_id']} does not exist",
                                     [{"message": "hs_product_id refers to no product", "in": "hs_product_id"}])
            inherited = {k: v for k, v in product["properties"].items()
                         if k in ("name", "price", "description", "hs_sku", "hs_cost_of_goods_sold",
                                  "recurringbillingfrequency", "hs_recurring_billing_period")}
            props = {**inherited, **props}
        oid = str(self._numeric_id())
        at = iso8601(self.now())
        full = {**props, "createdate": props.get("createdate") or at, _MODIFIED[kind]: at,
                "hs_object_id": oid}
        if kind == "line_item":
            full.setdefault("quantity", "1")
            full["amount"] = line_item_amount(full)
        if kind == "note":
            full["hs_createdate"] = full["createdate"]
        record = {"id": oid, "properties": full, "createdAt": at, "updatedAt": at, "archived": False}
        self._store_record(kind, oid, record, "create")
        for to_kind, to_id in links:
            self._link(kind, oid, to_kind, to_id)
        return Response.of_json(201, {**record, "properties": dict(sorted(full.items()))})

    def _body_associations(self, request: Request, kind: str) -> list[tuple[str, str]] | Response:
        """The ``associations`` of a create body as ``(kind, id)``, every target checked."""
        body = request.json()
        raw = body.get("associations") or []
        if not isinstance(raw, list):
            return self._invalid("Invalid input: 'associations' must be a list")
        by_type = {v: k for k, v in ASSOCIATION_TYPE_IDS.items()}
        out: list[tuple[str, str]] = []
        for item in raw:
            to_id = str((item.get("to") or {}).get("id", "")) if isinstance(item, dict) else ""
            types = item.get("types") if isinstance(item, dict) else None
            if not to_id or not isinstance(types, list) or not types:
                return self._invalid("Invalid input: each association needs 'to': {'id'} and 'types'")
            type_id = types[0].get("associationTypeId") if isinstance(types[0], dict) else None
            pair = by_type.get(type_id) if isinstance(type_id, int) else None
            if pair is None or pair[0] != kind:
                return self._invalid(f"associationTypeId {type_id!r} is not a {kind} association type; "
                                     f"known: {sorted(v for k, v in ASSOCIATION_TYPE_IDS.items() if k[0] == kind)}")
            if to_id not in self._store[pair[1]]:
                return self._invalid(f"The {pair[1]} {to_id} in 'associations' does not exist")
            out.append((pair[1], to_id))
        return out

    def _link(self, a: str, a_id: str, b: str, b_id: str) -> bool:
        """Associate both ways; report the change as a write on the ``from`` record. New?"""
        current = self._links.get((a, a_id, b), ())
        if b_id in current:
            return False
        self._links[(a, a_id, b)] = (*current, b_id)
        back = self._links.get((b, b_id, a), ())
        if a_id not in back:
            self._links[(b, b_id, a)] = (*back, a_id)
        world = self.world
        if world is not None:
            world.record_write(self.name, a, a_id, "associate",
                               {"from": a_id, "to": b_id, "toObjectType": b,
                                "associationTypeId": ASSOCIATION_TYPE_IDS.get((a, b), 0)})
        return True

    def _unlink(self, a: str, a_id: str, b: str, b_id: str) -> None:
        for x, xid, y, yid in ((a, a_id, b, b_id), (b, b_id, a, a_id)):
            current = self._links.get((x, xid, y), ())
            if yid in current:
                self._links[(x, xid, y)] = tuple(i for i in current if i != yid)
        world = self.world
        if world is not None:
            world.record_write(self.name, a, a_id, "dissociate", {"from": a_id, "to": b_id, "toObjectType": b})

    # -- batch read, search, properties -------------------------------------------------

    def _json_body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            return self._invalid(f"Invalid input JSON on line 1: {exc}")
        if not isinstance(body, dict):
            return self._invalid("Invalid input JSON: the body must be a JSON object")
        return body

    def _batch_read(self, request: Request, object_type: str) -> Response:
        kind = self._kind(object_type)
        body = self._json_body(request)
        if isinstance(body, Response):
            return body
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
            return self._invalid("Invalid input: 'inputs' must be a list of {\"id\": ...}")
        if len(inputs) > 100:
            return self._invalid(f"Invalid input: at most 100 inputs per batch, got {len(inputs)}")
        id_property = body.get("idProperty")
        names = body.get("properties") or []
        query = [("properties", ",".join(str(n) for n in names))] if names else []
        started = iso8601(self.now())
        results, missing = [], []
        for item in inputs:
            wanted = str(item["id"])
            record = (next((r for r in self._store[kind].values()
                            if r["properties"].get(id_property) == wanted), None)
                      if id_property and id_property != "hs_object_id" else self._store[kind].get(wanted))
            if record is None:
                missing.append(wanted)
            else:
                results.append(self._render(kind, record, query))
        out: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                               "completedAt": iso8601(self.now())}
        if not missing:
            return Response.of_json(200, out)
        out["numErrors"] = 1
        out["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND",
                          "message": f"Could not get some {kind.upper()} objects, they may be deleted or "
                                     "not exist. Check that ids are valid.",
                          "context": {"ids": missing}}]
        return Response.of_json(207, out)

    def _search(self, request: Request, object_type: str) -> Response:
        kind = self._kind(object_type)
        body = self._json_body(request)
        if isinstance(body, Response):
            return body
        try:
            matches = match_filter_groups(body.get("filterGroups"), self._defined[kind])
            limit = int(body.get("limit", 10))
            after = int(body.get("after") or 0)
        except SearchError as exc:
            return self._invalid(str(exc))
        except (TypeError, ValueError):
            return self._invalid(f"Invalid input: 'limit' and 'after' must be integers, got "
                                 f"{body.get('limit')!r}, {body.get('after')!r}")
        if not 1 <= limit <= 200:
            return self._invalid(f"Invalid input: 'limit' must be between 1 and 200, got {limit}")
        text = str(body.get("query") or "").strip().lower()
        found = []
        for record in self._store[kind].values():
            props = record["properties"]
            if record.get("archived") or not matches(props):
                continue
            if text and not any(text in str(props.get(p) or "").lower()
                                for p in DEFAULT_PROPERTIES[kind] + ("email", "domain", "name")):
                continue
            found.append(record)
        for sort in reversed(body.get("sorts") or []):
            name = sort if isinstance(sort, str) else sort.get("propertyName") if isinstance(sort, dict) else None
            if name not in self._defined[kind]:
                return self._invalid(f"Invalid input: cannot sort by unknown property {name!r}")
            descending = isinstance(sort, dict) and str(sort.get("direction", "")).upper() == "DESCENDING"
            found.sort(key=_by_property(name), reverse=descending)
        names = body.get("properties") or []
        query = [("properties", ",".join(str(n) for n in names))] if names else []
        page = found[after : after + limit]
        out: dict[str, Any] = {"total": len(found), "results": [self._render(kind, r, query) for r in page]}
        if after + limit < len(found):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return Response.of_json(200, out)

    def _definition(self, kind: str, name: str) -> PropertyDefinition:
        return self._custom.get((kind, name)) or builtin_definition(kind, name)

    def _list_properties(self, request: Request, object_type: str) -> Response:
        kind = self._kind(object_type)
        return Response.of_json(200, {"results": [self._definition(kind, n).render()
                                                  for n in sorted(self._defined[kind])]})

    def _get_property(self, request: Request, object_type: str, name: str) -> Response:
        kind = self._kind(object_type)
        if name not in self._defined[kind]:
            return self._err(404, f"Unable to find property {name} for object type {OBJECT_TYPE_IDS[kind]}",
                             "OBJECT_NOT_FOUND")
        return Response.of_json(200, self._definition(kind, name).render())

    def _create_property(self, request: Request, object_type: str) -> Response:
        kind = self._kind(object_type)
        body = self._json_body(request)
        if isinstance(body, Response):
            return body
        try:
            prop = PropertyDefinition.parse(body, created_at=iso8601(self.now()))
        except SearchError as exc:
            return self._invalid(str(exc))
        if prop.name in self._defined[kind]:
            return self._err(409, f"Property named '{prop.name}' already exists.", "OBJECT_ALREADY_EXISTS")
        self._custom[(kind, prop.name)] = prop
        self._defined[kind].add(prop.name)
        world = self.world
        if world is not None:
            world.record_write(self.name, "property", f"{kind}.{prop.name}", "create", prop.render())
        return Response.of_json(201, prop.render())

    def _assoc_v3(self, request: Request, object_type: str, object_id: str, to: str) -> Response:
        kind = self._kind(object_type)
        to_kind = _TYPES.get(to)
        if object_id not in self._store[kind]:
            return self._not_found(object_id)
        if to_kind is None:
            return self._invalid(f"Unknown object type: {to}")
        ids = self._links.get((kind, object_id, to_kind), ())
        return Response.of_json(
            200, {"results": [{"id": i, "type": f"{kind}_to_{to_kind}"} for i in ids]}
        )

    def _assoc_v4(self, request: Request, object_type: str, object_id: str, to: str) -> Response:
        kind = self._kind(object_type)
        to_kind = _TYPES.get(to)
        if object_id not in self._store[kind]:
            return self._not_found(object_id)
        if to_kind is None:
            return self._invalid(f"Unknown object type: {to}")
        type_id = ASSOCIATION_TYPE_IDS.get((kind, to_kind), 0)
        ids = self._links.get((kind, object_id, to_kind), ())
        return Response.of_json(
            200,
            {
                "results": [
                    {
                        "toObjectId": int(i),
                        "associationTypes": [
                            {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                        ],
                    }
                    for i in ids
                ]
            },
        )

    def _pair(self, object_type: str, object_id: str, to: str, to_id: str) -> tuple[str, str] | Response:
        kind = self._kind(object_type)
        to_kind = _TYPES.get(to)
        if to_kind is None:
            return self._invalid(f"Unknown object type: {to}")
        if object_id not in self._store[kind]:
            return self._not_found(object_id)
        if to_id not in self._store[to_kind]:
            return self._not_found(to_id)
        if (kind, to_kind) not in ASSOCIATION_TYPE_IDS:
            return self._invalid(f"{kind} to {to_kind} associations are not supported by this fake")
        return kind, to_kind

    def _assoc_default(self, request: Request, object_type: str, object_id: str, to: str,
                       to_id: str) -> Response:
        pair = self._pair(object_type, object_id, to, to_id)
        if isinstance(pair, Response):
            return pair
        kind, to_kind = pair
        at = iso8601(self.now())
        self._link(kind, object_id, to_kind, to_id)
        spec = {"associationCategory": "HUBSPOT_DEFINED",
                "associationTypeId": ASSOCIATION_TYPE_IDS[(kind, to_kind)]}
        return Response.of_json(200, {"status": "COMPLETE", "results": [
            {"from": {"id": object_id}, "to": {"id": to_id}, "associationSpec": spec}],
            "startedAt": at, "completedAt": iso8601(self.now())})

    def _assoc_labelled(self, request: Request, object_type: str, object_id: str, to: str,
                        to_id: str) -> Response:
        pair = self._pair(object_type, object_id, to, to_id)
        if isinstance(pair, Response):
            return pair
        kind, to_kind = pair
        try:
            specs = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            return self._invalid(f"Invalid input JSON on line 1: {exc}")
        expected = ASSOCIATION_TYPE_IDS[(kind, to_kind)]
        if (not isinstance(specs, list) or not specs or not all(isinstance(s, dict) for s in specs)
                or any(s.get("associationTypeId") != expected for s in specs)):
            return self._invalid(f"Invalid input: the body must be [{{\"associationCategory\": \"HUBSPOT_DEFINED\", "
                                 f"\"associationTypeId\": {expected}}}] for {kind} to {to_kind}")
        self._link(kind, object_id, to_kind, to_id)
        return Response.of_json(201, {"fromObjectTypeId": OBJECT_TYPE_IDS[kind], "fromObjectId": int(object_id),
                                      "toObjectTypeId": OBJECT_TYPE_IDS[to_kind], "toObjectId": int(to_id),
                                      "labels": []})

    def _assoc_delete(self, request: Request, object_type: str, object_id: str, to: str,
                      to_id: str) -> Response:
        pair = self._pair(object_type, object_id, to, to_id)
        if isinstance(pair, Response):
            return pair
        self._unlink(pair[0], object_id, pair[1], to_id)
        return Response(204)

    def _assoc_batch_create(self, request: Request, from_type: str, to_type: str) -> Response:
        kind, to_kind = self._kind(from_type), self._kind(to_type)
        body = self._json_body(request)
        if isinstance(body, Response):
            return body
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return self._invalid("Invalid input: 'inputs' must be a non-empty list")
        if (kind, to_kind) not in ASSOCIATION_TYPE_IDS:
            return self._invalid(f"{kind} to {to_kind} associations are not supported by this fake")
        pairs = []
        for item in inputs:
            a = str(((item or {}).get("from") or {}).get("id", "")) if isinstance(item, dict) else ""
            b = str(((item or {}).get("to") or {}).get("id", "")) if isinstance(item, dict) else ""
            if a not in self._store[kind] or b not in self._store[to_kind]:
                return self._invalid(f"Invalid input: {kind} {a!r} or {to_kind} {b!r} does not exist")
            pairs.append((a, b))
        at = iso8601(self.now())
        type_id = ASSOCIATION_TYPE_IDS[(kind, to_kind)]
        results = []
        for a, b in pairs:
            self._link(kind, a, to_kind, b)
            results.append({"fromObjectTypeId": OBJECT_TYPE_IDS[kind], "fromObjectId": int(a),
                            "toObjectTypeId": OBJECT_TYPE_IDS[to_kind], "toObjectId": int(b),
                            "labels": [], "associationTypeId": type_id})
        return Response.of_json(201, {"status": "COMPLETE", "results": results, "startedAt": at,
                                      "completedAt": iso8601(self.now())})

    def _assoc_batch_read(self, request: Request, from_type: str, to_type: str) -> Response:
        kind, to_kind = self._kind(from_type), self._kind(to_type)
        body = self._json_body(request)
        if isinstance(body, Response):
            return body
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            return self._invalid("Invalid input: 'inputs' must be a list of {\"id\": ...}")
        type_id = ASSOCIATION_TYPE_IDS.get((kind, to_kind), 0)
        results = []
        for item in inputs:
            oid = str(item.get("id", "")) if isinstance(item, dict) else ""
            ids = self._links.get((kind, oid, to_kind), ())
            if ids:
                results.append({"from": {"id": oid}, "to": [
                    {"toObjectId": int(i), "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]} for i in ids]})
        at = iso8601(self.now())
        return Response.of_json(200, {"status": "COMPLETE", "results": results, "startedAt": at,
                                      "completedAt": at})


def _sort_value(value: str | None) -> tuple[int, float, str]:
    """Sort key for a property value: missing last, numbers numerically, text by text."""
    if value is None or value == "":
        return (1, 0.0, "")
    try:
        return (0, float(value), "")
    except ValueError:
        return (0, float("inf"), value.lower())


def _by_property(name: str) -> Any:
    def key(record: Record) -> tuple[int, float, str]:
        return _sort_value(record["properties"].get(name))

    return key
