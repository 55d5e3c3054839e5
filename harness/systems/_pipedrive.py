"""A stateful fake of Pipedrive's API v1: organizations, persons, deals, activities, search, webhooks.

Served hosts: every ``*.pipedrive.com`` (``https://acme.pipedrive.com/api/v1/...``
and ``https://api.pipedrive.com/v1/...``).

* Authentication: the ``api_token`` query parameter (or ``x-api-token``
  header, or an OAuth ``Bearer`` token); without one, Pipedrive's 401
  ``{"success": false, "error": "unauthorized access", "errorCode": 401, ...}``.
* ``GET /{organizations|persons|deals|activities}`` (``start``/``limit``
  pagination, ``data: null`` for an empty page, as v1 answers), ``GET .../{id}``,
  ``POST`` (create), ``PUT .../{id}`` (update), ``DELETE .../{id}``; bodies as
  JSON or form-encoded; ``GET /{organizations|persons|deals}/search?term=``
  (``fields=``, ``exact_match=``; a term shorter than 2 characters is a 400).
* Every answer is ``{"success": true, "data": ..., "additional_data": ...}``;
  errors are ``{"success": false, "error": ..., "error_info": ..., "data": null,
  "additional_data": null}`` with the HTTP status.
* Deals carry ``person_id``/``org_id`` as the nested objects v1 returns
  (``{"value": 12, "name": ...}``); persons carry ``email``/``phone`` as lists of
  ``{"label", "value", "primary"}``.
* :meth:`Pipedrive.webhook_event` builds a v1 webhook (``current``,
  ``previous``, ``meta`` with ``action``, ``object``, ``id``, ``timestamp_micro``…,
  ``retry``, ``event``: ``updated.deal``) for a change made to a deal.

Not modelled: custom fields (40-character hash keys), filters, products,
notes, pipelines and stages beyond the seeded ids, v2 endpoints, rate-limit
token buckets (only :class:`FakeSystem`'s rate limit), search ranking.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from harness._shared.wire import Request, Response
from harness.errors import NotFoundError
from harness.systems._base import FakeSystem, Record
from harness.systems._descriptor import ID_NUMERIC, ErrorShape, RecordShape, SystemDescriptor

__all__ = ["Pipedrive"]

_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
_PLURAL = {"organizations": "organization", "persons": "person", "deals": "deal", "activities": "activity"}
_LABEL = {"organization": "Organization", "person": "Person", "deal": "Deal", "activity": "Activity"}
_STATUSES = ("open", "won", "lost", "deleted")
_ACTIVITY_TYPES = ("call", "meeting", "task", "deadline", "email", "lunch")
#: the seeded pipeline's stages (id -> name)
STAGES = {1: "Qualified", 2: "Contact Made", 3: "Demo Scheduled", 4: "Proposal Made", 5: "Negotiations Started"}
USER_ID = 9_876_543
COMPANY_ID = 1_234_567


def pipedrive_error_body(status: int, message: str | None) -> Any:
    """Pipedrive's v1 error body for ``status``."""
    default = {400: "Bad request", 401: "unauthorized access", 403: "You do not have permission",
               404: "Not found", 410: "Gone", 429: "Request over limit",
               500: "Internal server error"}.get(status, "Service unavailable" if status >= 500 else "Bad request")
    body: dict[str, Any] = {"success": False, "error": message or default, "error_info": _INFO,
                            "data": None, "additional_data": None}
    if status in (401, 429):
        body["errorCode"] = status
    return body


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


