"""A stateful fake of Zendesk Support's API: tickets, search, users.

Serves every subdomain of ``zendesk.com`` (``https://acme.zendesk.com``) plus
configured base URLs:

* ``POST /api/v2/tickets.json``, ``GET``/``PUT /api/v2/tickets/{id}.json``,
  ``GET /api/v2/tickets.json`` (``external_id=``, offset or cursor pages),
  ``GET /api/v2/tickets/{id}/comments.json``;
* ``GET /api/v2/search.json?query=`` (``type:ticket|user``, ``tags:``,
  ``external_id:``, ``status:``, ``priority:``, ``requester:``, ``subject:``,
  free words; a keyword repeated matches either value, different keywords all);
* ``POST /api/v2/users/create_or_update.json``, ``POST /api/v2/users.json``,
  ``GET /api/v2/users/{id}.json``.

As Zendesk does, unknown ticket attributes are ignored, invalid ones are a 422
``RecordInvalid`` with ``details`` per field, rate limiting is a 429 with
``Retry-After``, and authentication is basic ``email/token:TOKEN``,
``email:password`` or an OAuth Bearer token.  The search index is immediate
(real Zendesk lags by up to a few minutes).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from harness._shared.wire import Request, Response
from harness.errors import NotFoundError
from harness.systems._base import FakeSystem, Record, iso8601
from harness.systems._descriptor import (
    ID_NUMERIC,
    CreateGuard,
    ErrorShape,
    RecordShape,
    SystemDescriptor,
)
from harness.systems._zendesk_query import bounded, like, parse_query, user_object

__all__ = ["Zendesk"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
_PRIORITIES = ("urgent", "high", "normal", "low")
_TICKET_TYPES = ("problem", "incident", "question", "task")


class _Invalid(Exception):
    """A 422 RecordInvalid with Zendesk's ``details``."""

    def __init__(self, details: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__(str(details))
        self.details = details


def _detail(field: str, description: str, error: str = "InvalidValue") -> _Invalid:
    return _Invalid({field: [{"description": description, "error": error}]})


def _bounded(raw: str, name: str, *, maximum: int = 100) -> int:
    try:
        return bounded(raw, name, maximum=maximum)
    except ValueError as exc:
        raise _detail(name, str(exc)) from None


def _error_body(status: int, message: str | None) -> dict[str, Any]:
    """Zendesk's error body: ``{"error": NAME, "description": TEXT}`` (422 with ``details``)."""
    if status == 422:
        return {
            "error": "RecordInvalid",
            "description": message or "Record validation errors",
            "details": {"base": [{"description": "The record could not be saved"}]},
        }
    if status == 429:
        return {"error": "APIRateLimitExceeded",
                "description": message or "Number of allowed API requests per minute exceeded"}
    if status >= 500:
        return {"error": "ServiceUnavailable",
                "description": message or "Zendesk is temporarily unavailable"}
    names = {400: "BadRequest", 401: "Couldn't authenticate you", 403: "Forbidden",
             404: "RecordNotFound", 409: "Conflict"}
    return {"error": names.get(status, "InvalidEndpoint"),
            "description": message or f"Zendesk answered {status}"}


def _rejected_field(body: Any) -> str | None:
    """The fields a Zendesk ``RecordInvalid`` lists under ``details``."""
    details = body.get("details") if isinstance(body, Mapping) else None
    if isinstance(details, Mapping) and details:
        return ", ".join(sorted(str(k) for k in details))
    return None


#: fields Zendesk sets itself on tickets and users
SYSTEM_FIELDS = frozenset(
    {"id", "url", "created_at", "updated_at", "generated_timestamp", "encoded_id", "via",
     "submitter_id", "brand_id", "custom_status_id", "last_login_at", "iana_time_zone",
     "locale_id", "result_type"}
)

DESCRIPTOR = SystemDescriptor(
    name="zendesk",
    hosts=("*.zendesk.com",),
    base_url_env="ZENDESK_BASE_URL",
    id_shapes=(ID_NUMERIC,),
    errors=ErrorShape(body=_error_body, declined=422, invalid=422, rejected_field=_rejected_field),
    records=(
        RecordShape(endpoint="GET /api/v2/tickets/{id}.json", kind="tickets", at="ticket",
                    system_fields=SYSTEM_FIELDS),
        RecordShape(endpoint="GET /api/v2/tickets.json", kind="tickets", at="tickets[]",
                    system_fields=SYSTEM_FIELDS),
        RecordShape(endpoint="GET /api/v2/users/{id}.json", kind="users", at="user",
                    system_fields=SYSTEM_FIELDS),
        RecordShape(endpoint="GET /api/v2/search.json", kind="results", at="results[]",
                    system_fields=SYSTEM_FIELDS),
    ),
    # a ticket create carrying an external_id can be looked up after a lost answer
    guards=(
        CreateGuard(
            endpoint="POST /api/v2/tickets.json",
            key_field="ticket.external_id",
            search="/api/v2/tickets.json?external_id={key}",
            found_at="tickets[]",
            wrap="ticket",
        ),
    ),
    docs="https://developer.zendesk.com/api-reference/ticketing/introduction/",
)


class Zendesk(FakeSystem):
    """Fake Zendesk Support.  Kinds: ``ticket``, ``user``."""

    name = "zendesk"
    default_hosts = DESCRIPTOR.hosts
    kinds = ("ticket", "user")
    descriptor = DESCRIPTOR

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    # -- state ---------------------------------------------------------------

    def _init_state(self) -> None:
        super()._init_state()
        self._next_ticket = 101
        self._next_user = 360_000_000_001
        self._next_event = 900_000_000_001
        self._comments: dict[str, tuple[Record, ...]] = {}
        # user lookups by email and external id stay O(1) however many users a campaign makes
        self._by_email: dict[str, str] = {}
        self._by_external: dict[str, str] = {}

    def _counter_state(self) -> Any:
        return self._next_ticket, self._next_user, self._next_event

    def _restore_counters(self, state: Any) -> None:
        self._next_ticket, self._next_user, self._next_event = state

    def _extra_state(self) -> Any:
        return dict(self._comments)

    def _restore_extra(self, state: Any) -> None:
        self._comments = dict(state)
        self._by_email, self._by_external = {}, {}
        for uid, user in self._store["user"].items():
            self._index_user(uid, user)

    def _index_user(self, uid: str, user: Record) -> None:
        if user.get("email"):
            self._by_email[user["email"]] = uid
        if user.get("external_id") is not None:
            self._by_external[user["external_id"]] = uid

    def _store_record(self, kind: str, object_id: str, record: Record, action: str) -> Record:
        if kind == "user":
            old = self._store["user"].get(str(object_id))
            if old is not None:
                if old.get("email") and self._by_email.get(old["email"]) == str(object_id):
                    del self._by_email[old["email"]]
                if old.get("external_id") is not None:
                    self._by_external.pop(old["external_id"], None)
            self._index_user(str(object_id), record)
        return super()._store_record(kind, object_id, record, action)

    def tickets_by_external_id(self, external_id: str) -> list[Mapping[str, Any]]:
        """Every ticket whose ``external_id`` equals ``external_id`` (oldest first)."""
        return [t for t in self._store["ticket"].values() if t["external_id"] == external_id]

    def comments(self, ticket_id: int | str) -> tuple[Mapping[str, Any], ...]:
        """The comments of a ticket, oldest first."""
        return self._comments.get(str(ticket_id), ())

    # -- tickets made by customers (seeding and triggers; no write is logged) --------

    def add_ticket(
        self,
        *,
        ticket_id: int,
        subject: str,
        description: str,
        requester_email: str,
        requester_name: str,
        priority: str | None = "normal",
        ticket_type: str | None = "question",
        tags: Sequence[str] = (),
        channel: str = "web",
        host: str = "acme.zendesk.com",
    ) -> Record:
        """A ticket a customer opened (``status: new``), with its requester; returns it.

        The requester is found by email or created; the ticket keeps
        ``ticket_id`` (pick ids apart from the ones the fake hands out from 101).
        """
        with self._lock:
            user = self._find_user(email=requester_email)
            if user is None:
                uid = self._next_user
                self._next_user += 1
                user = user_object(uid=uid, host=host, now=iso8601(self.now(), millis=False),
                                   name=requester_name, email=requester_email.lower(),
                                   external_id=None, role="end-user")
                self.seed_record("user", str(uid), user)
                self._index_user(str(uid), user)
            now = iso8601(self.now(), millis=False)
            ticket: Record = {
                "url": f"https://{host}/api/v2/tickets/{ticket_id}.json", "id": ticket_id,
                "external_id": None,
                "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
                "created_at": now, "updated_at": now, "generated_timestamp": int(self.now()),
                "type": ticket_type, "subject": subject, "raw_subject": subject,
                "description": description, "priority": priority, "status": "new",
                "recipient": None, "requester_id": user["id"], "submitter_id": user["id"],
                "assignee_id": None, "organization_id": None, "group_id": None,
                "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [],
                "forum_topic_id": None, "problem_id": None, "has_incidents": False,
                "is_public": True, "due_at": None, "tags": list(tags), "custom_fields": [],
                "satisfaction_rating": None, "sharing_agreement_ids": [], "custom_status_id": 1,
                "encoded_id": f"FAKE-{ticket_id}", "fields": [], "followup_ids": [],
                "ticket_form_id": None, "brand_id": 1, "allow_channelback": False,
                "allow_attachments": True, "from_messaging_channel": False,
            }
            self.seed_record("ticket", str(ticket_id), ticket)
            self._comments[str(ticket_id)] = (
                self._comment(ticket_id, int(user["id"]), description, True, now),
            )
            return ticket

    def webhook_event(self, ticket_id: int | str, *, event_id: str, account_id: int = 12514403) -> Record:
        """The ``zen:event-type:ticket.created`` webhook payload for a ticket of this fake.

        The shape of Zendesk's event webhooks: ``type``, ``account_id``, ``id``,
        ``time``, ``zendesk_event_version``, ``subject`` (``zen:ticket:ID``), the
        ticket in ``detail`` (ids as strings, enums upper case, as documented)
        and ``event``.  :class:`~harness.errors.NotFoundError` (a ``KeyError``) names the ticket when it does not exist.
        """
        ticket = self._store["ticket"].get(str(ticket_id))
        if ticket is None:
            raise NotFoundError(f"zendesk: no ticket {ticket_id!r}")

        def sid(value: Any) -> str | None:
            return None if value is None else str(value)

        detail = {
            "actor_id": sid(ticket["submitter_id"]),
            "assignee_id": sid(ticket["assignee_id"]),
            "brand_id": sid(ticket["brand_id"]),
            "created_at": ticket["created_at"],
            "custom_status": sid(ticket["custom_status_id"]),
            "description": ticket["description"],
            "external_id": ticket["external_id"],
            "form_id": sid(ticket["ticket_form_id"]),
            "group_id": sid(ticket["group_id"]),
            "id": str(ticket["id"]),
            "is_public": ticket["is_public"],
            "organization_id": sid(ticket["organization_id"]),
            "priority": (ticket["priority"] or "").upper() or None,
            "requester_id": sid(ticket["requester_id"]),
            "status": str(ticket["status"]).upper(),
            "subject": ticket["subject"],
            "submitter_id": sid(ticket["submitter_id"]),
            "tags": list(ticket["tags"]),
            "type": (ticket["type"] or "").upper() or None,
            "updated_at": ticket["updated_at"],
            "via": {"channel": ticket["via"]["channel"]},
        }
        return {
            "account_id": account_id,
            "detail": detail,
            "event": {"meta": {"sequence": {"id": event_id.replace("-", "")[:32].upper(),
                                            "position": 1, "total": 1}}},
            "id": event_id,
            "subject": f"zen:ticket:{ticket['id']}",
            "time": iso8601(self.now(), millis=False),
            "type": "zen:event-type:ticket.created",
            "zendesk_event_version": "2022-11-06",
        }

    # -- errors ----------------------------------------------------------------

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        headers: dict[str, str] = {}
        if status == 429:
            headers["Retry-After"] = str(int(max(1, retry_after if retry_after is not None else 60)))
            body: dict[str, Any] = {
                "error": "APIRateLimitExceeded",
                "description": message or "Number of allowed API requests per minute exceeded",
            }
        elif retry_after is not None:
            headers["Retry-After"] = str(int(max(1, retry_after)))
        if status != 429:
            names = {400: "BadRequest", 401: "Couldn't authenticate you", 403: "Forbidden",
                     404: "RecordNotFound", 409: "Conflict", 422: "RecordInvalid",
                     503: "ServiceUnavailable"}
            if status == 401:
                body = {"error": "Couldn't authenticate you"}
            else:
                body = {
                    "error": names.get(status, "InternalServerError"),
                    "description": message or {404: "Not found", 503: "Service Unavailable"}.get(
                        status, "Something went wrong" if status >= 500 else "Bad request"
                    ),
                }
        return Response.of_json(status, body, headers)

    def _invalid(self, details: Mapping[str, Any]) -> Response:
        return Response.of_json(
            422, {"error": "RecordInvalid", "description": "Record validation errors",
                  "details": dict(details)}
        )

    def _not_found(self) -> Response:
        return Response.of_json(404, {"error": "RecordNotFound", "description": "Not found"})

    # -- routing ---------------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        return (
            ("POST", r"/api/v2/tickets(?:\.json)?", self._create_ticket),
            ("GET", r"/api/v2/tickets(?:\.json)?", self._list_tickets),
            ("GET", r"/api/v2/tickets/(\d+)(?:\.json)?", self._show_ticket),
            ("PUT", r"/api/v2/tickets/(\d+)(?:\.json)?", self._update_ticket),
            ("GET", r"/api/v2/tickets/(\d+)/comments(?:\.json)?", self._list_comments),
            ("GET", r"/api/v2/search(?:\.json)?", self._search),
            ("POST", r"/api/v2/users/create_or_update(?:\.json)?", self._create_or_update_user),
            ("POST", r"/api/v2/users(?:\.json)?", self._create_user),
            ("GET", r"/api/v2/users/(\d+)(?:\.json)?", self._show_user),
        )

    def _serve(self, request: Request, path: str) -> Response:
        agent = self._authenticate(request)
        if agent is None:
            return Response.of_json(401, {"error": "Couldn't authenticate you"})
        found = self._route(request, path)
        if found is False:
            return Response.of_json(
                405, {"error": "InvalidEndpoint", "description": f"{request.method} is not allowed"}
            )
        if not isinstance(found, tuple):
            return Response.of_json(
                404, {"error": "InvalidEndpoint", "description": "Not found"}
            )
        failure = self._scripted_failure(request, path)
        if failure is not None:
            return failure
        handler, match = found
        try:
            response: Response = handler(request, agent, *match.groups())
        except _Invalid as exc:
            return self._invalid(exc.details)
        return response

    def _authenticate(self, request: Request) -> str | None:
        """The agent's email (or a token label); ``None`` when unauthenticated."""
        auth = request.header("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return "oauth-agent@zendesk.invalid"
        if scheme.lower() != "basic":
            return None
        try:
            user, _, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        email = user[: -len("/token")] if user.endswith("/token") else user
        if not secret or _EMAIL.fullmatch(email) is None:
            return None
        return email.lower()

    def _json_root(self, request: Request, root: str) -> dict[str, Any] | Response:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            return Response.of_json(
                400, {"error": "BadRequest",
                      "description": f"The request body is not valid JSON ({exc})"}
            )
        if not isinstance(body, dict) or not isinstance(body.get(root), dict):
            return Response.of_json(
                400, {"error": "ParameterMissing",
                      "description": f"Parameter '{root}' is required and must be an object"}
            )
        value: dict[str, Any] = body[root]
        return value

    # -- users -----------------------------------------------------------------

    def _user_record(self, request: Request, *, name: str, email: str | None,
                     external_id: str | None = None, role: str = "end-user") -> Record:
        uid = self._next_user
        self._next_user += 1
        return user_object(uid=uid, host=request.host, now=iso8601(self.now(), millis=False),
                           name=name, email=email, external_id=external_id, role=role)

    def _find_user(self, *, email: str | None = None, external_id: str | None = None) -> Record | None:
        uid = None
        if email is not None:
            uid = self._by_email.get(email.lower())
        if uid is None and external_id is not None:
            uid = self._by_external.get(external_id)
        return None if uid is None else self._store["user"].get(uid)

    def _agent_id(self, request: Request, agent: str) -> int:
        user = self._find_user(email=agent)
        if user is None:
            user = self._user_record(request, name=agent.split("@")[0], email=agent, role="admin")
            self._store_record("user", str(user["id"]), user, "create")
        return int(user["id"])

    def _user_fields(self, data: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
        name = data.get("name")
        email = data.get("email")
        external_id = data.get("external_id")
        if name is not None and not isinstance(name, str):
            raise _detail("name", f"Name: {name!r} is not a valid name")
        if email is not None:
            if not isinstance(email, str) or _EMAIL.fullmatch(email) is None:
                raise _detail("email", f"Email: {email} is not properly formatted")
            email = email.lower()
        if external_id is not None:
            external_id = str(external_id)
        return name, email, external_id

    def _create_or_update_user(self, request: Request, agent: str) -> Response:
        data = self._json_root(request, "user")
        if isinstance(data, Response):
            return data
        name, email, external_id = self._user_fields(data)
        existing = None
        if external_id is not None:
            existing = self._find_user(external_id=external_id)
        if existing is None and email is not None:
            existing = self._find_user(email=email)
        if existing is not None:
            updated = {**existing, "updated_at": iso8601(self.now(), millis=False)}
            for key, value in (("name", name), ("email", email), ("external_id", external_id)):
                if value is not None:
                    updated[key] = value
            for key in ("phone", "role", "tags", "user_fields", "notes", "details"):
                if key in data:
                    updated[key] = data[key]
            self._store_record("user", str(existing["id"]), updated, "update")
            return Response.of_json(200, {"user": updated})
        return self._new_user(request, data, name, email, external_id)

    def _create_user(self, request: Request, agent: str) -> Response:
        data = self._json_root(request, "user")
        if isinstance(data, Response):
            return data
        name, email, external_id = self._user_fields(data)
        if email is not None and self._find_user(email=email) is not None:
            raise _detail("email", f"Email: {email} is already being used by another user",
                          "DuplicateValue")
        return self._new_user(request, data, name, email, external_id)

    def _new_user(self, request: Request, data: Mapping[str, Any], name: str | None,
                  email: str | None, external_id: str | None) -> Response:
        if not name:
            raise _detail("name", "Name: is too short (minimum one character)", "BlankValue")
        role = data.get("role", "end-user")
        if role not in ("end-user", "agent", "admin"):
            raise _detail("role", f"Role: {role!r} is not valid")
        user = self._user_record(request, name=name, email=email, external_id=external_id, role=role)
        for key in ("phone", "tags", "user_fields", "notes", "details"):
            if key in data:
                user[key] = data[key]
        self._store_record("user", str(user["id"]), user, "create")
        return Response.of_json(
            201, {"user": user}, {"Location": f"https://{request.host}/api/v2/users/{user['id']}.json"}
        )

    def _show_user(self, request: Request, agent: str, user_id: str) -> Response:
        user = self._store["user"].get(user_id)
        return self._not_found() if user is None else Response.of_json(200, {"user": user})

    # -- tickets ---------------------------------------------------------------

    def _comment_body(self, comment: Any) -> tuple[str, bool] | None:
        if isinstance(comment, str):
            return (comment, True) if comment.strip() else None
        if isinstance(comment, dict):
            body = comment.get("body") if comment.get("body") is not None else comment.get("html_body")
            if body is not None and not isinstance(body, str):
                raise _detail("comment", "Comment: body must be a string")
            public = comment.get("public", True)
            if not isinstance(public, bool):
                raise _detail("comment", "Comment: public must be true or false")
            return (body, public) if body and body.strip() else None
        if comment is None:
            return None
        raise _detail("comment", "Comment: must be an object with a 'body' or a string")

    def _tags(self, value: Any, field: str = "tags") -> list[str]:
        if isinstance(value, str):
            items = value.split()
        elif isinstance(value, list) and all(isinstance(t, str) for t in value):
            items = [part for t in value for part in t.split()]
        else:
            raise _detail(field, f"Tags: {value!r} is not a list of strings")
        out: list[str] = []
        for tag in items:
            tag = tag.lower()  # Zendesk stores tags lowercase and once
            if tag not in out:
                out.append(tag)
        return out

    def _enum(self, data: Mapping[str, Any], field: str, allowed: Sequence[str]) -> str | None:
        value = data.get(field)
        if value is None:
            return None
        if value not in allowed:
            raise _detail(field, f"{field.capitalize()}: {value!r} is not valid (expected one of "
                                 f"{', '.join(allowed)})")
        return str(value)

    def _int_field(self, data: Mapping[str, Any], field: str) -> int | None:
        value = data.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise _detail(field, f"{field}: {value!r} is not a valid id")
        return int(value)

    def _requester(self, request: Request, data: Mapping[str, Any], agent_id: int) -> int:
        requester = data.get("requester")
        if requester is not None:
            if not isinstance(requester, dict):
                raise _detail("requester", "Requester: must be an object with name and email")
            email = requester.get("email")
            name = requester.get("name")
            if email is None or not isinstance(email, str) or _EMAIL.fullmatch(email) is None:
                raise _detail("requester", f"Requester: Email {email!r} is not properly formatted")
            user = self._find_user(email=email)
            if user is None:
                if name is not None and not isinstance(name, str):
                    raise _detail("requester", f"Requester: Name {name!r} is not valid")
                user = self._user_record(request, name=name or email.split("@")[0], email=email.lower())
                self._store_record("user", str(user["id"]), user, "create")
            return int(user["id"])
        requester_id = self._int_field(data, "requester_id")
        if requester_id is not None:
            if str(requester_id) not in self._store["user"]:
                raise _detail("requester", f"Requester: user {requester_id} does not exist")
            return requester_id
        return agent_id

    def _audit(self, ticket: Record, author_id: int, events: list[Record]) -> Record:
        audit_id = self._next_event
        self._next_event += 1
        for event in events:
            event["id"] = self._next_event
            self._next_event += 1
        return {
            "id": audit_id,
            "ticket_id": ticket["id"],
            "created_at": ticket["updated_at"],
            "author_id": author_id,
            "metadata": {"system": {"client": "harness fake", "ip_address": "127.0.0.1"},
                         "custom": {}},
            "events": events,
            "via": ticket["via"],
        }

    def _create_ticket(self, request: Request, agent: str) -> Response:
        data = self._json_root(request, "ticket")
        if isinstance(data, Response):
            return data
        comment = self._comment_body(data.get("comment"))
        if comment is None and isinstance(data.get("description"), str):
            # Zendesk takes `description` as the first comment when `comment` is absent
            # (zenpy's documented `Ticket(subject=..., description=...)` relies on it)
            comment = self._comment_body(data["description"])
        if comment is None:
            raise _Invalid({"base": [{"description": "Description: cannot be blank",
                                      "error": "BlankValue", "field_key": "description"}]})
        status = self._enum(data, "status", _STATUSES[:-1]) or "new"
        priority = self._enum(data, "priority", _PRIORITIES)
        ticket_type = self._enum(data, "type", _TICKET_TYPES)
        tags = self._tags(data["tags"]) if data.get("tags") is not None else []
        subject = data.get("subject")
        if subject is not None and not isinstance(subject, str):
            raise _detail("subject", f"Subject: {subject!r} is not a string")
        external_id = data.get("external_id")
        if isinstance(external_id, dict | list | bool):
            raise _detail("external_id", f"External id: {external_id!r} is not a string")
        assignee_id = self._int_field(data, "assignee_id")
        group_id = self._int_field(data, "group_id")
        agent_id = self._agent_id(request, agent)
        requester_id = self._requester(request, data, agent_id)
        tid = self._next_ticket
        self._next_ticket += 1
        now = iso8601(self.now(), millis=False)
        body, public = comment
        subject_text = subject if subject else body.strip().splitlines()[0][:150]
        ticket: Record = {
            "url": f"https://{request.host}/api/v2/tickets/{tid}.json",
            "id": tid,
            "external_id": None if external_id is None else str(external_id),
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": now,
            "updated_at": now,
            "generated_timestamp": int(self.now()),
            "type": ticket_type,
            "subject": subject_text,
            "raw_subject": subject_text,
            "description": body,
            "priority": priority,
            "status": status,
            "recipient": None,
            "requester_id": requester_id,
            "submitter_id": agent_id,
            "assignee_id": assignee_id,
            "organization_id": None,
            "group_id": group_id,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": public,
            "due_at": data.get("due_at"),
            "tags": tags,
            "custom_fields": list(data.get("custom_fields") or []),
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "custom_status_id": 1,
            "encoded_id": f"FAKE-{tid}",
            "fields": list(data.get("custom_fields") or []),
            "followup_ids": [],
            "ticket_form_id": self._int_field(data, "ticket_form_id"),
            "brand_id": 1,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }
        self._store_record("ticket", str(tid), ticket, "create")
        comment_record = self._comment(tid, agent_id, body, public, now)
        self._comments[str(tid)] = (comment_record,)
        events: list[Record] = [{"type": "Comment", "author_id": agent_id, "body": body,
                                 "public": public, "attachments": []}]
        for field in ("subject", "status", "priority", "type", "requester_id", "tags"):
            value = ticket["tags" if field == "tags" else field]
            if value not in (None, []):
                events.append({"type": "Create", "field_name": field, "value": value})
        audit = self._audit(ticket, agent_id, events)
        return Response.of_json(
            201, {"ticket": ticket, "audit": audit},
            {"Location": f"https://{request.host}/api/v2/tickets/{tid}.json"},
        )

    def _comment(self, tid: int, author: int, body: str, public: bool, at: str) -> Record:
        cid = self._next_event
        self._next_event += 1
        return {"id": cid, "type": "Comment", "author_id": author, "body": body,
                "html_body": f"<div class=\"zd-comment\"><p>{body}</p></div>", "plain_body": body,
                "public": public, "attachments": [], "audit_id": cid, "created_at": at,
                "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}}

    def _show_ticket(self, request: Request, agent: str, ticket_id: str) -> Response:
        ticket = self._store["ticket"].get(ticket_id)
        return self._not_found() if ticket is None else Response.of_json(200, {"ticket": ticket})

    def _list_comments(self, request: Request, agent: str, ticket_id: str) -> Response:
        if ticket_id not in self._store["ticket"]:
            return self._not_found()
        rows = list(self._comments.get(ticket_id, ()))
        return Response.of_json(200, {"comments": rows, "next_page": None, "previous_page": None,
                                      "count": len(rows)})

    def _update_ticket(self, request: Request, agent: str, ticket_id: str) -> Response:
        old = self._store["ticket"].get(ticket_id)
        if old is None:
            return self._not_found()
        data = self._json_root(request, "ticket")
        if isinstance(data, Response):
            return data
        if old["status"] == "closed":
            raise _detail("status", "Status: closed prevents ticket update", "ClosedPreventsUpdate")
        ticket = dict(old)
        events: list[Record] = []
        for field, allowed in (("status", _STATUSES), ("priority", _PRIORITIES),
                               ("type", _TICKET_TYPES)):
            if field in data:
                value = self._enum(data, field, allowed)
                if value != old[field]:
                    events.append({"type": "Change", "field_name": field, "value": value,
                                   "previous_value": old[field]})
                ticket[field] = value
        if "subject" in data:
            if not isinstance(data["subject"], str):
                raise _detail("subject", f"Subject: {data['subject']!r} is not a string")
            ticket["subject"] = ticket["raw_subject"] = data["subject"]
        if "external_id" in data:
            value = data["external_id"]
            ticket["external_id"] = None if value is None else str(value)
        for field in ("assignee_id", "group_id"):
            if field in data:
                ticket[field] = self._int_field(data, field)
        tags = list(old["tags"])
        if "tags" in data:
            tags = self._tags(data["tags"])
        if "additional_tags" in data:
            tags += [t for t in self._tags(data["additional_tags"], "additional_tags") if t not in tags]
        if "remove_tags" in data:
            removed = set(self._tags(data["remove_tags"], "remove_tags"))
            tags = [t for t in tags if t not in removed]
        if tags != old["tags"]:
            events.append({"type": "Change", "field_name": "tags", "value": tags,
                           "previous_value": old["tags"]})
        ticket["tags"] = tags
        agent_id = self._agent_id(request, agent)
        now = iso8601(self.now(), millis=False)
        ticket["updated_at"] = now
        ticket["generated_timestamp"] = int(self.now())
        comment = self._comment_body(data.get("comment"))
        if comment is not None:
            body, public = comment
            self._comments[ticket_id] = (
                *self._comments.get(ticket_id, ()), self._comment(int(ticket_id), agent_id, body, public, now)
            )
            events.append({"type": "Comment", "author_id": agent_id, "body": body,
                           "public": public, "attachments": []})
        self._store_record("ticket", ticket_id, ticket, "update")
        return Response.of_json(200, {"ticket": ticket, "audit": self._audit(ticket, agent_id, events)})

    def _list_tickets(self, request: Request, agent: str) -> Response:
        query = dict(request.query)
        rows = list(self._store["ticket"].values())
        if "external_id" in query:
            rows = [t for t in rows if t["external_id"] == query["external_id"]]
        return self._page(request, "tickets", rows, query)

    def _page(self, request: Request, key: str, rows: list[Record], query: Mapping[str, str]) -> Response:
        base = f"https://{request.host}{request.path}"
        if "page[size]" in query or "page[after]" in query:
            size = _bounded(query.get("page[size]", "100"), "page[size]")
            start = int(query["page[after]"]) if query.get("page[after]", "").isdigit() else 0
            chunk = rows[start : start + size]
            more = start + size < len(rows)
            after = str(start + size) if more else None
            return Response.of_json(200, {
                key: chunk,
                "meta": {"has_more": more, "after_cursor": after,
                         "before_cursor": str(start) if start else None},
                "links": {"next": f"{base}?{urlencode({'page[size]': size, 'page[after]': after})}" if more else None,
                          "prev": None},
            })
        per_page = _bounded(query.get("per_page", "100"), "per_page")
        page = _bounded(query.get("page", "1"), "page", maximum=10**9)
        start = (page - 1) * per_page
        chunk = rows[start : start + per_page]
        extra = {k: v for k, v in query.items() if k not in ("page", "per_page")}

        def link(n: int) -> str:
            return f"{base}?{urlencode({**extra, 'page': n, 'per_page': per_page})}"

        return Response.of_json(200, {
            key: chunk,
            "next_page": link(page + 1) if start + per_page < len(rows) else None,
            "previous_page": link(page - 1) if page > 1 else None,
            "count": len(rows),
        })

    # -- search ------------------------------------------------------------------

    def _search(self, request: Request, agent: str) -> Response:
        query = dict(request.query)
        text = query.get("query", "")
        if not text.strip():
            return Response.of_json(400, {"error": "InvalidQuery",
                                          "description": "The query parameter 'query' is required"})
        kind, conditions = parse_query(text)
        pool: list[tuple[str, Record]] = []
        if kind in (None, "ticket"):
            pool.extend(("ticket", t) for t in self._store["ticket"].values())
        if kind in (None, "user"):
            pool.extend(("user", u) for u in self._store["user"].values())
        results = []
        for result_type, record in pool:
            if all(self._matches(result_type, record, cond) for cond in conditions):
                results.append({**record, "result_type": result_type})
        response = self._page(request, "results", results, query)
        body = response.json()
        body["facets"] = None
        return Response.of_json(200, body)

    def _matches(self, result_type: str, record: Record, cond: tuple[bool, str | None, str, list[str]]) -> bool:
        negate, key, op, values = cond
        hit = any(self._match_one(result_type, record, key, op, v) for v in values)
        return hit != negate

    def _match_one(self, result_type: str, record: Record, key: str | None, op: str, value: str) -> bool:
        value = value.lower()
        if key is None:
            fields = ("subject", "description") if result_type == "ticket" else ("name", "email")
            return any(like(str(record.get(f) or ""), value, contains=True) for f in fields) or any(
                like(t, value) for t in record.get("tags") or []
            )
        if key in ("tags", "tag"):
            return any(like(t, value) for t in record.get("tags") or [])
        if key == "requester" and result_type == "ticket":
            user = self._store["user"].get(str(record["requester_id"]))
            return value == str(record["requester_id"]) or (
                user is not None and like(str(user.get("email") or ""), value)
            )
        if key in ("status", "priority") and op != ":":
            order = _STATUSES if key == "status" else tuple(reversed(_PRIORITIES))
            actual = record.get(key)
            if actual not in order or value not in order:
                return False
            a, b = order.index(actual), order.index(value)
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        field = {"ticket_type": "type"}.get(key, key)
        if field not in record:
            return False
        actual = record.get(field)
        return actual is not None and like(str(actual), value, contains=field in ("subject", "description", "name"))
