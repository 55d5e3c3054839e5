"""A stateful fake of Intercom's REST API: contacts, companies, conversations, webhooks.

Serves ``api.intercom.io`` (and the ``api.eu.`` / ``api.au.`` regional hosts):

* ``POST /contacts``, ``GET``/``PUT /contacts/{id}``, ``POST /contacts/search``
  (``{"query": {"field", "operator", "value"}}`` or nested ``AND``/``OR``;
  operators ``= != IN NIN > < ~ !~ ^ $``; ``pagination.per_page``/``starting_after``),
  ``POST /contacts/{id}/companies`` (attach);
* ``POST /companies`` (create or update by ``company_id``), ``GET /companies/{id}``,
  ``GET /companies?company_id=``;
* ``POST /conversations`` (a contact starts one), ``GET /conversations/{id}``,
  ``POST /conversations/{id}/reply`` (admin or user; ``comment`` or ``note``),
  ``POST /conversations/{id}/parts`` (``close``, ``open``, ``assignment``, ``snoozed``);
* ``GET /admins``, ``GET /me``.

As Intercom does: ``Authorization: Bearer`` (``401`` ``unauthorized``
otherwise), an ``Intercom-Version`` header checked against the published
versions (``intercom_version_invalid``), errors as ``{"type": "error.list",
"request_id", "errors": [{"code", "message"}]}``: ``conflict`` (409, a contact
with that email or external id exists), ``parameter_invalid`` and
``parameter_not_found`` (400), ``not_found`` (404), ``rate_limit_exceeded``
(429 with ``X-RateLimit-Limit``/``-Remaining``/``-Reset``; Intercom sends no
``Retry-After``).  Bodies are HTML (``<p>text</p>``) as Intercom stores them.

Not modelled: the search index's lag (a new contact is searchable at once; on
Intercom it takes a moment), data attributes definitions, tags, notes,
segments, tickets, articles, scroll and cursor limits beyond one page size.
"""

from __future__ import annotations

import html
import re
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness._shared.wire import Request, Response
from harness.systems._base import FakeSystem, Record
from harness.systems._descriptor import (
    ID_HEX,
    ID_NUMERIC,
    ErrorShape,
    RecordShape,
    SystemDescriptor,
)
from harness.systems._intercom_query import check_query, matches

__all__ = ["Intercom"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_VERSIONS = frozenset({"1.0", "1.1", "1.2", "1.3", "1.4", *(f"2.{i}" for i in range(15)),
                       "Unstable"})
_CODES = {400: ("parameter_invalid", "Invalid parameters"),
          401: ("unauthorized", "Access Token Invalid"),
          403: ("forbidden", "You do not have permission to access this resource"),
          404: ("not_found", "Resource Not Found"),
          409: ("conflict", "A resource with those details already exists"),
          422: ("parameter_invalid", "Invalid parameters"),
          429: ("rate_limit_exceeded", "You have exceeded the rate limit. Please try again later."),
          500: ("server_error", "Server Error"),
          503: ("service_unavailable", "Sorry, the API service is temporarily unavailable")}
_CONTACT_FIELDS = ("email", "external_id", "phone", "name", "avatar", "signed_up_at",
                   "last_seen_at", "owner_id", "unsubscribed_from_emails", "language_override")
_SYSTEM = frozenset({"type", "id", "workspace_id", "created_at", "updated_at", "email_domain",
                     "tags", "notes", "companies", "location", "social_profiles"})


def _error_body(status: int, message: str | None, code: str | None = None) -> dict[str, Any]:
    default_code, default_message = _CODES.get(
        status, ("server_error", "Server Error") if status >= 500 else ("parameter_invalid",
                                                                       "Invalid parameters"))
    return {"type": "error.list", "request_id": f"000{status}harnessfake",
            "errors": [{"code": code or default_code, "message": message or default_message}]}


def _rejected_field(body: Any) -> str | None:
    if isinstance(body, Mapping) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, Mapping) and first.get("field"):
            return str(first["field"])
    return None


