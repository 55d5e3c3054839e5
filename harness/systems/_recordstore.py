"""A generic record-store fake for any REST system the harness has no vendor fake for.

Declare the resources, their fields and which are required; the store serves
JSON create / read / list / update / delete with validation errors, on the
hosts you give it::

    from harness.systems import RecordStore, Resource, World

    erp = RecordStore(
        "erp",
        [
            Resource(
                "order",
                "/api/v1/orders",
                required=("customer_email", "total"),
                fields={"customer_email": "email", "total": "float", "lines": "list",
                        "note": "str"},
                unique=("external_ref",),
            )
        ],
        extra_hosts=("https://erp.internal",),
    )
    world = World([erp])

    POST   /api/v1/orders           {"customer_email": "a@b.co", "total": 12.5}  -> 201 record
    GET    /api/v1/orders?total=12.5                                            -> 200 {"data": [...], "has_more": false}
    GET    /api/v1/orders/ord_1                                                  -> 200 record | 404
    PATCH  /api/v1/orders/ord_1     {"note": "gift"}                            -> 200 record
    PUT    /api/v1/orders/ord_1     full record (required fields again)         -> 200 record
    DELETE /api/v1/orders/ord_1                                                  -> 204

Errors are ``{"error": {"code", "message", "details": [{"field", "problem"}]}}``:
422 ``validation_failed`` (missing required field, wrong type, unknown field),
400 ``invalid_json``, 404 ``not_found``, 409 ``conflict`` (a ``unique`` field
already used), 401 ``unauthorized`` when ``require_auth`` and no
``Authorization`` header.  With ``idempotency=True`` (or a descriptor declaring
an idempotency header) a POST's first 2xx answer is stored per key and
replayed (``Idempotent-Replayed: true``).

Beyond plain JSON: form-encoded bodies (``a[b]`` keys nested, text read as each
field's type), ``where=Field=="value" AND ...`` filters on lists, list and
record envelopes (``{"Invoices": [...]}``, ``{"invoice": {...}}``) and nested
routes (``/customers/{customer_id}/orders``).  ``describe()`` answers the
store's :class:`~harness.systems.SystemDescriptor` (given or built from the
resources), so the engines find its ids, errors, records and idempotency.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from harness._shared.wire import Request, Response
from harness.errors import InvalidTypeError, InvalidValueError
from harness.systems._base import FakeSystem, Record
from harness.systems._descriptor import (
    DEFAULT_ID_SHAPES,
    ErrorShape,
    Idempotency,
    RecordShape,
    SystemDescriptor,
)

__all__ = ["FIELD_TYPES", "RecordStore", "Resource"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

FIELD_TYPES = ("any", "bool", "dict", "email", "float", "int", "list", "str")


@dataclass(frozen=True)
class Resource:
    """One collection of a :class:`RecordStore`.

    ``name`` is the record kind (``"order"``); ``path`` the collection path
    (``/api/v1/orders``); ``fields`` maps field names to a type from
    :data:`FIELD_TYPES`; ``required`` fields must be present and non-null on
    create and replace; ``unique`` fields may not repeat; unknown fields are a
    validation error unless ``allow_unknown``.  Ids are ``id_prefix`` plus a
    counter (default: the first three letters of ``name`` and ``_``).

    ``path`` may nest under a parent (``/customers/{customer_id}/orders``):
    each ``{name}`` segment is stored on the records created there and
    restricts lists and reads to them.  ``envelope`` is the key of a list's
    records (``"data"``; ``"Invoices"`` for ``{"Invoices": [...]}``) and
    ``wrap`` the key a single record comes under (``None``: the record itself;
    ``"invoice"`` for ``{"invoice": {...}}``), for requests and answers alike.
    """

    name: str
    path: str
    _: KW_ONLY
    required: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    unique: tuple[str, ...] = ()
    allow_unknown: bool = False
    id_prefix: str | None = None
    envelope: str = "data"
    wrap: str | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise InvalidValueError(
                f"Resource name must be lowercase letters, digits and '_': {self.name!r}"
            )
        if not self.path.startswith("/") or self.path.endswith("/"):
            raise InvalidValueError(
                f"Resource {self.name!r}: 'path' must start with '/' and not end with '/': "
                f"{self.path!r}"
            )
        for fname, ftype in self.fields.items():
            if ftype not in FIELD_TYPES:
                raise InvalidValueError(
                    f"Resource {self.name!r}: field {fname!r} has unknown type {ftype!r}; "
                    f"expected one of {', '.join(FIELD_TYPES)}"
                )
        if isinstance(self.required, str) or isinstance(self.unique, str):
            raise InvalidValueError(
                f"Resource {self.name!r}: 'required' and 'unique' must be tuples of field names"
            )

    @property
    def prefix(self) -> str:
        return self.id_prefix if self.id_prefix is not None else self.name[:3] + "_"

    @property
    def parents(self) -> tuple[str, ...]:
        """The names of the ``{name}`` segments of :attr:`path`, in order."""
        return tuple(re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", self.path))

    def pattern(self) -> str:
        """:attr:`path` as a regular expression, each ``{name}`` one captured segment."""
        parts = re.split(r"\{[A-Za-z_][A-Za-z0-9_]*\}", self.path)
        return "([^/]+)".join(re.escape(p) for p in parts)


class RecordStore(FakeSystem):
    """A generic JSON REST fake: see the module docstring for the example and errors."""

    def __init__(
        self,
        name: str,
        resources: Sequence[Resource],
        *,
        extra_hosts: Sequence[str] = (),
        require_auth: bool = False,
        idempotency: bool = False,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
        descriptor: SystemDescriptor | None = None,
    ) -> None:
        if descriptor is not None and not isinstance(descriptor, SystemDescriptor):
            raise InvalidTypeError(f"RecordStore {name!r}: 'descriptor' must be a SystemDescriptor, got {descriptor!r}")
        if not resources:
            raise InvalidValueError(f"RecordStore {name!r}: declare at least one Resource")
        if descriptor is not None and not extra_hosts:
            extra_hosts = descriptor.hosts
        if not extra_hosts:
            raise InvalidValueError(
                f"RecordStore {name!r}: give the hosts it serves, e.g. "
                "extra_hosts=('https://erp.internal',)"
            )
        names = [r.name for r in resources]
        if len(set(names)) != len(names):
            raise InvalidValueError(f"RecordStore {name!r}: resource names repeat: {names}")
        self.name = name
        self.kinds = tuple(names)
        self.resources = tuple(resources)
        self.require_auth = require_auth
        declared = descriptor.idempotency if descriptor is not None else None
        self.idempotency = idempotency or (declared is not None and declared.header is not None)
        self._key_header = declared.header if declared is not None and declared.header else "Idempotency-Key"
        self._descriptor = descriptor
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    def describe(self) -> SystemDescriptor:
        """The store's descriptor: the one it was given, completed from its resources.

        What the given descriptor leaves at its default is filled in: the
        store's hosts, its ids (each resource's prefix and a counter), its
        error body and the field a 422 blames, its ``Idempotency-Key`` (with
        ``idempotency=True``) and where its records are (single reads and
        lists, by resource).
        """
        cached: SystemDescriptor | None = self.__dict__.get("_built_descriptor")
        if cached is not None:
            return cached
        shapes: list[RecordShape] = []
        for res in self.resources:
            path = re.sub(r"\{[A-Za-z_][A-Za-z0-9_]*\}", "{id}", res.path)
            skip = frozenset({"id", "created_at", "updated_at", *res.parents})
            shapes.append(RecordShape(endpoint=f"GET {path}/{{id}}", kind=res.name, at=res.wrap or "",
                                      system_fields=skip))
            shapes.append(RecordShape(endpoint=f"GET {path}", kind=res.name, at=f"{res.envelope}[]",
                                      system_fields=skip))
        built = SystemDescriptor(
            name=self.name if re.fullmatch(r"[a-z][a-z0-9_]*", self.name) else "store",
            hosts=tuple(r.host for r in self.host_rules),
            id_shapes=(*(re.escape(r.prefix) + r"\d+" for r in self.resources), *DEFAULT_ID_SHAPES),
            errors=ErrorShape(body=_store_error_body, declined=422, invalid=422,
                              rejected_field=_store_rejected_field),
            idempotency=Idempotency(header=self._key_header, replay_header="Idempotent-Replayed")
            if self.idempotency else None,
            records=tuple(shapes),
        )
        given = self._descriptor
        if given is not None:
            built = dataclasses.replace(
                given,
                hosts=given.hosts or built.hosts,
                id_shapes=built.id_shapes if given.id_shapes == DEFAULT_ID_SHAPES else given.id_shapes,
                errors=built.errors if given.errors == ErrorShape() else given.errors,
                idempotency=given.idempotency or built.idempotency,
                records=given.records or built.records,
            )
        self.__dict__["_built_descriptor"] = built
        return built

    def _init_state(self) -> None:
        super()._init_state()
        self._counters = dict.fromkeys(self.kinds, 0)
        self._keys: dict[str, tuple[str, bytes, Response]] = {}

    def _counter_state(self) -> Any:
        return dict(self._counters)

    def _restore_counters(self, state: Any) -> None:
        self._counters = dict(state)

    def _extra_state(self) -> Any:
        return dict(self._keys)

    def _restore_extra(self, state: Any) -> None:
        self._keys = dict(state)

    # -- errors --------------------------------------------------------------

    def _err(self, status: int, code: str, message: str,
             details: Sequence[Mapping[str, str]] = (), headers: Mapping[str, str] | None = None) -> Response:
        error: dict[str, Any] = {"code": code, "message": message}
        if details:
            error["details"] = list(details)
        return Response.of_json(status, {"error": error}, headers)

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        codes = {400: "bad_request", 401: "unauthorized", 404: "not_found", 409: "conflict",
                 422: "validation_failed", 429: "rate_limited", 503: "unavailable"}
        headers = None
        if status == 429 or retry_after is not None:
            headers = {"Retry-After": str(int(max(1, retry_after if retry_after is not None else 1)))}
        return self._err(status, codes.get(status, "internal_error"),
                         message or ("internal error" if status >= 500 else "request failed"),
                         headers=headers)

    # -- routing ---------------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        table: list[tuple[str, str, Any]] = []
        for res in self.resources:
            base = res.pattern()
            table += [
                ("POST", base, (res, "create")),
                ("GET", base, (res, "list")),
                ("GET", base + r"/([^/]+)", (res, "read")),
                ("PATCH", base + r"/([^/]+)", (res, "update")),
                ("PUT", base + r"/([^/]+)", (res, "replace")),
                ("DELETE", base + r"/([^/]+)", (res, "delete")),
            ]
        return table

    def _serve(self, request: Request, path: str) -> Response:
        if self.require_auth and not request.header("Authorization"):
            return self._err(401, "unauthorized", "missing Authorization header")
        found = self._route(request, path)
        if found is False:
            return self._err(405, "method_not_allowed", f"{request.method} is not allowed on {path}")
        if not isinstance(found, tuple):
            known = ", ".join(r.path for r in self.resources)
            return self._err(404, "not_found", f"no resource at {path}; this store serves {known}")
        failure = self._scripted_failure(request, path)
        if failure is not None:
            return failure
        (res, op), match = found
        key = request.header(self._key_header) if self.idempotency and op == "create" else None
        if key is not None and key in self._keys:
            stored_path, stored_body, stored = self._keys[key]
            if stored_path != path or stored_body != request.body:
                return self._err(
                    409, "idempotency_conflict",
                    f"Idempotency-Key {key!r} was first used with another request",
                )
            return Response(stored.status, (*stored.headers, ("Idempotent-Replayed", "true")),
                            stored.body)
        groups = match.groups()
        parents = dict(zip(res.parents, groups[: len(res.parents)], strict=True))
        handler: Callable[..., Response] = getattr(self, "_" + op)
        response = handler(res, request, parents, *groups[len(res.parents) :])
        if key is not None and 200 <= response.status < 300:
            self._keys[key] = (path, request.body, response)
        return response

    # -- validation ---------------------------------------------------------------

    def _body(self, request: Request, res: Resource) -> dict[str, Any] | Response:
        """The request's record: JSON (unwrapped from ``res.wrap``) or form fields.

        A form body (``application/x-www-form-urlencoded``) nests ``a[b]`` keys
        and reads each declared field's text as its type (``"12.5"`` for a float).
        """
        ctype = (request.header("Content-Type") or "").lower()
        if "x-www-form-urlencoded" in ctype:
            return self._form(request, res)
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            return self._err(400, "invalid_json", f"the body is not valid JSON: {exc}")
        if res.wrap and isinstance(body, dict) and set(body) == {res.wrap}:
            body = body[res.wrap]
        if not isinstance(body, dict):
            return self._err(400, "invalid_json",
                             f"the body must be a JSON object, got {type(body).__name__}")
        return body

    def _form(self, request: Request, res: Resource) -> dict[str, Any] | Response:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._err(400, "bad_request", f"the form body is not UTF-8: {exc}")
        body: dict[str, Any] = {}
        for key, value in parse_qsl(text, keep_blank_values=True):
            parts = [p for p in re.split(r"[\[\]]+", key) if p] or [key]
            node = body
            for part in parts[:-1]:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
            node[parts[-1]] = _from_text(res.fields.get(parts[0], "str") if len(parts) == 1 else "str", value)
        return body

    def _out(self, res: Resource, record: Mapping[str, Any]) -> Any:
        return {res.wrap: dict(record)} if res.wrap else dict(record)

    def _check(self, res: Resource, body: Mapping[str, Any], *, full: bool,
               current_id: str | None = None) -> Response | None:
        problems: list[dict[str, str]] = []
        if full:
            for name in res.required:
                if body.get(name) is None:
                    problems.append({"field": name, "problem": "is required"})
        for name, value in body.items():
            if name == "id":
                problems.append({"field": "id", "problem": "is read-only"})
                continue
            ftype = res.fields.get(name)
            if ftype is None:
                if not res.allow_unknown:
                    problems.append({"field": name, "problem": "is not a field of " + res.name})
                continue
            if value is None:
                if name in res.required:
                    problems.append({"field": name, "problem": "is required and cannot be null"})
                continue
            if not _type_ok(ftype, value):
                problems.append({"field": name, "problem": f"must be of type {ftype}, got {value!r}"})
        if problems:
            summary = "; ".join(f"{p['field']} {p['problem']}" for p in problems)
            return self._err(422, "validation_failed", f"invalid {res.name}: {summary}", problems)
        for name in res.unique:
            value = body.get(name)
            if value is None:
                continue
            for other in self._store[res.name].values():
                if other.get(name) == value and other["id"] != current_id:
                    return self._err(
                        409, "conflict",
                        f"{res.name} {other['id']} already has {name}={value!r}",
                        [{"field": name, "problem": "must be unique"}],
                    )
        return None

    # -- operations ---------------------------------------------------------------

    def _create(self, res: Resource, request: Request, parents: Mapping[str, str]) -> Response:
        body = self._body(request, res)
        if isinstance(body, Response):
            return body
        problem = self._check(res, body, full=True)
        if problem is not None:
            return problem
        self._counters[res.name] += 1
        oid = f"{res.prefix}{self._counters[res.name]}"
        now = self.now()
        record: Record = {"id": oid, **body, **parents, "created_at": now, "updated_at": now}
        self._store_record(res.name, oid, record, "create")
        location = request.path.rstrip("/") + f"/{oid}"
        return Response.of_json(201, self._out(res, record), {"Location": location})

    def _mine(self, res: Resource, parents: Mapping[str, str], oid: str) -> Record | None:
        record = self._store[res.name].get(oid)
        if record is None or any(_as_text(record.get(k)) != v for k, v in parents.items()):
            return None
        return record

    def _list(self, res: Resource, request: Request, parents: Mapping[str, str]) -> Response:
        query = dict(request.query)
        try:
            limit = int(query.pop("limit", "100"))
            offset = int(query.pop("offset", "0"))
        except ValueError:
            return self._err(400, "bad_request", "'limit' and 'offset' must be integers")
        conditions = list(parents.items())
        where = query.pop("where", None)
        if where is not None:
            parsed = _parse_where(where)
            if isinstance(parsed, str):
                return self._err(400, "bad_request", f"where={where!r}: {parsed}")
            conditions += parsed
        conditions += list(query.items())
        rows = list(self._store[res.name].values())
        for name, value in conditions:
            if name not in res.fields and name != "id" and name not in res.parents:
                return self._err(400, "bad_request", f"cannot filter {res.name} by {name!r}")
            rows = [r for r in rows if name in r and _as_text(r[name]) == value]
        page = rows[offset : offset + max(0, limit)]
        return Response.of_json(
            200, {res.envelope: page, "has_more": offset + len(page) < len(rows)}
        )

    def _read(self, res: Resource, request: Request, parents: Mapping[str, str], oid: str) -> Response:
        record = self._mine(res, parents, oid)
        if record is None:
            return self._err(404, "not_found", f"{res.name} {oid!r} not found")
        return Response.of_json(200, self._out(res, record))

    def _update(
        self, res: Resource, request: Request, parents: Mapping[str, str], oid: str, *, full: bool = False
    ) -> Response:
        old = self._mine(res, parents, oid)
        if old is None:
            return self._err(404, "not_found", f"{res.name} {oid!r} not found")
        body = self._body(request, res)
        if isinstance(body, Response):
            return body
        problem = self._check(res, body, full=full, current_id=oid)
        if problem is not None:
            return problem
        base = {"id": oid, "created_at": old["created_at"], **parents} if full else dict(old)
        record = {**base, **body, "updated_at": self.now()}
        self._store_record(res.name, oid, record, "replace" if full else "update")
        return Response.of_json(200, self._out(res, record))

    def _replace(self, res: Resource, request: Request, parents: Mapping[str, str], oid: str) -> Response:
        return self._update(res, request, parents, oid, full=True)

    def _delete(self, res: Resource, request: Request, parents: Mapping[str, str], oid: str) -> Response:
        if self._mine(res, parents, oid) is None:
            return self._err(404, "not_found", f"{res.name} {oid!r} not found")
        old = self._store[res.name].pop(oid, None)
        if old is None:
            return self._err(404, "not_found", f"{res.name} {oid!r} not found")
        if self.world is not None:
            self.world.record_write(self.name, res.name, oid, "delete", old)
        return Response(204)


def _type_ok(ftype: str, value: Any) -> bool:
    if ftype == "any":
        return True
    if ftype == "bool":
        return isinstance(value, bool)
    if ftype == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if ftype == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if ftype == "str":
        return isinstance(value, str)
    if ftype == "email":
        return isinstance(value, str) and _EMAIL.fullmatch(value) is not None
    if ftype == "list":
        return isinstance(value, list)
    return isinstance(value, dict)


def _from_text(ftype: str, value: str) -> Any:
    """A form field's text read as its declared type (left as text when it does not parse)."""
    try:
        if ftype == "int":
            return int(value)
        if ftype == "float":
            return float(value)
    except ValueError:
        return value
    if ftype == "bool" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


