"""A stateful fake of Xero's Accounting API (contacts, invoices, accounts) and its identity host.

Served hosts: ``api.xero.com`` (``/api.xro/2.0/...`` and ``/connections``) and
``identity.xero.com`` (``POST /connect/token``).

* OAuth2: ``POST https://identity.xero.com/connect/token`` with a form-encoded
  ``grant_type=refresh_token&refresh_token=...`` (client credentials in basic
  auth or the form) answers a new access token and a *rotated* refresh token;
  the old refresh token keeps working for a 30-minute grace period, as Xero
  documents, and is ``400 {"error": "invalid_grant"}`` after it.  A refresh token
  the fake has not seen counts as one issued at consent time (the fake cannot
  know the user's); another grant type is ``unsupported_grant_type``.
  API calls need a ``Bearer`` token (any non-empty token: the fake does not
  expire them) and the ``xero-tenant-id`` header naming the fake's tenant
  (``GET /connections`` lists it).
* ``GET/PUT/POST /Contacts`` and ``/Invoices`` with ``{"Contacts": [...]}`` /
  ``{"Invoices": [...]}`` envelopes.  ``PUT`` creates; ``POST`` creates or
  updates: a contact matched by ``ContactID`` or, failing that, by ``Name``; an
  invoice matched by ``InvoiceID`` or ``InvoiceNumber``.  ``GET /Contacts/{id}``,
  ``GET /Invoices/{id|number}``; ``POST`` to those updates.
* ``where=`` filters (see :mod:`harness.systems._xero_where`), ``IDs=``,
  ``Statuses=``, ``ContactIDs=``, ``InvoiceNumbers=``, ``order=``,
  ``page=``/``pageSize=``.  As Xero does, a paged invoice list carries line items
  and an unpaged one leaves them out.
* ``Idempotency-Key`` on PUT/POST (at most 128 characters): a key seen in the last
  24 hours (world clock) for the same tenant replays the stored answer, 2xx or
  400, without acting again.
* Validation errors in Xero's shape: 400 ``{"ErrorNumber": 10, "Type":
  "ValidationException", "Message": "A validation exception occurred",
  "Elements": [{... the element ..., "ValidationErrors": [{"Message": ...}]}]}``;
  with ``summarizeErrors=false`` the answer is 200 and each element carries its
  own ``ValidationErrors`` and ``StatusAttributeString``.

Line items: ``LineAmount = Quantity * UnitAmount`` (less ``DiscountRate`` %),
rounded to cents; tax from the line's ``TaxType`` (or its account's default)
and ``LineAmountTypes`` (``Exclusive``, ``Inclusive``, ``NoTax``).
Not modelled: payments, credit notes, attachments, the XML format, rate-limit
headers beyond ``Retry-After``/``X-Rate-Limit-Problem``, plain-text 404/503 bodies.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from harness._shared.wire import Request, Response
from harness.errors import InvalidValueError, NotFoundError
from harness.systems._base import FakeSystem, Record
from harness.systems._descriptor import (
    ID_UUID,
    ErrorShape,
    Idempotency,
    RecordShape,
    SystemDescriptor,
)
from harness.systems._xero_where import WhereError, compile_where

__all__ = ["Xero"]

API = "/api.xro/2.0"
IDEMPOTENCY_TTL = 24 * 3600.0
REFRESH_GRACE = 30 * 60.0
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CENT = Decimal("0.01")

#: the fake organisation's chart of accounts: code -> (name, type, default tax type)
ACCOUNTS: dict[str, tuple[str, str, str]] = {
    "200": ("Sales", "REVENUE", "OUTPUT"),
    "260": ("Other Revenue", "REVENUE", "OUTPUT"),
    "270": ("Interest Income", "REVENUE", "NONE"),
    "400": ("Advertising", "EXPENSE", "INPUT"),
    "404": ("Bank Fees", "EXPENSE", "NONE"),
    "429": ("General Expenses", "EXPENSE", "INPUT"),
}
#: tax rates by TaxType (a GST-style organisation, as Xero's demo company)
TAX_RATES: dict[str, Decimal] = {
    "OUTPUT": Decimal("0.15"),
    "INPUT": Decimal("0.15"),
    "NONE": Decimal("0"),
    "EXEMPTOUTPUT": Decimal("0"),
    "EXEMPTINPUT": Decimal("0"),
}
_INVOICE_TYPES = ("ACCREC", "ACCPAY")
_CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
_LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
#: status changes an update may make (Xero's invoice life cycle)
_TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"SUBMITTED", "DRAFT", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
}
_PROBLEM_TITLES = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
                   500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
                   503: "Service Unavailable", 504: "Gateway Timeout"}


def xero_error_body(status: int, message: str | None) -> Any:
    """The body Xero sends with ``status``: an ApiException for 400, problem JSON otherwise."""
    if status == 400:
        return {"ErrorNumber": 10, "Type": "ValidationException",
                "Message": "A validation exception occurred",
                "Elements": [{"ValidationErrors": [{"Message": message or "A validation exception occurred"}]}]}
    if status == 503 and message is None:
        message = "The Xero API is temporarily unavailable; try again soon"
    return {"Type": None, "Title": _PROBLEM_TITLES.get(status, "Error"), "Status": status,
            "Detail": message or _PROBLEM_TITLES.get(status, f"Xero answered {status}"),
            "Instance": None, "Extensions": {}}


def _ms(ts: float) -> str:
    return f"/Date({round(ts * 1000)}+0000)/"


def _money(value: Decimal) -> float:
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


class _Problems(Exception):
    """Validation messages for one element of an envelope."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _date(value: Any, field: str) -> datetime:
    """``2026-01-31``, ``2026-01-31T00:00:00`` or ``/Date(ms+0000)/`` -> UTC datetime."""
    if isinstance(value, str):
        m = re.fullmatch(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/", value)
        if m:
            return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise _Problems([f"{field} '{value}' is not a valid date"])


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool):
        raise _Problems([f"{field} must be a number, got {value!r}"])
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise _Problems([f"{field} must be a number, got {value!r}"]) from None
    if not out.is_finite():
        raise _Problems([f"{field} must be a number, got {value!r}"])
    return out