class _Fail(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def _as_html(text: str) -> str:
    if text.lstrip().startswith("<"):
        return text
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n") if line.strip()) or "<p></p>"


class Intercom(FakeSystem):
    """Fake Intercom.  Kinds: ``contact``, ``company``, ``conversation``, ``reply``, ``admin``.

    A ``reply`` is the conversation part a ``/reply`` call makes (a comment or a
    note, with its ``conversation_id``): replying twice makes two, as it
    shows the customer two messages.
    """

    name = "intercom"
    default_hosts = ("api.intercom.io", "api.eu.intercom.io", "api.au.intercom.io")
    kinds = ("contact", "company", "conversation", "reply", "admin")
    descriptor = SystemDescriptor(
        name="intercom",
        hosts=("api.intercom.io", "api.eu.intercom.io", "api.au.intercom.io"),
        base_url_env="INTERCOM_BASE_URL",
        id_shapes=(ID_HEX, ID_NUMERIC),
        encoding="json",
        errors=ErrorShape(body=_error_body, declined=400, invalid=400,
                          rejected_field=_rejected_field),
        idempotency=None,
        records=(
            RecordShape(endpoint="POST /contacts", kind="contact", system_fields=_SYSTEM),
            RecordShape(endpoint="GET /contacts/{id}", kind="contact", system_fields=_SYSTEM),
            RecordShape(endpoint="PUT /contacts/{id}", kind="contact", system_fields=_SYSTEM),
            RecordShape(endpoint="POST /contacts/search", kind="contact", at="data[]",
                        system_fields=_SYSTEM),
            RecordShape(endpoint="POST /companies", kind="company", system_fields=_SYSTEM),
            RecordShape(endpoint="GET /companies/{id}", kind="company", system_fields=_SYSTEM),
            RecordShape(endpoint="GET /conversations/{id}", kind="conversation",
                        system_fields=_SYSTEM | {"source", "conversation_parts", "statistics"}),
        ),
        docs="https://developers.intercom.com/docs/references/rest-api/api.intercom.io",
    )

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    # -- state --------------------------------------------------------------------

    def _init_state(self) -> None:
        super()._init_state()
        self.workspace_id = "".join(self._rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=8))
        self.app_id = self.workspace_id
        self._next_id = 10_000_000_001 + self._rng.randrange(0, 10**6) * 100
        self._next_part = 20_000_000_001
        self._hex_counter = self._rng.getrandbits(64)

    def _counter_state(self) -> Any:
        return self._next_id, self._next_part, self._hex_counter

    def _restore_counters(self, state: Any) -> None:
        self._next_id, self._next_part, self._hex_counter = state

    def _hex_id(self) -> str:
        # Intercom's contact and company ids are 24-hex ObjectIds: a timestamp, then a counter
        self._hex_counter += 1
        return f"{int(self.now()) & 0xFFFFFFFF:08x}{self._hex_counter & (2**64 - 1):016x}"

    # -- seeding ------------------------------------------------------------------

    def add_admin(self, name: str, email: str) -> Mapping[str, Any]:
        """Add a teammate who can reply and close (no write logged)."""
        with self._lock:
            aid = str(self._numeric_id())
            admin: Record = {"type": "admin", "id": aid, "name": name, "email": email,
                             "job_title": None, "away_mode_enabled": False,
                             "away_mode_reassign": False, "has_inbox_seat": True,
                             "team_ids": [], "avatar": None, "email_verified": True}
            self._store["admin"][aid] = admin
            return admin

    def add_contact(self, name: str, email: str, *, external_id: str | None = None,
                    created: float | None = None) -> Mapping[str, Any]:
        """Add a user contact (no write logged)."""
        with self._lock:
            contact = self._contact_object({"role": "user", "name": name, "email": email,
                                            "external_id": external_id}, created)
            self._store["contact"][contact["id"]] = contact
            return contact

    def add_company(self, company_id: str, name: str, *, plan: str | None = None,
                    created: float | None = None) -> Mapping[str, Any]:
        """Add a company (no write logged)."""
        with self._lock:
            company = self._company_object({"company_id": company_id, "name": name,
                                            "plan": plan}, created)
            self._store["company"][company["id"]] = company
            return company

    def add_conversation(self, contact_id: str, body: str, *, created: float | None = None
                         ) -> Mapping[str, Any]:
        """A conversation the contact started (no write logged)."""
        with self._lock:
            conversation = self._conversation_object(self._store["contact"][contact_id], body,
                                                     created)
            self._store["conversation"][conversation["id"]] = conversation
            return conversation

    # -- objects --------------------------------------------------------------------

    def _list_stub(self, url: str) -> Record:
        return {"type": "list", "data": [], "url": url, "total_count": 0, "has_more": False}

    def _contact_object(self, data: Mapping[str, Any], created: float | None) -> Record:
        cid = self._hex_id()
        at = int(self.now() if created is None else created)
        email = data.get("email")
        contact: Record = {
            "type": "contact", "id": cid, "workspace_id": self.workspace_id,
            "external_id": data.get("external_id"), "role": data.get("role") or "user",
            "email": email, "email_domain": email.split("@")[-1] if isinstance(email, str) and
            "@" in email else None, "phone": data.get("phone"), "name": data.get("name"),
            "avatar": data.get("avatar"), "owner_id": data.get("owner_id"),
            "social_profiles": {"type": "list", "data": []}, "has_hard_bounced": False,
            "marked_email_as_spam": False,
            "unsubscribed_from_emails": bool(data.get("unsubscribed_from_emails", False)),
            "created_at": at, "updated_at": at, "signed_up_at": data.get("signed_up_at"),
            "last_seen_at": data.get("last_seen_at"), "last_replied_at": None,
            "last_contacted_at": None, "last_email_opened_at": None,
            "last_email_clicked_at": None, "language_override": data.get("language_override"),
            "browser": None, "browser_version": None, "browser_language": None, "os": None,
            "location": {"type": "location", "country": None, "region": None, "city": None,
                         "country_code": None, "continent_code": None},
            "custom_attributes": dict(data.get("custom_attributes") or {}),
            "tags": self._list_stub(f"/contacts/{cid}/tags"),
            "notes": self._list_stub(f"/contacts/{cid}/notes"),
            "companies": self._list_stub(f"/contacts/{cid}/companies"),
        }
        return contact

    def _company_object(self, data: Mapping[str, Any], created: float | None) -> Record:
        at = int(self.now() if created is None else created)
        plan = data.get("plan")
        return {
            "type": "company", "company_id": str(data["company_id"]), "id": self._hex_id(),
            "app_id": self.app_id, "name": data.get("name"), "remote_created_at":
            data.get("remote_created_at"), "created_at": at, "updated_at": at,
            "last_request_at": None, "size": data.get("size") or 0,
            "website": data.get("website"), "industry": data.get("industry"),
            "monthly_spend": data.get("monthly_spend") or 0, "session_count": 0, "user_count": 0,
            "plan": {"type": "plan", "id": str(zlib.crc32(str(plan).encode()) % 10**6), "name": plan}
            if plan else {},
            "tags": {"type": "tag.list", "tags": []},
            "segments": {"type": "segment.list", "segments": []},
            "custom_attributes": dict(data.get("custom_attributes") or {}),
        }

    def _author(self, kind: str, record: Mapping[str, Any]) -> Record:
        return {"type": kind, "id": record["id"], "name": record.get("name"),
                "email": record.get("email") or ""}

    def _part(self, part_type: str, author: Record, body: str | None, at: int,
              assigned_to: Record | None = None) -> Record:
        pid = str(self._next_part)
        self._next_part += 1
        return {"type": "conversation_part", "id": pid, "part_type": part_type,
                "body": _as_html(body) if body else None, "created_at": at, "updated_at": at,
                "notified_at": at, "assigned_to": assigned_to, "author": author,
                "attachments": [], "external_id": None, "redacted": False}

    def _conversation_object(self, contact: Mapping[str, Any], body: str,
                             created: float | None) -> Record:
        conv_id = str(self._numeric_id())
        at = int(self.now() if created is None else created)
        return {
            "type": "conversation", "id": conv_id, "title": None, "created_at": at,
            "updated_at": at, "waiting_since": at, "snoozed_until": None, "open": True,
            "state": "open", "read": False, "priority": "not_priority",
            "admin_assignee_id": None, "team_assignee_id": None,
            "tags": {"type": "tag.list", "tags": []}, "conversation_rating": None,
            "source": {"type": "conversation", "id": str(self._next_part),
                       "delivered_as": "customer_initiated", "subject": "",
                       "body": _as_html(body), "author": self._author("user", contact),
                       "attachments": [], "url": None, "redacted": False},
            "contacts": {"type": "contact.list", "contacts": [
                {"type": "contact", "id": contact["id"], "external_id": contact.get("external_id")}]},
            "teammates": {"type": "admin.list", "admins": []},
            "custom_attributes": {}, "first_contact_reply": {"created_at": at, "type":
                                                             "conversation", "url": None},
            "sla_applied": None, "statistics": None,
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [],
                                   "total_count": 0},
        }

    # -- inspection ---------------------------------------------------------------------

    def conversation_ids(self) -> list[str]:
        """Every conversation id, oldest first."""
        return list(self._store["conversation"])

    def admins(self) -> list[Mapping[str, Any]]:
        """The workspace's teammates, in seeding order."""
        return list(self._store["admin"].values())

    def webhook_event(self, conversation_id: str, *, topic: str = "conversation.user.created",
                      rng: Any = None) -> dict[str, Any]:
        """Intercom's notification for ``conversation_id``: the envelope Intercom POSTs.

        ``{"type": "notification_event", "topic", "id": "notif_…", "app_id",
        "data": {"type": "notification_event_data", "item": conversation},
        "delivery_attempts": 1, ...}``; Intercom's own retry resends it with the
        same ``id`` and ``delivery_attempts`` incremented.
        """
        conversation = self._store["conversation"][str(conversation_id)]
        rand = rng.getrandbits if rng is not None else self._rng.getrandbits
        at = int(conversation["created_at"])
        return {
            "type": "notification_event", "app_id": self.app_id,
            "data": {"type": "notification_event_data", "item": _deep(conversation)},
            "links": {}, "id": f"notif_{uuid.UUID(int=rand(128), version=4)}",
            "topic": topic, "delivery_status": "pending", "delivery_attempts": 1,
            "delivered_at": 0, "first_sent_at": at, "created_at": at, "self": None,
        }

    # -- errors ------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        reset = int(self.now()) // 10 * 10 + 10
        return {"X-RateLimit-Limit": "10000", "X-RateLimit-Remaining": "9999",
                "X-RateLimit-Reset": str(reset), "X-Request-Id": f"{self._next_part:x}",
                "Intercom-Version": "2.11"}

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        headers = self._headers()
        if status == 429:
            wait = retry_after if retry_after is not None else 10
            # Intercom says when the window resets, never Retry-After
            headers.update({"X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": str(int(self.now() + max(1, wait)))})
        return Response.of_json(status, _error_body(status, message), headers)

    def _fail(self, fail: _Fail) -> Response:
        body = _error_body(fail.status, fail.message, fail.code)
        if fail.field:
            body["errors"][0]["field"] = fail.field
        return Response.of_json(fail.status, body, self._headers())

    # -- routing -------------------------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        return (
            ("GET", r"/me", self._me),
            ("GET", r"/admins", self._list_admins),
            ("POST", r"/contacts", self._create_contact),
            ("POST", r"/contacts/search", self._search_contacts),
            ("GET", r"/contacts/([0-9a-f]+)", self._get_contact),
            ("PUT", r"/contacts/([0-9a-f]+)", self._update_contact),
            ("POST", r"/contacts/([0-9a-f]+)/companies", self._attach_company),
            ("POST", r"/companies", self._upsert_company),
            ("GET", r"/companies", self._find_company),
            ("GET", r"/companies/([0-9a-f]+)", self._get_company),
            ("POST", r"/conversations", self._create_conversation),
            ("GET", r"/conversations/(\d+)", self._get_conversation),
            ("POST", r"/conversations/(\d+)/reply", self._reply),
            ("POST", r"/conversations/(\d+)/parts", self._manage),
        )

    def _serve(self, request: Request, path: str) -> Response:
        path = path.rstrip("/") or "/"
        auth = request.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._fail(_Fail(401, "unauthorized", "Access Token Invalid"))
        version = request.header("Intercom-Version")
        if version is not None and version.strip() not in _VERSIONS:
            return self._fail(_Fail(400, "intercom_version_invalid",
                                    "The requested version could not be found"))
        found = self._route(request, path)
        if not isinstance(found, tuple):
            return self._fail(_Fail(404, "not_found", "Resource Not Found"))
        failure = self._scripted_failure(request, path)
        if failure is not None:
            return failure
        handler, match = found
        try:
            status, payload = handler(request, *match.groups())
        except _Fail as fail:
            return self._fail(fail)
        return Response.of_json(status, payload, self._headers())

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = request.json() if request.body else {}
        except (ValueError, UnicodeDecodeError):
            raise _Fail(400, "parameter_invalid", "The request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _Fail(400, "parameter_invalid", "The request body must be a JSON object")
        return body

    # -- admins -------------------------------------------------------------------------

    def _me(self, request: Request) -> tuple[int, Any]:
        admins = self.admins()
        me: dict[str, Any] = dict(admins[0]) if admins else {"type": "admin", "id": "0", "name": "API",
                                               "email": "api@intercom.invalid"}
        me["app"] = {"type": "app", "id_code": self.app_id, "name": "Acme", "region": "US",
                     "timezone": "Etc/UTC", "identity_verification": False}
        return 200, me

    def _list_admins(self, request: Request) -> tuple[int, Any]:
        return 200, {"type": "admin.list", "admins": self.admins()}

    # -- contacts -----------------------------------------------------------------------

    def _check_contact(self, data: Mapping[str, Any], *, exclude: str | None = None) -> None:
        email = data.get("email")
        if email is not None and (not isinstance(email, str) or _EMAIL.fullmatch(email) is None):
            raise _Fail(400, "parameter_invalid", f"Invalid email: {email!r}", "email")
        role = data.get("role", "user")
        if role not in ("user", "lead"):
            raise _Fail(400, "parameter_invalid", f"Role must be one of user, lead: {role!r}",
                        "role")
        for key, value in (("email", email), ("external_id", data.get("external_id"))):
            if value is None:
                continue
            for other in self._store["contact"].values():
                if (other["id"] != exclude and other["role"] == "user" and role == "user"
                        and other.get(key) is not None
                        and str(other[key]).lower() == str(value).lower()):
                    raise _Fail(409, "conflict", "A contact matching those details already "
                                f"exists with id={other['id']}")

    def _create_contact(self, request: Request) -> tuple[int, Any]:
        data = self._body(request)
        role = data.get("role", "user")
        if role == "user" and not data.get("email") and not data.get("external_id"):
            raise _Fail(400, "parameter_invalid", "A user contact requires an email or an "
                        "external_id", "email")
        self._check_contact(data)
        contact = self._contact_object(data, None)
        self._store_record("contact", contact["id"], contact, "create")
        return 200, contact

    def _contact(self, cid: str) -> Record:
        contact = self._store["contact"].get(cid)
        if contact is None:
            raise _Fail(404, "not_found", "User Not Found")
        return contact

    def _get_contact(self, request: Request, cid: str) -> tuple[int, Any]:
        return 200, self._contact(cid)

    def _update_contact(self, request: Request, cid: str) -> tuple[int, Any]:
        old = self._contact(cid)
        data = self._body(request)
        self._check_contact({"role": old["role"], **data}, exclude=cid)
        contact = dict(old)
        for key in (*_CONTACT_FIELDS, "role"):
            if key in data:
                contact[key] = data[key]
        if "custom_attributes" in data:
            if not isinstance(data["custom_attributes"], dict):
                raise _Fail(400, "parameter_invalid", "custom_attributes must be an object",
                            "custom_attributes")
            contact["custom_attributes"] = {**old["custom_attributes"], **data["custom_attributes"]}
        if isinstance(contact.get("email"), str) and "@" in contact["email"]:
            contact["email_domain"] = contact["email"].split("@")[-1]
        contact["updated_at"] = int(self.now())
        self._store_record("contact", cid, contact, "update")
        return 200, contact

    def _search_contacts(self, request: Request) -> tuple[int, Any]:
        data = self._body(request)
        if "query" not in data:
            raise _Fail(400, "parameter_not_found", "query parameter is required", "query")
        try:
            check_query(data["query"])
        except ValueError as exc:
            raise _Fail(400, "parameter_invalid", str(exc), "query") from None
        rows = [c for c in self._store["contact"].values() if matches(c, data["query"])]
        pagination = data.get("pagination") or {}
        try:
            per_page = int(pagination.get("per_page", 50))
        except (TypeError, ValueError):
            raise _Fail(400, "parameter_invalid", "per_page must be an integer", "per_page") from None
        if not 1 <= per_page <= 150:
            raise _Fail(400, "parameter_invalid", "per_page must be between 1 and 150", "per_page")
        start = 0
        after = pagination.get("starting_after")
        if after:
            ids = [c["id"] for c in rows]
            if after not in ids:
                raise _Fail(400, "parameter_invalid", "starting_after is not valid",
                            "starting_after")
            start = ids.index(after) + 1
        chunk = rows[start : start + per_page]
        total_pages = max(1, -(-len(rows) // per_page))
        pages: Record = {"type": "pages", "page": start // per_page + 1, "per_page": per_page,
                         "total_pages": total_pages}
        if start + per_page < len(rows):
            pages["next"] = {"page": pages["page"] + 1, "starting_after": chunk[-1]["id"]}
        return 200, {"type": "list", "data": chunk, "total_count": len(rows), "pages": pages}

    def _attach_company(self, request: Request, cid: str) -> tuple[int, Any]:
        contact = self._contact(cid)
        data = self._body(request)
        company = self._store["company"].get(str(data.get("id") or ""))
        if company is None:
            raise _Fail(404, "company_not_found", "Company Not Found", "id")
        listed = contact["companies"]
        if all(c["id"] != company["id"] for c in listed["data"]):
            entry = {"type": "company", "id": company["id"],
                     "url": f"/companies/{company['id']}"}
            contact = {**contact, "companies": {**listed, "data": [*listed["data"], entry],
                                                "total_count": listed["total_count"] + 1},
                       "updated_at": int(self.now())}
            self._store_record("contact", cid, contact, "attach")
            company = {**company, "user_count": company["user_count"] + 1}
            self._store_record("company", company["id"], company, "update")
        return 200, company

    # -- companies ------------------------------------------------------------------------

    def _company_by_external(self, company_id: str) -> Record | None:
        for company in self._store["company"].values():
            if company["company_id"] == company_id:
                return company
        return None

    def _upsert_company(self, request: Request) -> tuple[int, Any]:
        data = self._body(request)
        company_id = data.get("company_id")
        if company_id is None or str(company_id).strip() == "":
            raise _Fail(400, "parameter_not_found", "company_id not specified", "company_id")
        existing = self._company_by_external(str(company_id))
        if existing is None:
            company = self._company_object(data, None)
            self._store_record("company", company["id"], company, "create")
            return 200, company
        company = dict(existing)
        for key in ("name", "size", "website", "industry", "monthly_spend", "remote_created_at"):
            if key in data:
                company[key] = data[key]
        if "custom_attributes" in data and isinstance(data["custom_attributes"], dict):
            company["custom_attributes"] = {**existing["custom_attributes"],
                                            **data["custom_attributes"]}
        company["updated_at"] = int(self.now())
        self._store_record("company", company["id"], company, "update")
        return 200, company

    def _get_company(self, request: Request, company: str) -> tuple[int, Any]:
        found = self._store["company"].get(company)
        if found is None:
            raise _Fail(404, "company_not_found", "Company Not Found")
        return 200, found

    def _find_company(self, request: Request) -> tuple[int, Any]:
        query = dict(request.query)
        if "company_id" in query or "name" in query:
            for company in self._store["company"].values():
                if ("company_id" in query and company["company_id"] == query["company_id"]) or (
                        "name" in query and company["name"] == query["name"]):
                    return 200, company
            raise _Fail(404, "company_not_found", "Company Not Found")
        rows = list(self._store["company"].values())
        return 200, {"type": "list", "data": rows, "total_count": len(rows),
                     "pages": {"type": "pages", "page": 1, "per_page": 15,
                               "total_pages": max(1, -(-len(rows) // 15))}}

    # -- conversations -----------------------------------------------------------------------

    def _conversation(self, conv_id: str) -> Record:
        conversation = self._store["conversation"].get(conv_id)
        if conversation is None:
            raise _Fail(404, "not_found", "Resource Not Found")
        return conversation

    def _get_conversation(self, request: Request, conv_id: str) -> tuple[int, Any]:
        return 200, self._conversation(conv_id)

    def _create_conversation(self, request: Request) -> tuple[int, Any]:
        data = self._body(request)
        sender = data.get("from")
        body = data.get("body")
        if not isinstance(sender, dict) or not sender.get("id"):
            raise _Fail(400, "parameter_not_found", "from is required", "from")
        if sender.get("type") not in ("user", "lead", "contact"):
            raise _Fail(400, "parameter_invalid", "from.type must be user, lead or contact",
                        "from")
        if not isinstance(body, str) or not body.strip():
            raise _Fail(400, "parameter_not_found", "body is required", "body")
        contact = self._store["contact"].get(str(sender["id"]))
        if contact is None:
            raise _Fail(404, "not_found", "User Not Found", "from")
        conversation = self._conversation_object(contact, body, None)
        self._store_record("conversation", conversation["id"], conversation, "create")
        return 200, {"type": "user_message", "id": conversation["source"]["id"],
                     "created_at": conversation["created_at"], "body": conversation["source"]["body"],
                     "message_type": "inapp", "conversation_id": conversation["id"]}

    def _admin(self, admin_id: Any) -> Record:
        admin = self._store["admin"].get(str(admin_id or ""))
        if admin is None:
            raise _Fail(404, "admin_not_found", "Admin Not Found", "admin_id")
        return admin

    def _add_part(self, conv_id: str, old: Record, part: Record, changes: Mapping[str, Any],
                  action: str) -> tuple[int, Any]:
        parts = old["conversation_parts"]
        conversation = {
            **old, **changes, "updated_at": part["created_at"],
            "conversation_parts": {"type": "conversation_part.list",
                                   "conversation_parts": [*parts["conversation_parts"], part],
                                   "total_count": parts["total_count"] + 1},
        }
        self._store_record("conversation", conv_id, conversation, action)
        return 200, conversation

    def _reply(self, request: Request, conv_id: str) -> tuple[int, Any]:
        old = self._conversation(conv_id)
        data = self._body(request)
        message_type = data.get("message_type")
        if message_type not in ("comment", "note", "quick_reply"):
            raise _Fail(400, "parameter_invalid", "message_type must be comment, note or "
                        "quick_reply", "message_type")
        body = data.get("body")
        if message_type != "quick_reply" and (not isinstance(body, str) or not body.strip()):
            raise _Fail(400, "parameter_not_found", "body is required", "body")
        at = int(self.now())
        if data.get("type") == "admin":
            author = self._author("admin", self._admin(data.get("admin_id")))
            changes: dict[str, Any] = {"read": True}
            if message_type != "note":
                changes["waiting_since"] = None
        elif data.get("type") == "user":
            cid = data.get("intercom_user_id") or data.get("user_id")
            contact = self._store["contact"].get(str(cid or ""))
            if contact is None and data.get("email"):
                contact = next((c for c in self._store["contact"].values()
                                if c.get("email") == data["email"]), None)
            if contact is None:
                raise _Fail(404, "not_found", "User Not Found", "intercom_user_id")
            author = self._author("user", contact)
            changes = {"waiting_since": at, "open": True, "state": "open"}
        else:
            raise _Fail(400, "parameter_invalid", "type must be admin or user", "type")
        part = self._part(message_type, author, body if isinstance(body, str) else None, at)
        self._store_record("reply", part["id"], {**part, "conversation_id": conv_id}, "create")
        return self._add_part(conv_id, old, part, changes, "update")

    def _manage(self, request: Request, conv_id: str) -> tuple[int, Any]:
        old = self._conversation(conv_id)
        data = self._body(request)
        if data.get("type") != "admin":
            raise _Fail(400, "parameter_invalid", "type must be admin", "type")
        author = self._author("admin", self._admin(data.get("admin_id")))
        at = int(self.now())
        message_type = data.get("message_type")
        body = data.get("body") if isinstance(data.get("body"), str) else None
        if message_type == "close":
            changes: dict[str, Any] = {"open": False, "state": "closed", "waiting_since": None}
            part = self._part("close", author, body, at)
        elif message_type == "open":
            changes = {"open": True, "state": "open", "snoozed_until": None}
            part = self._part("open", author, body, at)
        elif message_type == "snoozed":
            until = data.get("snoozed_until")
            if not isinstance(until, int) or until <= at:
                raise _Fail(400, "parameter_invalid", "snoozed_until must be a future timestamp",
                            "snoozed_until")
            changes = {"state": "snoozed", "snoozed_until": until}
            part = self._part("snoozed", author, body, at)
        elif message_type == "assignment":
            assignee = self._admin(data.get("assignee_id"))
            changes = {"admin_assignee_id": int(assignee["id"])}
            part = self._part("assignment", author, body, at,
                              assigned_to={"type": "admin", "id": assignee["id"]})
        else:
            raise _Fail(400, "parameter_invalid", "message_type must be close, open, snoozed or "
                        "assignment", "message_type")
        return self._add_part(conv_id, old, part, changes, str(message_type))


def _deep(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value