_CONDITION = re.compile(r"""^\s*([A-Za-z_][A-Za-z0-9_]*)\s*==\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))\s*$""")


def _parse_where(text: str) -> list[tuple[str, str]] | str:
    """``Status=="PAID" AND Total==12.5`` (``&&`` too) -> ``[("Status", "PAID"), ("Total", "12.5")]``;
    a string saying what is wrong otherwise."""
    out = []
    for part in re.split(r"\s+AND\s+|\s*&&\s*", text.strip(), flags=re.IGNORECASE):
        m = _CONDITION.match(part)
        if m is None:
            return f"cannot read {part!r}; expected FIELD==\"value\" joined by AND"
        value = next(g for g in m.groups()[1:] if g is not None)
        if value.lower() in ("true", "false"):
            value = value.lower()
        out.append((m.group(1), value))
    return out


def _store_error_body(status: int, message: str | None) -> dict[str, Any]:
    """The store's error body: ``{"error": {"code", "message"}}``."""
    codes = {400: "bad_request", 401: "unauthorized", 404: "not_found", 409: "conflict",
             422: "validation_failed", 429: "rate_limited", 503: "unavailable"}
    text = message or ("internal error" if status >= 500 else "request failed")
    return {"error": {"code": codes.get(status, "internal_error"), "message": text}}


def _store_rejected_field(body: Any) -> str | None:
    """The fields a 422 ``validation_failed`` lists under ``error.details[].field``."""
    err = body.get("error") if isinstance(body, Mapping) else None
    details = err.get("details") if isinstance(err, Mapping) else None
    if isinstance(details, list):
        names = sorted({str(d["field"]) for d in details if isinstance(d, Mapping) and d.get("field")})
        return ", ".join(names) or None
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
