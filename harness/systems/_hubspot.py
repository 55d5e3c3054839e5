"""A stateful fake of HubSpot's CRM API (v3 objects, v3 and v4 associations) and its webhooks.

Served paths (``api.hubapi.com`` and any configured base URL):

* ``GET /crm/v3/objects/{deals|contacts}/{id}`` with ``properties=`` (comma list
  or repeated) and ``associations=``; ``GET /crm/v3/objects/{type}`` (list with
  ``limit``/``after``); ``POST /crm/v3/objects/{type}``; ``PATCH .../{id}``;
* ``GET /crm/v3/objects/deals/{id}/associations/contacts`` and the v4 form.

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

from harness._wire import Request, Response
from harness.systems._base import FakeSystem, Record, iso8601
from harness.systems._descriptor import (
    ID_NUMERIC,
    ErrorShape,
    RecordShape,
    SystemDescriptor,
)

__all__ = ["HubSpot"]

_TYPES = {"deals": "deal", "contacts": "contact", "deal": "deal", "contact": "contact"}
_PLURAL = {"deal": "deals", "contact": "contacts"}
_MODIFIED = {"deal": "hs_lastmodifieddate", "contact": "lastmodifieddate"}

#: properties returned when the request names none (HubSpot's defaults)
DEFAULT_PROPERTIES = {
    "deal": (
        "amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate",
        "hs_object_id", "pipeline",
    ),
    "contact": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
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
}
_ALWAYS = {"deal": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
           "contact": ("createdate", "lastmodifieddate", "hs_object_id")}
#: association type ids (HUBSPOT_DEFINED) as documented for v4
ASSOCIATION_TYPE_IDS = {("deal", "contact"): 3, ("contact", "deal"): 4}

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
    base_url_env="HUBSPOT_BASE_URL",
    id_shapes=(ID_NUMERIC,),
    errors=ErrorShape(body=_error_body, declined=400, invalid=400, rejected_field=_rejected_field),
    records=(_OBJECT, _OBJECTS),
    docs="https://developers.hubspot.com/docs/api/crm/understanding-the-crm",
)


class HubSpot(FakeSystem):
    """Fake HubSpot CRM.  Kinds: ``deal``, ``contact``.

    Records are stored in the API's shape (``id``, ``properties``, ``createdAt``,
    ``updatedAt``, ``archived``); associations live beside them.
    """

    name = "hubspot"
    default_hosts = DESCRIPTOR.hosts
    kinds = ("deal", "contact")
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
        self._event_ids = random.Random(f"hubspot-events:{self._seed}")

    def _extra_state(self) -> Any:
        return (
            dict(self._links),
            dict(self._hidden),
            {k: set(v) for k, v in self._defined.items()},
            self._event_ids.getstate(),
        )

    def _restore_extra(self, state: Any) -> None:
        links, hidden, defined, events = state
        self._links, self._hidden = dict(links), dict(hidden)
        self._defined = {k: set(v) for k, v in defined.items()}
        self._event_ids.setstate(events)

    # -- the Python API used by seeding, triggers and chaos -----------------

    def add_object(
        self,
        object_type: str,
        properties: Mapping[str, str | None],
        *,
        object_id: str | None = None,
        created_at: float | None = None,
    ) -> str:
        """Create a deal or contact without logging a write (seeding); returns its id."""
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
        """Associate two objects both ways (deal <-> contact), without logging a write."""
        a, b = self._kind(from_type), self._kind(to_type)
        with self._lock:
            for kind, oid in ((a, from_id), (b, to_id)):
                if str(oid) not in self._store[kind]:
                    raise KeyError(f"hubspot: no {kind} {oid!r} to associate")
            for x, xid, y, yid in ((a, str(from_id), b, str(to_id)), (b, str(to_id), a, str(from_id))):
                current = self._links.get((x, xid, y), ())
                if yid not in current:
                    self._links[(x, xid, y)] = (*current, yid)

    def deal_ids(self) -> list[str]:
        """Ids of every deal, oldest first."""
        return list(self._store["deal"])

    def contact_ids(self) -> list[str]:
        return list(self._store["contact"])

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
        deal_id: str | int,
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
        """One webhook event in HubSpot's shape for a deal that exists in this fake.

        ``deal.propertyChange`` defaults to ``dealstage`` and the deal's current
        value; with ``apply`` (default) the change is made to the deal first, as
        the event reports a change that happened.  ``deal.creation`` carries no
        property.  ``occurredAt`` is epoch milliseconds from the world's clock.
        ``KeyError`` names the deal when it does not exist.
        """
        if subscription_type not in ("deal.propertyChange", "deal.creation", "deal.deletion"):
            raise ValueError(
                f"hubspot.webhook_event: unsupported subscription_type {subscription_type!r}; "
                "expected 'deal.propertyChange', 'deal.creation' or 'deal.deletion'"
            )
        with self._lock:
            deal = self._existing("deal", str(deal_id))
            source = rng if rng is not None else self._event_ids
            event: dict[str, Any] = {
                "eventId": int(event_id) if event_id is not None else source.randrange(10**8, 5 * 10**9),
                "subscriptionId": {"deal.propertyChange": 2345678, "deal.creation": 2345671,
                                   "deal.deletion": 2345672}[subscription_type],
                "portalId": self.portal_id,
                "appId": self.app_id,
                "occurredAt": int(occurred_at) if occurred_at is not None else int(self.now() * 1000),
                "subscriptionType": subscription_type,
                "attemptNumber": int(attempt_number),
                "objectId": int(deal["id"]),
            }
            if subscription_type == "deal.propertyChange":
                name = property_name or "dealstage"
                value = property_value if property_value is not None else deal["properties"].get(name)
                if apply and deal["properties"].get(name) != value:
                    self.set_property("deal", deal["id"], name, value)
                event["propertyName"] = name
                event["propertyValue"] = value
            else:
                event["changeFlag"] = "CREATED" if subscription_type == "deal.creation" else "DELETED"
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
        obj = r"/crm/v3/objects/(deals|contacts|deal|contact|0-3|0-1)"
        return (
            ("GET", obj + r"/([^/]+)/associations/([a-z_]+)", self._assoc_v3),
            ("GET", r"/crm/v4/objects/(deals|contacts|deal|contact|0-3|0-1)/([^/]+)/associations/([a-z_]+)",
             self._assoc_v4),
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
        kind = _TYPES.get(object_type) or {"0-3": "deal", "0-1": "contact"}.get(object_type)
        if kind is None:
            raise KeyError(
                f"hubspot: unknown object type {object_type!r}; expected 'deal' or 'contact'"
            )
        return kind

    def _existing(self, kind: str, object_id: str) -> Record:
        record = self._store[kind].get(str(object_id))
        if record is None:
            raise KeyError(
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
        for name, value in body["properties"].items():
            if name not in self._defined[kind]:
                bad.append({"isValid": False, "message": f'Property "{name}" does not exist',
                            "error": "PROPERTY_DOESNT_EXIST", "name": name})
                continue
            if isinstance(value, dict | list):
                bad.append({"isValid": False, "message": f"{value!r} is not a valid value",
                            "error": "INVALID_OPTION", "name": name})
                continue
            if isinstance(value, bool):
                out[name] = "true" if value else "false"
            else:
                out[name] = None if value is None else str(value)
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
        updated = {**record, "properties": new_props, "updatedAt": at}
        self._store_record(kind, object_id, updated, "update")
        return Response.of_json(200, {**updated, "properties": dict(sorted(new_props.items()))})

    def _create(self, request: Request, object_type: str) -> Response:
        kind = self._kind(object_type)
        props = self._body_properties(request, kind)
        if isinstance(props, Response):
            return props
        oid = str(self._numeric_id())
        at = iso8601(self.now())
        full = {**props, "createdate": props.get("createdate") or at, _MODIFIED[kind]: at,
                "hs_object_id": oid}
        record = {"id": oid, "properties": full, "createdAt": at, "updatedAt": at, "archived": False}
        self._store_record(kind, oid, record, "create")
        return Response.of_json(201, {**record, "properties": dict(sorted(full.items()))})

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
