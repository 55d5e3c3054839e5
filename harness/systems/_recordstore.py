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
``Authorization`` header.  With ``idempotency=True`` a POST's first 2xx answer
is stored per ``Idempotency-Key`` and replayed (``Idempotent-Replayed: true``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness._wire import Request, Response
from harness.systems._base import FakeSystem, Record

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
    """

    name: str
    path: str
    required: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    unique: tuple[str, ...] = ()
    allow_unknown: bool = False
    id_prefix: str | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ValueError(
                f"Resource name must be lowercase letters, digits and '_': {self.name!r}"
            )
        if not self.path.startswith("/") or self.path.endswith("/"):
            raise ValueError(
                f"Resource {self.name!r}: 'path' must start with '/' and not end with '/': "
                f"{self.path!r}"
            )
        for fname, ftype in self.fields.items():
            if ftype not in FIELD_TYPES:
                raise ValueError(
                    f"Resource {self.name!r}: field {fname!r} has unknown type {ftype!r}; "
                    f"expected one of {', '.join(FIELD_TYPES)}"
                )
        if isinstance(self.required, str) or isinstance(self.unique, str):
            raise ValueError(
                f"Resource {self.name!r}: 'required' and 'unique' must be tuples of field names"
            )

    @property
    def prefix(self) -> str:
        return self.id_prefix if self.id_prefix is not None else self.name[:3] + "_"


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
    ) -> None:
        if not resources:
            raise ValueError(f"RecordStore {name!r}: declare at least one Resource")
        if not extra_hosts:
            raise ValueError(
                f"RecordStore {name!r}: give the hosts it serves, e.g. "
                "extra_hosts=('https://erp.internal',)"
            )
        names = [r.name for r in resources]
        if len(set(names)) != len(names):
            raise ValueError(f"RecordStore {name!r}: resource names repeat: {names}")
        self.name = name
        self.kinds = tuple(names)
        self.resources = tuple(resources)
        self.require_auth = require_auth
        self.idempotency = idempotency
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

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
            base = re.escape(res.path)
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
        key = request.header("Idempotency-Key") if self.idempotency and op == "create" else None
        if key is not None and key in self._keys:
            stored_path, stored_body, stored = self._keys[key]
            if stored_path != path or stored_body != request.body:
                return self._err(
                    409, "idempotency_conflict",
                    f"Idempotency-Key {key!r} was first used with another request",
                )
            return Response(stored.status, (*stored.headers, ("Idempotent-Replayed", "true")),
                            stored.body)
        response = getattr(self, "_" + op)(res, request, *match.groups())
        if key is not None and 200 <= response.status < 300:
            self._keys[key] = (path, request.body, response)
        return response

    # -- validation ---------------------------------------------------------------

    def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            return self._err(400, "invalid_json", f"the body is not valid JSON: {exc}")
        if not isinstance(body, dict):
            return self._err(400, "invalid_json",
                             f"the body must be a JSON object, got {type(body).__name__}")
        return body

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

    def _create(self, res: Resource, request: Request) -> Response:
        body = self._body(request)
        if isinstance(body, Response):
            return body
        problem = self._check(res, body, full=True)
        if problem is not None:
            return problem
        self._counters[res.name] += 1
        oid = f"{res.prefix}{self._counters[res.name]}"
        now = self.now()
        record: Record = {"id": oid, **body, "created_at": now, "updated_at": now}
        self._store_record(res.name, oid, record, "create")
        return Response.of_json(201, record, {"Location": f"{res.path}/{oid}"})

    def _list(self, res: Resource, request: Request) -> Response:
        query = dict(request.query)
        try:
            limit = int(query.pop("limit", "100"))
            offset = int(query.pop("offset", "0"))
        except ValueError:
            return self._err(400, "bad_request", "'limit' and 'offset' must be integers")
        rows = list(self._store[res.name].values())
        for name, value in query.items():
            if name not in res.fields and name != "id":
                return self._err(400, "bad_request", f"cannot filter {res.name} by {name!r}")
            rows = [r for r in rows if name in r and _as_text(r[name]) == value]
        page = rows[offset : offset + max(0, limit)]
        return Response.of_json(200, {"data": page, "has_more": offset + len(page) < len(rows)})

    def _read(self, res: Resource, request: Request, oid: str) -> Response:
        record = self._store[res.name].get(oid)
        if record is None:
            return self._err(404, "not_found", f"{res.name} {oid!r} not found")
        return Response.of_json(200, record)

    def _update(self, res: Resource, request: Request, oid: str, *, full: bool = False) -> Response:
        old = self._store[res.name].get(oid)
        if old is None:
            return self._err(404, "not_found", f"{res.name} {oid!r} not found")
        body = self._body(request)
        if isinstance(body, Response):
            return body
        problem = self._check(res, body, full=full, current_id=oid)
        if problem is not None:
            return problem
        base = {"id": oid, "created_at": old["created_at"]} if full else dict(old)
        record = {**base, **body, "updated_at": self.now()}
        self._store_record(res.name, oid, record, "replace" if full else "update")
        return Response.of_json(200, record)

    def _replace(self, res: Resource, request: Request, oid: str) -> Response:
        return self._update(res, request, oid, full=True)

    def _delete(self, res: Resource, request: Request, oid: str) -> Response:
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


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