class Xero(FakeSystem):
    """Fake Xero Accounting.  Kinds: ``contact``, ``invoice`` (stored in the API's shape)."""

    name = "xero"
    default_hosts = ("api.xero.com", "identity.xero.com")
    kinds = ("contact", "invoice")
    descriptor = SystemDescriptor(
        name="xero",
        hosts=("api.xero.com", "identity.xero.com"),
        base_url_env="XERO_BASE_URL",
        id_shapes=(ID_UUID, r"INV-\d+"),
        encoding="json",
        errors=ErrorShape(body=xero_error_body, declined=400, invalid=400),
        idempotency=Idempotency(header="Idempotency-Key", methods=("POST", "PUT")),
        # what an invoice's line item bills
        money_fields=("UnitAmount", "LineAmount"),
        records=(
            RecordShape(endpoint="GET /api.xro/2.0/Invoices", kind="invoice", at="Invoices[]", id_field="InvoiceID",
                        system_fields=frozenset({"InvoiceID", "UpdatedDateUTC", "LineItems",
                                                 "SubTotal", "TotalTax", "Total", "AmountDue",
                                                 "AmountPaid", "AmountCredited"})),
            RecordShape(endpoint="GET /api.xro/2.0/Invoices/{id}", kind="invoice", at="Invoices[]", id_field="InvoiceID",
                        system_fields=frozenset({"InvoiceID", "UpdatedDateUTC", "LineItems",
                                                 "SubTotal", "TotalTax", "Total", "AmountDue",
                                                 "AmountPaid", "AmountCredited"})),
            RecordShape(endpoint="GET /api.xro/2.0/Contacts", kind="contact", at="Contacts[]", id_field="ContactID",
                        system_fields=frozenset({"ContactID", "UpdatedDateUTC"})),
            RecordShape(endpoint="GET /api.xro/2.0/Contacts/{id}", kind="contact", at="Contacts[]", id_field="ContactID",
                        system_fields=frozenset({"ContactID", "UpdatedDateUTC"})),
        ),
        docs="https://developer.xero.com/documentation/api/accounting/overview",
    )

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
        tenant_name: str = "Demo Company (Global)",
    ) -> None:
        self.tenant_name = tenant_name
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    # -- state ---------------------------------------------------------------

    def _init_state(self) -> None:
        super()._init_state()
        self.tenant_id = self._uuid()
        self.connection_id = self._uuid()
        self._next_invoice_number = 1
        self._keys: dict[tuple[str, str], tuple[float, Response]] = {}
        # refresh token -> (access token it last produced, time it stops working or None)
        self._refresh: dict[str, float | None] = {}
        self.replays = 0
        self._event_sequence = 1

    def _counter_state(self) -> Any:
        return self._next_id, self._next_invoice_number, self.replays, self._event_sequence

    def _restore_counters(self, state: Any) -> None:
        self._next_id, self._next_invoice_number, self.replays, self._event_sequence = state

    def _extra_state(self) -> Any:
        return dict(self._keys), dict(self._refresh)

    def _restore_extra(self, state: Any) -> None:
        keys, refresh = state
        self._keys, self._refresh = dict(keys), dict(refresh)

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # -- the Python API used by seeding and tests ------------------------------

    def issue_refresh_token(self) -> str:
        """A refresh token the fake accepts (what a user's app got at consent time)."""
        with self._lock:
            token = "".join(self._rng.choices("abcdef0123456789", k=64))
            self._refresh[token] = None
            return token

    def add_contact(self, name: str, *, email: str | None = None, first_name: str | None = None,
                    last_name: str | None = None, is_customer: bool = False) -> str:
        """Create a contact without logging a write (seeding); returns its ContactID."""
        with self._lock:
            fields: dict[str, Any] = {"Name": name}
            if email is not None:
                fields["EmailAddress"] = email
            if first_name is not None:
                fields["FirstName"] = first_name
            if last_name is not None:
                fields["LastName"] = last_name
            record = self._new_contact(fields)
            record["IsCustomer"] = is_customer
            self.seed_record("contact", record["ContactID"], record)
            return str(record["ContactID"])

    def add_invoice(self, contact_id: str, lines: Sequence[Mapping[str, Any]], *,
                    status: str = "AUTHORISED", reference: str = "",
                    currency: str = "USD") -> str:
        """Create an ACCREC invoice without logging a write (seeding); returns its InvoiceID."""
        with self._lock:
            body = {"Type": "ACCREC", "Contact": {"ContactID": contact_id}, "LineItems": list(lines),
                    "Status": status, "Reference": reference, "CurrencyCode": currency,
                    "DueDate": datetime.fromtimestamp(self.now() + 30 * 86_400, tz=UTC).date().isoformat()}
            record = self._build_invoice(body, None)
            self.seed_record("invoice", record["InvoiceID"], record)
            return str(record["InvoiceID"])

    def invoice_ids(self, *, status: str | None = None) -> list[str]:
        """Ids of every invoice (or those with ``status``), oldest first."""
        return [k for k, i in self._store["invoice"].items() if status is None or i["Status"] == status]

    def webhook_event(self, invoice_id: str, *, event_type: str = "UPDATE",
                      rng: Any = None) -> dict[str, Any]:
        """A Xero webhook delivery (one event) about an invoice that exists in this fake.

        The body Xero POSTs: ``{"events": [{"resourceUrl", "resourceId", "eventDateUtc",
        "eventType", "eventCategory": "INVOICE", "tenantId", "tenantType"}],
        "firstEventSequence", "lastEventSequence", "entropy"}``; each delivery
        takes the next sequence number.  :class:`~harness.errors.NotFoundError` (a ``KeyError``) names a missing invoice.
        """
        if event_type not in ("CREATE", "UPDATE"):
            raise InvalidValueError(f"xero.webhook_event: 'event_type' must be 'CREATE' or 'UPDATE': {event_type!r}")
        with self._lock:
            if str(invoice_id) not in self._store["invoice"]:
                raise NotFoundError(f"xero: no invoice {invoice_id!r}")
            source = rng if rng is not None else self._rng
            sequence = self._event_sequence
            self._event_sequence += 1
            at = datetime.fromtimestamp(self.now(), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            return {
                "events": [{"resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{invoice_id}",
                            "resourceId": str(invoice_id), "eventDateUtc": at, "eventType": event_type,
                            "eventCategory": "INVOICE", "tenantId": self.tenant_id,
                            "tenantType": "ORGANISATION"}],
                "firstEventSequence": sequence, "lastEventSequence": sequence,
                "entropy": "".join(source.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=20)),
            }

    def find_contacts(self, name: str) -> list[Mapping[str, Any]]:
        """Every active contact called ``name`` (case-insensitive), oldest first."""
        low = name.strip().lower()
        return [c for c in self._store["contact"].values()
                if c["Name"].lower() == low and c["ContactStatus"] == "ACTIVE"]

    def invoices_for(self, contact_id: str) -> list[Mapping[str, Any]]:
        """Every invoice of the contact, oldest first."""
        return [i for i in self._store["invoice"].values() if i["Contact"]["ContactID"] == contact_id]

    # -- errors ----------------------------------------------------------------

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        headers: dict[str, str] = {"Xero-Correlation-Id": self._uuid()}
        if status == 429:
            headers["Retry-After"] = str(int(max(1, retry_after if retry_after is not None else 60)))
            headers["X-Rate-Limit-Problem"] = "minute"
        elif retry_after is not None:
            headers["Retry-After"] = str(int(max(1, retry_after)))
        return Response.of_json(status, xero_error_body(status, message), headers)

    def _validation(self, elements: list[Mapping[str, Any]]) -> Response:
        return Response.of_json(400, {"ErrorNumber": 10, "Type": "ValidationException",
                                      "Message": "A validation exception occurred",
                                      "Elements": elements})

    def _query_error(self, message: str) -> Response:
        return Response.of_json(400, {"ErrorNumber": 16, "Type": "QueryParseException",
                                      "Message": message})

    def _not_found(self) -> Response:
        return self.error_response(404, message="The resource you're looking for cannot be found")

    # -- routing ---------------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        return (
            ("POST", r"/connect/token", self._token),
            ("GET", r"(?i)/connections", self._connections),
            ("GET", rf"(?i){API}/Contacts", self._list_contacts),
            ("PUT", rf"(?i){API}/Contacts", self._put_contacts),
            ("POST", rf"(?i){API}/Contacts", self._post_contacts),
            ("GET", rf"(?i){API}/Contacts/([^/]+)", self._get_contact),
            ("POST", rf"(?i){API}/Contacts/([^/]+)", self._post_contact),
            ("GET", rf"(?i){API}/Invoices", self._list_invoices),
            ("PUT", rf"(?i){API}/Invoices", self._put_invoices),
            ("POST", rf"(?i){API}/Invoices", self._post_invoices),
            ("GET", rf"(?i){API}/Invoices/([^/]+)", self._get_invoice),
            ("POST", rf"(?i){API}/Invoices/([^/]+)", self._post_invoice),
            ("GET", rf"(?i){API}/Accounts", self._accounts),
        )

    def _serve(self, request: Request, path: str) -> Response:
        identity = request.host.startswith("identity.")
        if identity != (path == "/connect/token"):
            return self._not_found()
        if not identity:
            scheme, _, token = (request.header("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return self.error_response(401, message="AuthenticationUnsuccessful")
            if path.lower().startswith(API.lower()):
                tenant = (request.header("xero-tenant-id") or "").strip()
                if tenant.lower() != self.tenant_id:
                    return self.error_response(
                        403, message="AuthorizationUnsuccessful" if tenant else
                        "the xero-tenant-id header is required; GET /connections lists the tenants")
        found = self._route(request, path)
        if found is False:
            return self.error_response(405, message=f"{request.method} is not allowed here")
        if not isinstance(found, tuple):
            return self._not_found()
        failure = self._scripted_failure(request, path)
        if failure is not None:
            return failure
        handler, match = found
        if request.method in ("PUT", "POST") and not identity:
            return self._idempotent(request, lambda: handler(request, *match.groups()))
        response: Response = handler(request, *match.groups())
        return response

    def _idempotent(self, request: Request, run: Any) -> Response:
        key = request.header("Idempotency-Key")
        if key is None:
            response: Response = run()
            return response
        if not key or len(key) > 128:
            return self._validation([{"ValidationErrors": [
                {"Message": f"Idempotency-Key must be 1 to 128 characters, got {len(key)}"}]}])
        now = self.now()
        seen = self._keys.get((self.tenant_id, key))
        if seen is not None and now - seen[0] < IDEMPOTENCY_TTL:
            self.replays += 1
            return seen[1]
        response = run()
        if response.status < 500:  # a server error is not an outcome: a retry acts again
            self._keys[(self.tenant_id, key)] = (now, response)
        return response

    # -- identity --------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        try:
            form = dict(request.form())
        except (ValueError, UnicodeDecodeError):
            form = {}
        client_id = form.get("client_id")
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id = base64.b64decode(value.strip()).decode().partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                client_id = None
        if not client_id:
            return Response.of_json(400, {"error": "invalid_client"})
        if form.get("grant_type") != "refresh_token":
            return Response.of_json(400, {"error": "unsupported_grant_type"})
        token = form.get("refresh_token", "")
        if not token.strip():
            return Response.of_json(400, {"error": "invalid_grant"})
        expires = self._refresh.get(token)
        now = self.now()
        if expires is not None and now >= expires:
            return Response.of_json(400, {"error": "invalid_grant"})
        if expires is None:  # the old token stays valid for the grace period, then dies
            self._refresh[token] = now + REFRESH_GRACE
        new = "".join(self._rng.choices("abcdef0123456789", k=64))
        self._refresh[new] = None
        access = "eyJ" + "".join(self._rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=40))
        return Response.of_json(200, {"id_token": None, "access_token": access, "expires_in": 1800,
                                      "token_type": "Bearer", "refresh_token": new,
                                      "scope": "offline_access accounting.transactions accounting.contacts"})

    def _connections(self, request: Request) -> Response:
        at = datetime.fromtimestamp(self.now() - 86_400, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        return Response.of_json(200, [{
            "id": self.connection_id, "authEventId": self.connection_id, "tenantId": self.tenant_id,
            "tenantType": "ORGANISATION", "tenantName": self.tenant_name,
            "createdDateUtc": at, "updatedDateUtc": at}])

    def _accounts(self, request: Request) -> Response:
        accounts = [{"AccountID": str(uuid.uuid5(uuid.NAMESPACE_OID, f"xero-account-{code}")),
                     "Code": code, "Name": name, "Status": "ACTIVE", "Type": kind, "TaxType": tax,
                     "Class": "REVENUE" if kind == "REVENUE" else "EXPENSE",
                     "EnablePaymentsToAccount": False, "ShowInExpenseClaims": False,
                     "ReportingCode": "REV" if kind == "REVENUE" else "EXP",
                     "HasAttachments": False, "UpdatedDateUTC": _ms(0)}
                    for code, (name, kind, tax) in ACCOUNTS.items()]
        return self._envelope("Accounts", accounts)

    # -- envelopes ---------------------------------------------------------------

    def _envelope(self, key: str, items: list[Any], extra: Mapping[str, Any] | None = None) -> Response:
        body: dict[str, Any] = {"Id": self._uuid(), "Status": "OK", "ProviderName": "harness",
                                "DateTimeUTC": f"/Date({int(self.now() * 1000)})/"}
        if extra:
            body.update(extra)
        body[key] = items
        return Response.of_json(200, body)

    def _elements(self, request: Request, key: str) -> list[Any] | Response:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            return self._validation([{"ValidationErrors": [
                {"Message": f"The request body is not valid JSON ({exc})"}]}])
        if isinstance(body, dict) and key not in body and body:
            # a single element sent without the envelope is accepted, as Xero does
            return [body]
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return self._validation([{"ValidationErrors": [
                {"Message": f"The request must carry a non-empty '{key}' array, e.g. "
                            f"{{\"{key}\": [{{...}}]}}"}]}])
        return items

    def _write_all(self, request: Request, key: str, items: list[Any], one: Any) -> Response:
        """Apply ``one(item)`` to each element; all-or-nothing unless ``summarizeErrors=false``."""
        summarize = dict(request.query).get("summarizeErrors", "true").lower() != "false"
        results: list[tuple[Mapping[str, Any], Record | None, list[str]]] = []
        for item in items:
            if not isinstance(item, dict):
                results.append(({}, None, [f"each element of '{key}' must be an object"]))
                continue
            try:
                results.append((item, one(item, dry=summarize), []))
            except _Problems as exc:
                results.append((item, None, exc.messages))
        failed = [(item, msgs) for item, _, msgs in results if msgs]
        if summarize and failed:
            return self._validation([{**_echo(key, item), "ValidationErrors": [{"Message": m} for m in msgs]}
                                     for item, msgs in failed])
        out = []
        for item, record, msgs in results:
            if msgs:
                out.append({**_echo(key, item), "StatusAttributeString": "ERROR",
                            "ValidationErrors": [{"Message": m} for m in msgs]})
                continue
            if summarize:  # validated dry first: now apply for real
                record = one(item, dry=False)
            assert record is not None
            out.append({**record, "StatusAttributeString": "OK"} if not summarize else dict(record))
        return self._envelope(key, out)

    # -- contacts ----------------------------------------------------------------

    def _new_contact(self, fields: Mapping[str, Any]) -> Record:
        now = self.now()
        record: Record = {
            "ContactID": self._uuid(), "ContactStatus": "ACTIVE", "Name": "", "FirstName": None,
            "LastName": None, "EmailAddress": None, "BankAccountDetails": "",
            "Addresses": [{"AddressType": "STREET", "City": "", "Region": "", "PostalCode": "", "Country": ""},
                          {"AddressType": "POBOX", "City": "", "Region": "", "PostalCode": "", "Country": ""}],
            "Phones": [{"PhoneType": t, "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""}
                       for t in ("DEFAULT", "DDI", "FAX", "MOBILE")],
            "UpdatedDateUTC": _ms(now), "ContactGroups": [], "IsSupplier": False, "IsCustomer": False,
            "ContactPersons": [], "HasAttachments": False, "HasValidationErrors": False,
        }
        return self._apply_contact(record, fields)

    def _apply_contact(self, record: Record, fields: Mapping[str, Any]) -> Record:
        problems: list[str] = []
        out = dict(record)
        for key in ("Name", "FirstName", "LastName", "EmailAddress", "AccountNumber", "ContactNumber",
                     "TaxNumber", "Addresses", "Phones", "ContactStatus", "DefaultCurrency",
                     "CompanyNumber", "Website"):
            if key in fields:
                out[key] = fields[key]
        name = out.get("Name")
        if not isinstance(name, str) or not name.strip():
            problems.append("The contact name must be specified.")
        elif len(name) > 255:
            problems.append("The contact name must not be longer than 255 characters.")
        email = out.get("EmailAddress")
        if email not in (None, "") and (not isinstance(email, str) or not _EMAIL.fullmatch(email)):
            problems.append("Email address must be valid.")
        if out.get("ContactStatus") not in ("ACTIVE", "ARCHIVED"):
            problems.append(f"ContactStatus must be ACTIVE or ARCHIVED, got {out.get('ContactStatus')!r}")
        if problems:
            raise _Problems(problems)
        out["UpdatedDateUTC"] = _ms(self.now())
        return out

    def _name_taken(self, name: str, but: str | None) -> bool:
        low = name.strip().lower()
        return any(c["Name"].lower() == low and c["ContactStatus"] == "ACTIVE" and c["ContactID"] != but
                   for c in self._store["contact"].values())

    def _contact_write(self, item: Mapping[str, Any], *, dry: bool, create_only: bool,
                       contact_id: str | None = None) -> Record:
        cid = contact_id or item.get("ContactID")
        existing: Record | None = None
        if cid:
            existing = self._store["contact"].get(str(cid).lower())
            if existing is None:
                raise _Problems([f"The contact with ContactID {cid} could not be found."])
            if create_only:
                raise _Problems([f"A contact with ContactID {cid} already exists; use POST to update it."])
        elif not create_only and isinstance(item.get("Name"), str):
            matches = self.find_contacts(item["Name"])
            existing = dict(matches[0]) if matches else None
        if existing is not None:
            record = self._apply_contact(existing, item)
            if self._name_taken(record["Name"], record["ContactID"]):
                raise _Problems([self._taken_message(record["Name"])])
            if not dry:
                self._store_record("contact", record["ContactID"], record, "update")
            return record
        record = self._new_contact(item) if not dry else self._apply_contact(
            {"ContactStatus": "ACTIVE", "Name": ""}, item)
        if self._name_taken(record["Name"], None):
            raise _Problems([self._taken_message(record["Name"])])
        if not dry:
            self._store_record("contact", record["ContactID"], record, "create")
        return record

    @staticmethod
    def _taken_message(name: str) -> str:
        return (f"The contact name {name} is already assigned to another contact. "
                "The contact name must be unique across all active contacts.")

    def _put_contacts(self, request: Request) -> Response:
        items = self._elements(request, "Contacts")
        if isinstance(items, Response):
            return items
        if self._duplicates(items):
            return self._validation([{"ValidationErrors": [{"Message": self._taken_message(self._duplicates(items))}]}])
        return self._write_all(request, "Contacts", items,
                               lambda item, dry: self._contact_write(item, dry=dry, create_only=True))

    @staticmethod
    def _duplicates(items: list[Any]) -> str:
        names = [str(i["Name"]).strip().lower() for i in items if isinstance(i, dict) and isinstance(i.get("Name"), str)]
        for n in names:
            if names.count(n) > 1:
                return n
        return ""

    def _post_contacts(self, request: Request) -> Response:
        items = self._elements(request, "Contacts")
        if isinstance(items, Response):
            return items
        return self._write_all(request, "Contacts", items,
                               lambda item, dry: self._contact_write(item, dry=dry, create_only=False))

    def _post_contact(self, request: Request, contact_id: str) -> Response:
        if contact_id.lower() not in self._store["contact"]:
            return self._not_found()
        items = self._elements(request, "Contacts")
        if isinstance(items, Response):
            return items
        return self._write_all(request, "Contacts", items[:1], lambda item, dry: self._contact_write(
            item, dry=dry, create_only=False, contact_id=contact_id.lower()))

    def _get_contact(self, request: Request, contact_id: str) -> Response:
        record = self._store["contact"].get(contact_id.lower())
        if record is None:
            return self._not_found()
        return self._envelope("Contacts", [record])

    def _list_contacts(self, request: Request) -> Response:
        query = dict(request.query)
        records = list(self._store["contact"].values())
        if query.get("includeArchived", "false").lower() != "true":
            records = [r for r in records if r["ContactStatus"] == "ACTIVE"]
        ids = {i.strip().lower() for i in query.get("IDs", "").split(",") if i.strip()}
        if ids:
            records = [r for r in records if r["ContactID"] in ids]
        term = query.get("searchTerm", "").strip().lower()
        if term:
            records = [r for r in records if any(term in str(r.get(f) or "").lower() for f in
                                                 ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress"))]
        return self._filtered(request, "Contacts", records, default_order="Name")

    # -- invoices ----------------------------------------------------------------

    def _lines(self, body: Mapping[str, Any], status: str, line_types: str) -> tuple[list[Record], Decimal, Decimal]:
        raw = body.get("LineItems") or []
        if not isinstance(raw, list):
            raise _Problems(["LineItems must be an array of line items"])
        problems: list[str] = []
        lines: list[Record] = []
        sub = tax_total = Decimal(0)
        for n, item in enumerate(raw, 1):
            if not isinstance(item, dict):
                problems.append(f"Line item {n} must be an object")
                continue
            try:
                desc = item.get("Description")
                if not isinstance(desc, str) or not desc.strip():
                    problems.append("The description field is mandatory for each line item.")
                qty = _decimal(item.get("Quantity", 1), "Quantity")
                unit = _decimal(item.get("UnitAmount", 0), "UnitAmount")
                discount = _decimal(item.get("DiscountRate", 0), "DiscountRate")
            except _Problems as exc:
                problems.extend(exc.messages)
                continue
            code = item.get("AccountCode")
            if code is not None and str(code) not in ACCOUNTS:
                problems.append(f"Account code '{code}' is not a valid code for this document.")
                continue
            if code is None and status in ("SUBMITTED", "AUTHORISED"):
                problems.append("Account code must be specified for each line item of an approved invoice.")
                continue
            tax_type = item.get("TaxType") or (ACCOUNTS[str(code)][2] if code is not None else "NONE")
            if tax_type not in TAX_RATES:
                problems.append(f"The TaxType code {tax_type} does not exist or cannot be used for this type of transaction.")
                continue
            amount = (qty * unit * (1 - discount / 100)).quantize(_CENT, rounding=ROUND_HALF_UP)
            rate = TAX_RATES[tax_type] if line_types != "NoTax" else Decimal(0)
            if line_types == "Inclusive":
                tax = (amount - amount / (1 + rate)).quantize(_CENT, rounding=ROUND_HALF_UP)
                sub += amount - tax
            else:
                tax = (amount * rate).quantize(_CENT, rounding=ROUND_HALF_UP)
                sub += amount
            tax_total += tax
            line: Record = {"Description": desc, "UnitAmount": float(unit), "TaxType": tax_type,
                            "TaxAmount": float(tax), "LineAmount": float(amount),
                            "AccountCode": None if code is None else str(code), "Tracking": [],
                            "Quantity": float(qty), "LineItemID": item.get("LineItemID") or self._uuid(),
                            "ValidationErrors": []}
            if discount:
                line["DiscountRate"] = float(discount)
            if item.get("ItemCode"):
                line["ItemCode"] = item["ItemCode"]
            lines.append(line)
        if problems:
            raise _Problems(problems)
        return lines, sub, tax_total

    def _contact_ref(self, body: Mapping[str, Any], *, dry: bool) -> Record:
        ref = body.get("Contact")
        if not isinstance(ref, dict) or not (ref.get("ContactID") or ref.get("Name")):
            raise _Problems(["A Contact must be specified for this type of transaction"])
        if ref.get("ContactID"):
            contact = self._store["contact"].get(str(ref["ContactID"]).lower())
            if contact is None:
                raise _Problems([f"The contact with ContactID {ref['ContactID']} could not be found."])
            return contact
        matches = self.find_contacts(str(ref["Name"]))
        if matches:
            return dict(matches[0])
        # Xero creates a contact named in an invoice that does not exist yet
        contact = self._new_contact(ref)
        if not dry:
            self._store_record("contact", contact["ContactID"], contact, "create")
        return contact

    def _build_invoice(self, body: Mapping[str, Any], existing: Record | None, *, dry: bool = False) -> Record:
        merged: dict[str, Any] = dict(existing or {})
        for key, value in body.items():
            if key not in ("InvoiceID", "SubTotal", "TotalTax", "Total", "AmountDue", "AmountPaid"):
                merged[key] = value
        problems: list[str] = []
        inv_type = merged.get("Type")
        if inv_type not in _INVOICE_TYPES:
            problems.append(f"Invoice Type must be ACCREC or ACCPAY, got {inv_type!r}.")
        status = str(merged.get("Status") or "DRAFT")
        if existing is None and status not in _CREATE_STATUSES:
            problems.append(f"An invoice can be created as DRAFT, SUBMITTED or AUTHORISED, not {status}.")
        if existing is not None and status not in _TRANSITIONS.get(existing["Status"], {existing["Status"]}):
            problems.append("Invoice not of valid status for modification")
        line_types = str(merged.get("LineAmountTypes") or "Exclusive")
        if line_types not in _LINE_AMOUNT_TYPES:
            problems.append(f"LineAmountTypes must be Exclusive, Inclusive or NoTax, got {line_types!r}.")
            line_types = "Exclusive"
        currency = merged.get("CurrencyCode") or "USD"
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            problems.append(f"The currency code {currency!r} is not a valid ISO 4217 code.")
        try:
            contact = self._contact_ref(merged, dry=dry)
        except _Problems as exc:
            problems.extend(exc.messages)
            contact = {}
        now = self.now()
        try:
            date = _date(merged["Date"], "Date") if merged.get("Date") else datetime.fromtimestamp(now, tz=UTC)
        except _Problems as exc:
            problems.extend(exc.messages)
            date = datetime.fromtimestamp(now, tz=UTC)
        due: datetime | None = None
        try:
            due = _date(merged["DueDate"], "DueDate") if merged.get("DueDate") else None
        except _Problems as exc:
            problems.extend(exc.messages)
        if due is None and status == "AUTHORISED" and inv_type == "ACCREC" and not problems:
            problems.append("Due Date cannot be empty for an approved invoice.")
        try:
            lines, sub, tax = self._lines(merged, status, line_types)
        except _Problems as exc:
            problems.extend(exc.messages)
            lines, sub, tax = [], Decimal(0), Decimal(0)
        if status in ("SUBMITTED", "AUTHORISED") and not lines and not problems:
            problems.append("An approved invoice must have at least one line item.")
        if problems:
            raise _Problems(problems)
        total = sub + tax
        date = date.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        number = merged.get("InvoiceNumber")
        if not number and inv_type == "ACCREC":
            number = f"INV-{self._next_invoice_number:04d}"
            if not dry:
                self._next_invoice_number += 1
        record: Record = {
            "Type": inv_type, "InvoiceID": existing["InvoiceID"] if existing else self._uuid(),
            "InvoiceNumber": number or "", "Reference": merged.get("Reference") or "",
            "Prepayments": [], "Overpayments": [], "AmountDue": _money(total), "AmountPaid": 0.0,
            "AmountCredited": 0.0, "SentToContact": bool(merged.get("SentToContact", False)),
            "CurrencyRate": 1.0, "IsDiscounted": any("DiscountRate" in line for line in lines),
            "HasAttachments": False, "HasErrors": False,
            "Contact": {k: contact.get(k) for k in ("ContactID", "ContactStatus", "Name", "FirstName",
                                                    "LastName", "EmailAddress")},
            "DateString": date.strftime("%Y-%m-%dT00:00:00"), "Date": _ms(date.timestamp()),
            "Status": status, "LineAmountTypes": line_types, "LineItems": lines,
            "SubTotal": _money(sub), "TotalTax": _money(tax), "Total": _money(total),
            "UpdatedDateUTC": _ms(now), "CurrencyCode": currency,
        }
        if due is not None:
            due = due.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            record["DueDateString"] = due.strftime("%Y-%m-%dT00:00:00")
            record["DueDate"] = _ms(due.timestamp())
        if status in ("DELETED", "VOIDED"):
            record["AmountDue"] = 0.0
        return record

    def _find_invoice(self, ref: str) -> Record | None:
        record = self._store["invoice"].get(ref.lower())
        if record is not None:
            return record
        return next((i for i in self._store["invoice"].values() if i["InvoiceNumber"] == ref), None)

    def _invoice_write(self, item: Mapping[str, Any], *, dry: bool, create_only: bool,
                       ref: str | None = None) -> Record:
        existing: Record | None = None
        target = ref or item.get("InvoiceID")
        if target:
            existing = self._find_invoice(str(target))
            if existing is None:
                raise _Problems([f"The invoice {target} could not be found."])
            if create_only:
                raise _Problems([f"An invoice with InvoiceID {target} already exists; use POST to update it."])
        elif not create_only and item.get("InvoiceNumber"):
            existing = self._find_invoice(str(item["InvoiceNumber"]))
        if existing is not None and existing["Status"] not in _TRANSITIONS:
            raise _Problems(["Invoice not of valid status for modification"])
        record = self._build_invoice(item, existing, dry=dry)
        if not dry:
            self._store_record("invoice", record["InvoiceID"], record, "update" if existing else "create")
            if record["Type"] == "ACCREC" and record["Status"] == "AUTHORISED":
                contact = self._store["contact"].get(record["Contact"]["ContactID"])
                if contact is not None and not contact["IsCustomer"]:
                    self._store_record("contact", contact["ContactID"], {**contact, "IsCustomer": True}, "update")
        return record

    def _put_invoices(self, request: Request) -> Response:
        items = self._elements(request, "Invoices")
        if isinstance(items, Response):
            return items
        return self._write_all(request, "Invoices", items,
                               lambda item, dry: self._invoice_write(item, dry=dry, create_only=True))

    def _post_invoices(self, request: Request) -> Response:
        items = self._elements(request, "Invoices")
        if isinstance(items, Response):
            return items
        return self._write_all(request, "Invoices", items,
                               lambda item, dry: self._invoice_write(item, dry=dry, create_only=False))

    def _post_invoice(self, request: Request, ref: str) -> Response:
        if self._find_invoice(ref) is None:
            return self._not_found()
        items = self._elements(request, "Invoices")
        if isinstance(items, Response):
            return items
        return self._write_all(request, "Invoices", items[:1], lambda item, dry: self._invoice_write(
            item, dry=dry, create_only=False, ref=ref))

    def _get_invoice(self, request: Request, ref: str) -> Response:
        record = self._find_invoice(ref)
        if record is None:
            return self._not_found()
        return self._envelope("Invoices", [record])

    def _list_invoices(self, request: Request) -> Response:
        query = dict(request.query)
        records = list(self._store["invoice"].values())
        for param, field in (("IDs", "InvoiceID"), ("Statuses", "Status"), ("InvoiceNumbers", "InvoiceNumber")):
            wanted = {v.strip() for v in query.get(param, "").split(",") if v.strip()}
            if wanted:
                low = {w.lower() for w in wanted}
                records = [r for r in records if str(r[field]).lower() in low]
        contacts = {v.strip().lower() for v in query.get("ContactIDs", "").split(",") if v.strip()}
        if contacts:
            records = [r for r in records if r["Contact"]["ContactID"] in contacts]
        return self._filtered(request, "Invoices", records, default_order="UpdatedDateUTC",
                              summary_without_page=True)

    def _filtered(self, request: Request, key: str, records: list[Record], *, default_order: str,
                  summary_without_page: bool = False) -> Response:
        query = dict(request.query)
        try:
            where = compile_where(query.get("where", ""))
        except WhereError as exc:
            return self._query_error(f"{exc} in where={query.get('where')!r}")
        records = [r for r in records if where(r)]
        order = query.get("order", "").strip()
        if order:
            field, _, direction = order.partition(" ")
            if not records or not any(k.lower() == field.lower() for k in records[0]):
                if records:
                    return self._query_error(f"No property or field '{field}' exists in type '{key[:-1]}'")
            else:
                real = next(k for k in records[0] if k.lower() == field.lower())
                records.sort(key=lambda r: (r.get(real) is None, str(r.get(real) or "")),
                             reverse=direction.strip().upper() == "DESC")
        page_raw = query.get("page")
        if page_raw is None:
            if summary_without_page:
                records = [{k: v for k, v in r.items() if k != "LineItems"} for r in records]
            return self._envelope(key, records)
        try:
            page = max(1, int(page_raw))
            size = min(1000, max(1, int(query.get("pageSize", "100"))))
        except ValueError:
            return self._query_error(f"page and pageSize must be integers, got {page_raw!r}")
        items = records[(page - 1) * size : page * size]
        pages = (len(records) + size - 1) // size
        return self._envelope(key, items, {"pagination": {"page": page, "pageSize": size,
                                                          "pageCount": pages, "itemCount": len(records)}})


_NIL = "00000000-0000-0000-0000-000000000000"


def _echo(key: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """A rejected element as Xero echoes it: the sent fields over the element's blank form."""
    if key == "Contacts":
        blank: dict[str, Any] = {"ContactID": _NIL, "Name": "", "EmailAddress": "", "Addresses": [],
                                 "Phones": [], "ContactGroups": [], "ContactPersons": [],
                                 "HasValidationErrors": True}
    else:
        blank = {"Type": "ACCREC", "InvoiceID": _NIL, "Contact": {"ContactID": _NIL}, "LineItems": [],
                 "HasErrors": True, "HasValidationErrors": True}
    return {**blank, **item, **{k: v for k, v in blank.items() if k.startswith("Has")}}