class _Invalid(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _int_or_none(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, Mapping):  # an echoed nested reference {"value": 12, ...}
        value = value.get("value")
    if isinstance(value, bool):
        raise _Invalid(f"{field} must be an integer, got {value!r}")
    try:
        return int(str(value))
    except ValueError:
        raise _Invalid(f"{field} must be an integer, got {value!r}") from None


def _contacts(value: Any, field: str) -> list[dict[str, Any]]:
    """``"a@x.com"``, ``["a@x.com"]`` or ``[{"value": ..., "primary": true}]`` -> Pipedrive's list."""
    if value in (None, "", []):
        return [{"value": "", "primary": True}]
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    for n, item in enumerate(items):
        if isinstance(item, Mapping):
            text = item.get("value")
            label = item.get("label") or "work"
            primary = bool(item.get("primary", n == 0))
        else:
            text, label, primary = item, "work", n == 0
        if not isinstance(text, str):
            raise _Invalid(f"{field} values must be strings, got {text!r}")
        out.append({"label": label, "value": text, "primary": primary})
    return out


class Pipedrive(FakeSystem):
    """Fake Pipedrive.  Kinds: ``organization``, ``person``, ``deal``, ``activity``."""

    name = "pipedrive"
    default_hosts = ("*.pipedrive.com",)
    kinds = ("organization", "person", "deal", "activity")
    descriptor = SystemDescriptor(
        name="pipedrive",
        hosts=("*.pipedrive.com",),
        base_url_env="PIPEDRIVE_BASE_URL",
        id_shapes=(ID_NUMERIC,),
        encoding="json",
        errors=ErrorShape(body=pipedrive_error_body, declined=400, invalid=400),
        idempotency=None,
        records=tuple(
            RecordShape(endpoint=f"GET {prefix}/{plural}/{{id}}", kind=kind, at="data",
                        system_fields=frozenset({"id", "add_time", "update_time", "creator_user_id",
                                                 "user_id", "owner_id", "company_id"}))
            for prefix in ("/v1", "/api/v1") for plural, kind in _PLURAL.items()
        ),
        docs="https://developers.pipedrive.com/docs/api/v1",
    )

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
        company_domain: str = "acme",
    ) -> None:
        self.company_domain = company_domain
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    # -- state ---------------------------------------------------------------

    def _init_state(self) -> None:
        super()._init_state()
        self._ids = dict.fromkeys(self.kinds, 1)
        self._events = random.Random(f"pipedrive-events:{self._seed}")
        # deal id -> the deal before the last change a webhook reported (a repeat reports it again)
        self._changed_from: dict[str, Record] = {}

    def _counter_state(self) -> Any:
        return dict(self._ids)

    def _restore_counters(self, state: Any) -> None:
        self._ids = dict(state)

    def _extra_state(self) -> Any:
        return self._events.getstate(), dict(self._changed_from)

    def _restore_extra(self, state: Any) -> None:
        events, changed = state
        self._events.setstate(events)
        self._changed_from = dict(changed)

    def _new_id(self, kind: str) -> int:
        value = self._ids[kind]
        self._ids[kind] = value + 1
        return value

    # -- the Python API used by seeding, triggers and tests ----------------------

    def add(self, kind: str, fields: Mapping[str, Any], *, created_at: float | None = None) -> int:
        """Create a record of ``kind`` without logging a write (seeding); returns its id."""
        with self._lock:
            record = self._build(kind, dict(fields), None, at=created_at)
            self.seed_record(kind, str(record["id"]), record)
            self._recount(record)
            return int(record["id"])

    def deal_ids(self, *, status: str | None = None) -> list[str]:
        """Ids of every deal (or those with ``status``), oldest first."""
        return [k for k, d in self._store["deal"].items() if status is None or d["status"] == status]

    def activities_for(self, deal_id: int | str) -> list[Mapping[str, Any]]:
        """The activities attached to a deal, oldest first."""
        return [a for a in self._store["activity"].values() if a["deal_id"] == int(deal_id)]

    def webhook_event(
        self,
        deal_id: int | str,
        changes: Mapping[str, Any] | None = None,
        *,
        retry: int = 0,
        rng: random.Random | None = None,
        apply: bool = True,
    ) -> dict[str, Any]:
        """A v1 ``updated.deal`` webhook for ``changes`` made to the deal (default: marked won).

        With ``apply`` (default) the change is made to the deal first, as the
        webhook reports a change that happened (no write is logged: it is a
        Pipedrive-side change).  The same change asked again (a redelivery
        with a new ``timestamp_micro``) reports the same ``previous``.
        :class:`~harness.errors.NotFoundError` (a ``KeyError``) names a deal that does not exist.
        """
        with self._lock:
            before = self._store["deal"].get(str(deal_id))
            if before is None:
                raise NotFoundError(f"pipedrive: no deal {deal_id!r}")
            change = dict(changes) if changes is not None else {"status": "won"}
            repeat = str(deal_id) in self._changed_from and all(before.get(k) == v for k, v in change.items())
            if repeat:
                after, before = before, self._changed_from[str(deal_id)]
            else:
                after = self._build("deal", change, before)
                if apply:
                    self.seed_record("deal", str(deal_id), after)
                    self._changed_from[str(deal_id)] = before
            source = rng if rng is not None else self._events
            now = self.now()
            micro = int(now * 1_000_000) + source.randrange(0, 1_000_000)
            meta = {
                "v": 1, "action": "updated", "object": "deal", "id": int(deal_id),
                "company_id": COMPANY_ID, "user_id": USER_ID,
                "host": f"{self.company_domain}.pipedrive.com", "timestamp": int(now),
                "timestamp_micro": micro, "permitted_user_ids": [USER_ID], "trans_pending": False,
                "is_bulk_update": False, "pipedrive_service_name": False, "change_source": "app",
                "matches_filters": {"current": []}, "webhook_id": str(100_000 + source.randrange(0, 900_000)),
                "webhook_owner_id": USER_ID,
            }
            return {"v": 1, "matches_filters": {"current": []}, "meta": meta,
                    "current": self._render("deal", after), "previous": self._render("deal", before),
                    "retry": int(retry), "event": "updated.deal"}

    # -- errors ----------------------------------------------------------------

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        headers: dict[str, str] = {"X-Correlation-Id": f"{self._rng.getrandbits(64):016x}"}
        if status == 429:
            wait = int(max(1, retry_after if retry_after is not None else 2))
            headers.update({"x-ratelimit-limit": "80", "x-ratelimit-remaining": "0",
                            "x-ratelimit-reset": str(wait), "Retry-After": str(wait)})
        elif retry_after is not None:
            headers["Retry-After"] = str(int(max(1, retry_after)))
        return Response.of_json(status, pipedrive_error_body(status, message), headers)

    # -- routing ---------------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        items = r"/v1/(organizations|persons|deals|activities)"
        return (
            ("GET", r"/v1/(organizations|persons|deals)/search", self._search),
            ("GET", items + r"/(\d+)", self._get),
            ("PUT", items + r"/(\d+)", self._update),
            ("PATCH", items + r"/(\d+)", self._update),
            ("DELETE", items + r"/(\d+)", self._delete),
            ("GET", items, self._list),
            ("POST", items, self._create),
            ("GET", r"/v1/deals/(\d+)/activities", self._deal_activities),
        )

    def _serve(self, request: Request, path: str) -> Response:
        if path.startswith("/api/v1/"):
            path = path[len("/api"):]
        query = dict(request.query)
        token = query.get("api_token") or request.header("x-api-token")
        scheme, _, bearer = (request.header("Authorization") or "").partition(" ")
        if not (token and token.strip()) and not (scheme.lower() == "bearer" and bearer.strip()):
            return Response.of_json(401, pipedrive_error_body(401, None))
        found = self._route(request, path)
        if found is False:
            return self.error_response(405, message=f"Method {request.method} is not allowed for {path}")
        if not isinstance(found, tuple):
            return self.error_response(404, message="Unknown method .")
        failure = self._scripted_failure(request, path)
        if failure is not None:
            return failure
        handler, match = found
        try:
            response: Response = handler(request, *match.groups())
        except _Invalid as exc:
            return self.error_response(exc.status, message=str(exc))
        return response

    def _ok(self, data: Any, additional: Any = None, status: int = 200) -> Response:
        body: dict[str, Any] = {"success": True, "data": data}
        if additional is not None:
            body["additional_data"] = additional
        return Response.of_json(status, body)

    def _fields(self, request: Request) -> dict[str, Any]:
        ctype = (request.header("Content-Type") or "").lower()
        if not request.body:
            return {}
        if "json" in ctype or request.body.lstrip()[:1] in (b"{", b"["):
            try:
                body = request.json()
            except (ValueError, UnicodeDecodeError) as exc:
                raise _Invalid(f"The request body is not valid JSON ({exc})") from None
            if not isinstance(body, dict):
                raise _Invalid("The request body must be a JSON object")
            return body
        try:
            pairs = request.form()
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Invalid(f"The request body is neither JSON nor form-encoded ({exc})") from None
        out: dict[str, Any] = {}
        for key, value in pairs:
            key = key[:-2] if key.endswith("[]") else key
            if key in out:
                out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
            else:
                out[key] = value
        return out

    # -- records ---------------------------------------------------------------

    def _build(self, kind: str, fields: dict[str, Any], existing: Record | None, *,
               at: float | None = None) -> Record:
        now = self.now() if at is None else at
        record: dict[str, Any] = dict(existing) if existing else {}
        build = {
            "organization": self._build_organization,
            "person": self._build_person,
            "deal": self._build_deal,
            "activity": self._build_activity,
        }.get(kind)
        if build is not None:
            build(fields, record, existing, now)
        if existing is None:
            oid = self._new_id(kind)
            record.update({"id": oid, "add_time": _when(now), "active_flag": True,
                           "visible_to": "3"})
            if kind == "deal":
                record["creator_user_id"] = USER_ID
                record["user_id"] = USER_ID
            if kind in ("organization", "person", "deal"):
                record["owner_id"] = USER_ID
            else:
                record["user_id"] = USER_ID
        record["update_time"] = _when(now)
        return record

    def _build_organization(
        self, fields: dict[str, Any], record: dict[str, Any], existing: Record | None, now: float
    ) -> None:
        """Set an organization's fields on ``record`` (``_Invalid`` for a bad one)."""
        name = fields.get("name", record.get("name"))
        if not isinstance(name, str) or not name.strip():
            raise _Invalid("Organization name must be given.")
        record.update({"name": name.strip()})
        if "address" in fields:
            record["address"] = fields["address"]
        record.setdefault("address", None)
        record.setdefault("people_count", 0)
        record.setdefault("open_deals_count", 0)

    def _build_person(
        self, fields: dict[str, Any], record: dict[str, Any], existing: Record | None, now: float
    ) -> None:
        """Set a person's fields on ``record`` (``_Invalid`` for a bad one)."""
        name = fields.get("name", record.get("name"))
        if not isinstance(name, str) or not name.strip():
            raise _Invalid("Person name must be given.")
        first, _, last = name.strip().partition(" ")
        record.update({"name": name.strip(), "first_name": first, "last_name": last or None})
        if "email" in fields or existing is None:
            emails = _contacts(fields.get("email"), "email")
            for e in emails:
                if e["value"] and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", e["value"]):
                    raise _Invalid(f"Invalid email address: {e['value']!r}")
            record["email"] = emails
            record["primary_email"] = next((e["value"] for e in emails if e["primary"]), "") or None
        if "phone" in fields or existing is None:
            record["phone"] = _contacts(fields.get("phone"), "phone")
        if "org_id" in fields or existing is None:
            record["org_id"] = self._ref("organization", fields.get("org_id"), "org_id")

    def _build_deal(
        self, fields: dict[str, Any], record: dict[str, Any], existing: Record | None, now: float
    ) -> None:
        """Set a deal's fields on ``record`` (``_Invalid`` for a bad one)."""
        title = fields.get("title", record.get("title"))
        if not isinstance(title, str) or not title.strip():
            raise _Invalid("Deal title must be given.")
        record["title"] = title.strip()
        if "value" in fields or existing is None:
            raw = fields.get("value", 0)
            try:
                value = float(raw) if raw not in (None, "") else 0.0
            except (TypeError, ValueError):
                raise _Invalid(f"value must be a number, got {raw!r}") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise _Invalid(f"value must be a finite number, got {raw!r}")
            record["value"] = int(value) if value.is_integer() else value
        if "currency" in fields or existing is None:
            currency = fields.get("currency") or "USD"
            if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
                raise _Invalid(f"currency must be a 3-letter ISO code, got {currency!r}")
            record["currency"] = currency
        if "status" in fields or existing is None:
            status = fields.get("status") or "open"
            if status not in _STATUSES:
                raise _Invalid(f"status must be one of {', '.join(_STATUSES)}, got {status!r}")
            if existing is not None and status == "won" and existing["status"] != "won":
                record["won_time"] = _when(now)
                record["close_time"] = _when(now)
            record["status"] = status
        if "stage_id" in fields or existing is None:
            stage = _int_or_none(fields.get("stage_id", 1), "stage_id") or 1
            if stage not in STAGES:
                raise _Invalid(f"Stage with ID {stage} not found", 400)
            record["stage_id"] = stage
        for ref, kind_ in (("person_id", "person"), ("org_id", "organization")):
            if ref in fields or existing is None:
                record[ref] = self._ref(kind_, fields.get(ref), ref)
        for key in ("expected_close_date", "lost_reason", "probability"):
            if key in fields or existing is None:
                record[key] = fields.get(key)
        record.setdefault("pipeline_id", 1)
        record.setdefault("won_time", None)
        record.setdefault("lost_time", None)
        record.setdefault("close_time", None)

    def _build_activity(
        self, fields: dict[str, Any], record: dict[str, Any], existing: Record | None, now: float
    ) -> None:
        """Set an activity's fields on ``record`` (``_Invalid`` for a bad one)."""
        subject = fields.get("subject", record.get("subject"))
        if not isinstance(subject, str) or not subject.strip():
            raise _Invalid("Activity subject must be given.")
        record["subject"] = subject.strip()
        if "type" in fields or existing is None:
            kind_type = fields.get("type") or "call"
            if kind_type not in _ACTIVITY_TYPES:
                raise _Invalid(f"Activity type {kind_type!r} does not exist; known: {', '.join(_ACTIVITY_TYPES)}")
            record["type"] = kind_type
        for ref, kind_ in (("deal_id", "deal"), ("person_id", "person"), ("org_id", "organization")):
            if ref in fields or existing is None:
                target = self._ref(kind_, fields.get(ref), ref)
                record[ref] = target
        for key in ("due_date", "due_time", "duration", "note"):
            if key in fields or existing is None:
                record[key] = fields.get(key) or None
        if "done" in fields or existing is None:
            record["done"] = str(fields.get("done", False)).lower() in ("1", "true")

    def _ref(self, kind: str, value: Any, field: str) -> int | None:
        oid = _int_or_none(value, field)
        if oid is not None and str(oid) not in self._store[kind]:
            raise _Invalid(f"{_LABEL[kind]} with ID {oid} not found" if kind != "organization"
                           else f"Organization with ID {oid} not found", 400)
        return oid

    def _render(self, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(record)
        if kind in ("deal", "person") and out.get("org_id") is not None:
            org = self._store["organization"].get(str(out["org_id"]))
            out["org_id"] = {"name": org["name"] if org else None, "people_count": org["people_count"] if org else 0,
                             "owner_id": USER_ID, "address": org["address"] if org else None,
                             "active_flag": True, "cc_email": f"{self.company_domain}@pipedrivemail.com",
                             "value": record["org_id"]}
            out["org_name"] = out["org_id"]["name"]
        if kind == "deal" and out.get("person_id") is not None:
            person = self._store["person"].get(str(out["person_id"]))
            out["person_id"] = {"active_flag": True, "name": person["name"] if person else None,
                                "email": person["email"] if person else [],
                                "phone": person["phone"] if person else [],
                                "owner_id": USER_ID, "value": record["person_id"]}
            out["person_name"] = out["person_id"]["name"]
            out["cc_email"] = f"{self.company_domain}+deal{record['id']}@pipedrivemail.com"
        if kind == "deal":
            out["formatted_value"] = f"{record['currency']} {record['value']:,}"
            out["stage_order_nr"] = record["stage_id"]
        return out

    # -- handlers --------------------------------------------------------------------

    def _get(self, request: Request, plural: str, object_id: str) -> Response:
        kind = _PLURAL[plural]
        record = self._store[kind].get(object_id)
        if record is None or not record.get("active_flag", True):
            return self.error_response(404, message=f"{_LABEL[kind]} not found")
        return self._ok(self._render(kind, record))

    def _page(self, request: Request) -> tuple[int, int]:
        query = dict(request.query)
        try:
            start = int(query.get("start", "0"))
            limit = int(query.get("limit", "100"))
        except ValueError:
            raise _Invalid(f"start and limit must be integers, got {query.get('start')!r}/{query.get('limit')!r}") from None
        if start < 0 or not 1 <= limit <= 500:
            raise _Invalid(f"limit must be between 1 and 500 and start >= 0, got start={start}, limit={limit}")
        return start, limit

    def _paged(self, kind: str, records: list[Record], request: Request) -> Response:
        start, limit = self._page(request)
        page = records[start : start + limit]
        more = start + limit < len(records)
        pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
        if more:
            pagination["next_start"] = start + limit
        # v1 answers data: null for an empty page
        return self._ok([self._render(kind, r) for r in page] or None, {"pagination": pagination})

    def _list(self, request: Request, plural: str) -> Response:
        kind = _PLURAL[plural]
        query = dict(request.query)
        records = [r for r in self._store[kind].values() if r.get("active_flag", True)]
        if kind == "deal":
            status = query.get("status", "all_not_deleted")
            if status != "all_not_deleted":
                records = [r for r in records if r["status"] == status]
            else:
                records = [r for r in records if r["status"] != "deleted"]
        for ref in ("deal_id", "person_id", "org_id"):
            if query.get(ref) and kind != "organization":
                records = [r for r in records if str(r.get(ref)) == query[ref]]
        return self._paged(kind, records, request)

    def _deal_activities(self, request: Request, deal_id: str) -> Response:
        if deal_id not in self._store["deal"]:
            return self.error_response(404, message="Deal not found")
        return self._paged("activity", [dict(a) for a in self.activities_for(deal_id)], request)

    def _create(self, request: Request, plural: str) -> Response:
        kind = _PLURAL[plural]
        record = self._build(kind, self._fields(request), None)
        self._store_record(kind, str(record["id"]), record, "create")
        self._recount(record)
        return self._ok(self._render(kind, record), status=201)

    def _update(self, request: Request, plural: str, object_id: str) -> Response:
        kind = _PLURAL[plural]
        existing = self._store[kind].get(object_id)
        if existing is None or not existing.get("active_flag", True):
            return self.error_response(404, message=f"{_LABEL[kind]} not found")
        record = self._build(kind, self._fields(request), existing)
        self._store_record(kind, object_id, record, "update")
        self._recount(record)
        return self._ok(self._render(kind, record))

    def _delete(self, request: Request, plural: str, object_id: str) -> Response:
        kind = _PLURAL[plural]
        existing = self._store[kind].get(object_id)
        if existing is None or not existing.get("active_flag", True):
            return self.error_response(404, message=f"{_LABEL[kind]} not found")
        gone = {**existing, "active_flag": False, "update_time": _when(self.now())}
        if kind == "deal":
            gone["status"] = "deleted"
        self._store_record(kind, object_id, gone, "delete")
        return self._ok({"id": int(object_id)})

    def _recount(self, record: Mapping[str, Any]) -> None:
        """Keep an organization's ``people_count``/``open_deals_count`` true (no write logged)."""
        org_id = record.get("org_id")
        org = self._store["organization"].get(str(org_id)) if org_id is not None else None
        if org is None:
            return
        people = sum(1 for p in self._store["person"].values() if p["org_id"] == org_id and p["active_flag"])
        deals = sum(1 for d in self._store["deal"].values()
                    if d["org_id"] == org_id and d["status"] == "open" and d["active_flag"])
        if (people, deals) != (org["people_count"], org["open_deals_count"]):
            self.seed_record("organization", str(org_id), {**org, "people_count": people, "open_deals_count": deals})

    def _search(self, request: Request, plural: str) -> Response:
        kind = _PLURAL[plural]
        query = dict(request.query)
        term = query.get("term", "").strip()
        exact = query.get("exact_match", "false").lower() == "true"
        if len(term) < (1 if exact else 2):
            raise _Invalid("Search term must be at least 2 characters long" if not exact
                           else "Search term must be given")
        fields = [f.strip() for f in query.get("fields", "").split(",") if f.strip()]
        default = {"organization": ["name", "address"], "person": ["name", "email", "phone"],
                   "deal": ["title"]}[kind]
        fields = fields or default
        low = term.lower()
        results = []
        for record in self._store[kind].values():
            if not record.get("active_flag", True) or (kind == "deal" and record["status"] == "deleted"):
                continue
            texts: list[str] = []
            for field in fields:
                value = record.get(field)
                if isinstance(value, list):
                    texts.extend(str(v.get("value", "")) for v in value if isinstance(v, Mapping))
                elif value is not None:
                    texts.append(str(value))
            hit = any(t.lower() == low for t in texts) if exact else any(low in t.lower() for t in texts)
            if hit:
                exact_hit = any(t.lower() == low for t in texts)
                results.append({"result_score": 1.0 if exact_hit else 0.5, "item": self._summary(kind, record)})
        start, limit = self._page(request)
        page = results[start : start + limit]
        pagination: dict[str, Any] = {"start": start, "limit": limit,
                                      "more_items_in_collection": start + limit < len(results)}
        return self._ok({"items": page}, {"pagination": pagination})

    def _summary(self, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        base: dict[str, Any] = {"id": record["id"], "type": kind}
        owner = {"id": USER_ID}
        if kind == "person":
            org = self._store["organization"].get(str(record["org_id"])) if record["org_id"] is not None else None
            base.update({"name": record["name"], "phones": [p["value"] for p in record["phone"] if p["value"]],
                         "emails": [e["value"] for e in record["email"] if e["value"]],
                         "visible_to": 3, "owner": owner,
                         "organization": {"id": org["id"], "name": org["name"], "address": org["address"]} if org else None,
                         "custom_fields": [], "notes": []})
        elif kind == "organization":
            base.update({"name": record["name"], "address": record["address"], "visible_to": 3,
                         "owner": owner, "custom_fields": [], "notes": []})
        else:
            person = self._store["person"].get(str(record["person_id"])) if record["person_id"] is not None else None
            org = self._store["organization"].get(str(record["org_id"])) if record["org_id"] is not None else None
            base.update({"title": record["title"], "value": record["value"], "currency": record["currency"],
                         "status": record["status"], "visible_to": 3, "owner": owner,
                         "stage": {"id": record["stage_id"], "name": STAGES[record["stage_id"]]},
                         "person": {"id": person["id"], "name": person["name"]} if person else None,
                         "organization": {"id": org["id"], "name": org["name"], "address": org["address"]} if org else None,
                         "custom_fields": [], "notes": []})
        return base
