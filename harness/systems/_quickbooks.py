"""A stateful fake of QuickBooks Online's Accounting API v3: customers, items, invoices, query.

Served hosts: ``quickbooks.api.intuit.com`` and ``sandbox-quickbooks.api.intuit.com``,
paths ``/v3/company/{realmId}/...`` (the fake's ``realm_id``; another realm is a
403 ``ApplicationAuthorizationFailed``), and Intuit's OAuth 2.0 hosts: the
discovery document on ``developer.intuit.com/.well-known/openid_configuration/``
and the token endpoint ``POST oauth.platform.intuit.com/oauth2/v1/tokens/bearer``
(form-encoded ``grant_type=refresh_token``, client credentials in basic auth;
a new access token and the refresh token, as Intuit answers):

* ``POST /customer``, ``GET /customer/{id}``; ``POST /invoice``,
  ``GET /invoice/{id}``; ``GET /item/{id}``; ``GET|POST /query`` with
  ``select * from Invoice where ...`` (see :mod:`harness.systems._quickbooks_query`).
  Answers wrap the entity (``{"Invoice": {...}, "time": ...}``); a query
  answers ``{"QueryResponse": {"Invoice": [...], "startPosition", "maxResults"}}``.
* A ``POST`` with ``Id`` and ``SyncToken`` updates (``"sparse": true`` merges,
  otherwise the writable fields are replaced); a ``SyncToken`` other than the
  current one is the stale-object error 5010, as two editors racing get.
* ``requestid=`` on a ``POST`` (as Intuit documents): the same id within 24 hours
  replays the first answer without acting again.
* Errors are ``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}],
  "type": "ValidationFault"}, "time": ...}``: 2010 unknown property, 2020 required
  parameter missing, 2500 invalid reference, 6070 ``Amount`` not ``UnitPrice * Qty``,
  6140 duplicate ``DocNumber`` (unless ``include=allowduplicatedocnum``), 6240
  duplicate customer name, 610 object not found.  A missing or malformed token
  is the lower-case ``{"fault": {"error": [...], "type": "AUTHENTICATION"}}`` 401.

Not modelled: payments, taxes (``TxnTaxDetail.TotalTax`` is 0), multicurrency
rates, ``operation=delete|void``, batch, CDC, XML, webhook signing (the
``quickbooks.customer.updated`` trigger builds the notification body only).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from harness._shared.wire import Request, Response
from harness.errors import InvalidValueError, NotFoundError
from harness.systems._base import FakeSystem, Record
from harness.systems._descriptor import (
    ID_NUMERIC,
    ErrorShape,
    Idempotency,
    RecordShape,
    SystemDescriptor,
)
from harness.systems._quickbooks_query import QueryError, parse_query

__all__ = ["QuickBooks"]

REQUEST_ID_TTL = 24 * 3600.0
_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal(10) ** 10
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ENTITIES = {"customer": "Customer", "invoice": "Invoice", "item": "Item"}
#: writable fields per entity (anything else in a request is error 2010, as QBO answers)
_CUSTOMER_FIELDS = frozenset({
    "Id", "SyncToken", "sparse", "DisplayName", "GivenName", "FamilyName", "MiddleName", "Title",
    "Suffix", "CompanyName", "PrintOnCheckName", "PrimaryEmailAddr", "PrimaryPhone", "Mobile",
    "BillAddr", "ShipAddr", "Notes", "Active", "Taxable", "CurrencyRef", "WebAddr",
    "PreferredDeliveryMethod", "domain", "MetaData", "FullyQualifiedName", "Balance", "BalanceWithJobs",
    "Job", "BillWithParent", "IsProject", "Level", "OpenBalanceDate", "PrimaryTaxIdentifier", "ResaleNum",
    "ParentRef", "DefaultTaxCodeRef", "SalesTermRef", "PaymentMethodRef", "AlternatePhone", "Fax",
    "ARAccountRef", "TaxExemptionReasonId", "SecondaryTaxIdentifier", "BusinessNumber", "GSTIN",
    "GSTRegistrationType", "CustomerTypeRef", "Source",
})
_INVOICE_FIELDS = frozenset({
    "Id", "SyncToken", "sparse", "Line", "CustomerRef", "DocNumber", "TxnDate", "DueDate", "AllowIPNPayment",
    "BillEmail", "CustomerMemo", "PrivateNote", "CurrencyRef", "SalesTermRef", "BillAddr",
    "ShipAddr", "EmailStatus", "PrintStatus", "AllowOnlinePayment", "AllowOnlineCreditCardPayment",
    "AllowOnlineACHPayment", "CustomField", "TxnTaxDetail", "domain", "MetaData", "TotalAmt",
    "Balance", "LinkedTxn", "ApplyTaxAfterDiscount", "Deposit", "GlobalTaxCalculation", "ExchangeRate",
    "FreeFormAddress", "HomeBalance", "HomeTotalAmt", "InvoiceLink", "ShipDate", "TrackingNum",
    "ShipMethodRef", "ClassRef", "DepartmentRef", "DepositToAccountRef", "TxnSource", "ShipFromAddr",
    "RecurDataRef", "TaxExemptionRef", "TransactionLocationType", "ProjectRef", "BillEmailCc", "BillEmailBcc",
})
_LINE_FIELDS = frozenset({"Id", "LineNum", "Description", "Amount", "DetailType", "SalesItemLineDetail",
                          "SubTotalLineDetail", "DiscountLineDetail", "LinkedTxn", "CustomField"})


def _time(ts: float) -> str:
    """QBO's timestamps: Pacific offset, milliseconds (``2026-01-01T08:00:00.000-08:00``)."""
    dt = datetime.fromtimestamp(ts, tz=UTC) - timedelta(hours=8)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}-08:00"


def quickbooks_error_body(status: int, message: str | None) -> Any:
    """The Fault body QBO sends with ``status`` (a ValidationFault for 400)."""
    if status == 401:
        return {"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                                     "detail": message or "Token expired", "code": "3200"}],
                          "type": "AUTHENTICATION"}}
    if status == 403:
        err = {"Message": "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
               "Detail": message or "", "code": "3100"}
        kind = "AUTHORIZATION"
    elif status == 429:
        err = {"Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
               "Detail": message or "The request limit was reached.", "code": "3001"}
        kind = "SERVICE"
    elif status >= 500:
        err = {"Message": "An application error has occurred while processing your request",
               "Detail": message or "System Failure Error: An unexpected error occurred while accessing or saving your data.",
               "code": "10000"}
        kind = "SystemFault"
    else:
        err = {"Message": "A business validation error has occurred while processing your request",
               "Detail": message or "Business Validation Error: the request was rejected", "code": "6000",
               "element": ""}
        kind = "ValidationFault"
    return {"Fault": {"Error": [err], "type": kind}, "time": "2026-01-01T00:00:00.000-08:00"}


class _Fault(Exception):
    def __init__(self, code: str, message: str, detail: str, element: str = "") -> None:
        super().__init__(detail)
        self.code, self.message, self.detail, self.element = code, message, detail, element


def _missing(element: str) -> _Fault:
    return _Fault("2020", "Required param missing, need to supply the required value for the API",
                  f"Required parameter {element} is missing in the request", element)


def _money(value: Any, element: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise _Fault("2050", "Invalid Number", f"{element} must be a number, got {value!r}", element)
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise _Fault("2050", "Invalid Number", f"{element} must be a number, got {value!r}", element) from None
    if not out.is_finite():
        raise _Fault("2050", "Invalid Number", f"{element} must be a number, got {value!r}", element)
    # Intuit's reference: amounts hold at most 15 digits in 10.5 format
    if abs(out) >= _MAX_AMOUNT:
        raise _Fault("2050", "Invalid Number",
                     f"{element} {value!r} is out of range: at most 15 digits in 10.5 format", element)
    return out


class QuickBooks(FakeSystem):
    """Fake QuickBooks Online.  Kinds: ``customer``, ``invoice``, ``item``."""

    name = "quickbooks"
    default_hosts = ("quickbooks.api.intuit.com", "sandbox-quickbooks.api.intuit.com",
                     "oauth.platform.intuit.com", "developer.intuit.com")
    kinds = ("customer", "invoice", "item")
    descriptor = SystemDescriptor(
        name="quickbooks",
        hosts=("quickbooks.api.intuit.com", "sandbox-quickbooks.api.intuit.com",
               "oauth.platform.intuit.com", "developer.intuit.com"),
        base_url_env="QUICKBOOKS_BASE_URL",
        id_shapes=(ID_NUMERIC,),
        encoding="json",
        errors=ErrorShape(body=quickbooks_error_body, declined=400, invalid=400,
                          rejected_field=lambda body: _rejected(body)),
        idempotency=Idempotency(query_param="requestid", methods=("POST",)),
        # what an invoice line bills
        money_fields=("Amount", "UnitPrice"),
        records=(
            RecordShape(endpoint="GET /v3/company/{realm}/invoice/{id}", kind="invoice", at="Invoice", id_field="Id",
                        system_fields=frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse",
                                                 "TotalAmt", "Balance", "Line"})),
            RecordShape(endpoint="GET /v3/company/{realm}/customer/{id}", kind="customer", at="Customer", id_field="Id",
                        system_fields=frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse",
                                                 "Balance", "BalanceWithJobs", "FullyQualifiedName"})),
            RecordShape(endpoint="GET /v3/company/{realm}/query", kind="invoice", at="QueryResponse.Invoice[]", id_field="Id",
                        system_fields=frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse",
                                                 "TotalAmt", "Balance", "Line"})),
            RecordShape(endpoint="GET /v3/company/{realm}/query", kind="customer", at="QueryResponse.Customer[]", id_field="Id",
                        system_fields=frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse",
                                                 "Balance", "BalanceWithJobs", "FullyQualifiedName"})),
        ),
        docs="https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice",
    )

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
        realm_id: str = "9341452183926457",
    ) -> None:
        self.realm_id = str(realm_id)
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    # -- state ---------------------------------------------------------------

    def _init_state(self) -> None:
        super()._init_state()
        self._next_id = 1
        self._next_doc = 1001
        self._request_ids: dict[str, tuple[float, str, Response]] = {}
        self.replays = 0
        for item_id, name, price in (("1", "Services", 0), ("2", "Hours", 150), ("3", "Licence", 1200)):
            self._store["item"][item_id] = {
                "Name": name, "Active": True, "FullyQualifiedName": name, "Taxable": False,
                "UnitPrice": price, "Type": "Service", "IncomeAccountRef": {"value": "1", "name": "Services"},
                "PurchaseCost": 0, "TrackQtyOnHand": False, "domain": "QBO", "sparse": False, "Id": item_id,
                "SyncToken": "0", "MetaData": {"CreateTime": _time(0), "LastUpdatedTime": _time(0)},
            }
        self._next_id = 4

    def _counter_state(self) -> Any:
        return self._next_id, self._next_doc, self.replays

    def _restore_counters(self, state: Any) -> None:
        self._next_id, self._next_doc, self.replays = state

    def _extra_state(self) -> Any:
        return dict(self._request_ids)

    def _restore_extra(self, state: Any) -> None:
        self._request_ids = dict(state)

    # -- the Python API used by seeding and tests ------------------------------

    def add_customer(self, display_name: str, *, email: str | None = None, given_name: str | None = None,
                     family_name: str | None = None, company: str | None = None) -> str:
        """Create a customer without logging a write (seeding); returns its Id."""
        with self._lock:
            body: dict[str, Any] = {"DisplayName": display_name}
            if email:
                body["PrimaryEmailAddr"] = {"Address": email}
            if given_name:
                body["GivenName"] = given_name
            if family_name:
                body["FamilyName"] = family_name
            if company:
                body["CompanyName"] = company
            record = self._customer(body, None)
            self.seed_record("customer", record["Id"], record)
            return str(record["Id"])

    def webhook_event(self, entity: str, object_id: str, *, operation: str = "Create") -> dict[str, Any]:
        """The body of a QuickBooks webhook (``eventNotifications``) about one entity.

        ``{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities":
        [{"name", "id", "operation", "lastUpdated"}]}}]}``; ``KeyError`` names a
        missing record.
        """
        kind = entity.lower()
        if kind not in _ENTITIES or operation not in ("Create", "Update", "Delete", "Merge", "Void"):
            raise InvalidValueError(f"quickbooks.webhook_event: unsupported {entity!r}/{operation!r}")
        with self._lock:
            record = self._store[kind].get(str(object_id))
            if record is None:
                raise NotFoundError(f"quickbooks: no {kind} {object_id!r}")
            updated = datetime.fromtimestamp(self.now(), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            return {"eventNotifications": [{"realmId": self.realm_id, "dataChangeEvent": {"entities": [
                {"name": _ENTITIES[kind], "id": str(object_id), "operation": operation, "lastUpdated": updated}]}}]}

    def invoices_for(self, customer_id: str) -> list[Mapping[str, Any]]:
        """Every invoice of the customer, oldest first."""
        return [i for i in self._store["invoice"].values() if i["CustomerRef"]["value"] == str(customer_id)]

    # -- errors ----------------------------------------------------------------

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        headers: dict[str, str] = {"intuit_tid": f"1-{self._rng.getrandbits(64):016x}"}
        if retry_after is not None or status == 429:
            headers["Retry-After"] = str(int(max(1, retry_after if retry_after is not None else 60)))
        body = quickbooks_error_body(status, message)
        if "Fault" in body:
            body["time"] = _time(self.now())
        return Response.of_json(status, body, headers)

    def _fault(self, fault: _Fault) -> Response:
        return Response.of_json(400, {"Fault": {"Error": [{"Message": fault.message, "Detail": fault.detail,
                                                           "code": fault.code, "element": fault.element}],
                                                "type": "ValidationFault"},
                                      "time": _time(self.now())})

    # -- routing ---------------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        base = r"/v3/company/([^/]+)"
        return (
            ("GET", base + r"/query", self._query),
            ("POST", base + r"/query", self._query),
            ("POST", base + r"/(?i:customer)", self._post_customer),
            ("GET", base + r"/(?i:customer)/([^/]+)", self._get("customer")),
            ("POST", base + r"/(?i:invoice)", self._post_invoice),
            ("GET", base + r"/(?i:invoice)/([^/]+)", self._get("invoice")),
            ("GET", base + r"/(?i:item)/([^/]+)", self._get("item")),
        )

    def _serve(self, request: Request, path: str) -> Response:
        if request.host in ("oauth.platform.intuit.com", "developer.intuit.com"):
            return self._oauth(request, path)
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self.error_response(401, message="Token expired or missing: send 'Authorization: Bearer <access token>'")
        found = self._route(request, path)
        if found is False:
            return self.error_response(405, message=f"{request.method} is not supported on {path}")
        if not isinstance(found, tuple):
            return Response.of_json(404, {"Fault": {"Error": [{"Message": "Unsupported Operation",
                                                                "Detail": f"Operation {path} is not supported.",
                                                                "code": "4001"}], "type": "ValidationFault"},
                                          "time": _time(self.now())})
        handler, match = found
        realm, *rest = match.groups()
        if realm != self.realm_id:
            return self.error_response(403, message=f"realmId {realm} is not the company this token is for")
        failure = self._scripted_failure(request, path)
        if failure is not None:
            return failure
        request_id = dict(request.query).get("requestid")
        if request.method == "POST" and request_id and not path.endswith("/query"):
            seen = self._request_ids.get(request_id)
            if seen is not None and self.now() - seen[0] < REQUEST_ID_TTL and seen[1] == path:
                self.replays += 1
                return seen[2]
        try:
            response: Response = handler(request, *rest)
        except _Fault as fault:
            response = self._fault(fault)
        if request.method == "POST" and request_id and response.status < 500 and not path.endswith("/query"):
            self._request_ids[request_id] = (self.now(), path, response)
        return response

    def _oauth(self, request: Request, path: str) -> Response:
        """Intuit's OpenID discovery document and refresh-token grant."""
        if request.method == "GET" and path.rstrip("/") in ("/.well-known/openid_configuration",
                                                             "/.well-known/openid_sandbox_configuration"):
            return Response.of_json(200, {
                "issuer": "https://oauth.platform.intuit.com/op/v1",
                "authorization_endpoint": "https://appcenter.intuit.com/connect/oauth2",
                "token_endpoint": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
                "userinfo_endpoint": "https://accounts.platform.intuit.com/v1/openid_connect/userinfo",
                "revocation_endpoint": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
                "jwks_uri": "https://oauth.platform.intuit.com/op/v1/jwks",
                "response_types_supported": ["code"], "grant_types_supported": ["authorization_code", "refresh_token"],
            })
        if request.method != "POST" or path != "/oauth2/v1/tokens/bearer":
            return Response.of_json(404, {"error": "not_found", "error_description": f"no {request.method} {path}"})
        scheme, _, _value = (request.header("Authorization") or "").partition(" ")
        try:
            form = dict(request.form())
        except (ValueError, UnicodeDecodeError):
            form = {}
        if scheme.lower() != "basic":
            return Response.of_json(401, {"error": "invalid_client"})
        if form.get("grant_type") != "refresh_token":
            return Response.of_json(400, {"error": "unsupported_grant_type"})
        if not form.get("refresh_token", "").strip():
            return Response.of_json(400, {"error": "invalid_grant"})
        access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0." + "".join(
            self._rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=32))
        # Intuit keeps the refresh token until it rotates it (about once a day)
        return Response.of_json(200, {"token_type": "bearer", "expires_in": 3600,
                                      "refresh_token": form["refresh_token"],
                                      "x_refresh_token_expires_in": 8_726_400, "access_token": access})

    def _wrap(self, entity: str, record: Mapping[str, Any]) -> Response:
        return Response.of_json(200, {entity: record, "time": _time(self.now())})

    def _get(self, kind: str) -> Any:
        def handler(request: Request, object_id: str) -> Response:
            record = self._store[kind].get(object_id)
            if record is None:
                raise _Fault("610", "Object Not Found",
                             "Object Not Found : Something you're trying to use has been made inactive. "
                             "Check the fields with accounts, customers, items, vendors or employees.")
            return self._wrap(_ENTITIES[kind], record)

        return handler

    def _body(self, request: Request, fields: frozenset[str]) -> dict[str, Any]:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Fault("2310", "Invalid Request", f"Request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise _Fault("2310", "Invalid Request", "The request body must be a JSON object")
        unknown = sorted(set(body) - fields)
        if unknown:
            raise _Fault("2010", "Request has invalid or unsupported property",
                         f'Property Name:Unrecognized field "{unknown[0]}" specified is unsupported or invalid',
                         unknown[0])
        return body

    def _existing(self, kind: str, body: Mapping[str, Any]) -> Record | None:
        if "Id" not in body:
            return None
        record = self._store[kind].get(str(body["Id"]))
        if record is None:
            raise _Fault("610", "Object Not Found", f"Object Not Found : {_ENTITIES[kind]} {body['Id']} does not exist")
        if "SyncToken" not in body:
            raise _missing("SyncToken")
        if str(body["SyncToken"]) != record["SyncToken"]:
            raise _Fault("5010", "Stale Object Error",
                         "Stale Object Error : You and someone else were working on this at the same time. "
                         "They finished before you did, so your work was not saved.")
        return record

    def _meta(self, existing: Record | None) -> dict[str, Any]:
        now = _time(self.now())
        if existing is None:
            return {"CreateTime": now, "LastUpdatedTime": now}
        return {"CreateTime": existing["MetaData"]["CreateTime"], "LastUpdatedTime": now}

    # -- customers ----------------------------------------------------------------

    def _customer(self, body: Mapping[str, Any], existing: Record | None) -> Record:
        base: dict[str, Any] = dict(existing) if existing is not None and body.get("sparse") else {}
        writable = {k: v for k, v in body.items() if k not in ("Id", "SyncToken", "sparse", "domain", "MetaData",
                                                                 "Balance", "BalanceWithJobs", "FullyQualifiedName")}
        merged = {**base, **writable}
        names = [merged.get(k) for k in ("DisplayName", "GivenName", "FamilyName", "CompanyName", "Title")]
        if not any(isinstance(n, str) and n.strip() for n in names):
            raise _missing("DisplayName")
        display = merged.get("DisplayName") or " ".join(
            n for n in (merged.get("GivenName"), merged.get("FamilyName")) if n) or merged.get("CompanyName")
        display = str(display).strip()
        if len(display) > 500:
            raise _Fault("6000", "A business validation error has occurred while processing your request",
                         "Business Validation Error: DisplayName is longer than 500 characters", "DisplayName")
        oid = existing["Id"] if existing else None
        for other in self._store["customer"].values():
            if other["DisplayName"].lower() == display.lower() and other["Id"] != oid and other["Active"]:
                raise _Fault("6240", "Duplicate Name Exists Error",
                             f"The name supplied already exists. : Id={other['Id']}")
        email = merged.get("PrimaryEmailAddr")
        if email is not None:
            address = email.get("Address") if isinstance(email, dict) else None
            if not isinstance(address, str) or not _EMAIL.fullmatch(address):
                raise _Fault("2130", "Invalid Email Address format",
                             f"Invalid Email Address format : {address!r}", "PrimaryEmailAddr.Address")
        if oid is None:
            oid = str(self._numeric_id())
        record: Record = {
            "Taxable": bool(merged.get("Taxable", False)), "Job": False, "BillWithParent": False,
            "Balance": existing["Balance"] if existing else 0, "BalanceWithJobs": existing["Balance"] if existing else 0,
            "CurrencyRef": merged.get("CurrencyRef") or {"value": "USD", "name": "United States Dollar"},
            "PreferredDeliveryMethod": merged.get("PreferredDeliveryMethod", "Print"), "IsProject": False,
            "domain": "QBO", "sparse": False, "Id": oid,
            "SyncToken": str(int(existing["SyncToken"]) + 1) if existing else "0",
            "MetaData": self._meta(existing), "FullyQualifiedName": display, "DisplayName": display,
            "PrintOnCheckName": merged.get("PrintOnCheckName") or display, "Active": bool(merged.get("Active", True)),
        }
        for key in ("GivenName", "FamilyName", "MiddleName", "Title", "Suffix", "CompanyName", "PrimaryEmailAddr",
                    "PrimaryPhone", "Mobile", "BillAddr", "ShipAddr", "Notes", "WebAddr"):
            if merged.get(key) is not None:
                record[key] = merged[key]
        return record

    def _post_customer(self, request: Request) -> Response:
        body = self._body(request, _CUSTOMER_FIELDS)
        existing = self._existing("customer", body)
        record = self._customer(body, existing)
        self._store_record("customer", record["Id"], record, "update" if existing else "create")
        return self._wrap("Customer", record)

    # -- invoices ----------------------------------------------------------------

    def _lines(self, raw: Any) -> tuple[list[Record], Decimal]:
        if not isinstance(raw, list) or not raw:
            raise _missing("Line")
        lines: list[Record] = []
        total = Decimal(0)
        for n, line in enumerate(raw, 1):
            if not isinstance(line, dict):
                raise _Fault("2310", "Invalid Request", f"Line {n} must be an object", "Line")
            unknown = sorted(set(line) - _LINE_FIELDS)
            if unknown:
                raise _Fault("2010", "Request has invalid or unsupported property",
                             f'Property Name:Unrecognized field "{unknown[0]}" specified is unsupported or invalid',
                             f"Line.{unknown[0]}")
            kind = line.get("DetailType")
            if kind == "SubTotalLineDetail":
                continue  # QBO computes the subtotal line itself
            if kind != "SalesItemLineDetail":
                raise _missing("Line.DetailType") if kind is None else _Fault(
                    "2010", "Request has invalid or unsupported property",
                    f"Line.DetailType {kind!r} is not supported here; use SalesItemLineDetail", "Line.DetailType")
            if "Amount" not in line:
                raise _missing("Line.Amount")
            amount = _money(line["Amount"], "Line.Amount").quantize(_CENT, rounding=ROUND_HALF_UP)
            detail = line.get("SalesItemLineDetail") or {}
            if not isinstance(detail, dict):
                raise _Fault("2310", "Invalid Request", "SalesItemLineDetail must be an object", "Line.SalesItemLineDetail")
            item_ref = detail.get("ItemRef") or {"value": "1"}
            item = self._store["item"].get(str(item_ref.get("value") if isinstance(item_ref, dict) else ""))
            if item is None:
                raise _Fault("2500", "Invalid Reference Id",
                             f"Invalid Reference Id : Item assigned to this transaction has been deleted or does not exist: {item_ref!r}",
                             "Line.SalesItemLineDetail.ItemRef")
            out_detail: dict[str, Any] = {"ItemRef": {"value": item["Id"], "name": item["Name"]},
                                          "TaxCodeRef": detail.get("TaxCodeRef") or {"value": "NON"}}
            # zeros count as not given: SDKs send UnitPrice 0 / Qty 0 with only an Amount,
            # which QBO accepts; a supplied pair must multiply to the Amount (6070)
            if detail.get("UnitPrice") not in (None, 0, "0") or detail.get("Qty") not in (None, 0, "0"):
                unit = _money(detail["UnitPrice"] if detail.get("UnitPrice") is not None else amount,
                              "Line.SalesItemLineDetail.UnitPrice")
                qty = _money(detail["Qty"] if detail.get("Qty") is not None else 1, "Line.SalesItemLineDetail.Qty")
                if (unit * qty).quantize(_CENT, rounding=ROUND_HALF_UP) != amount:
                    raise _Fault("6070", "Amount is not equal to UnitPrice * Qty",
                                 f"Amount is not equal to UnitPrice * Qty. Supplied value:{float(amount)}",
                                 "Line.Amount")
                out_detail["UnitPrice"] = float(unit)
                out_detail["Qty"] = float(qty)
            else:  # QBO fills in one unit at the line's amount
                out_detail["UnitPrice"] = float(amount)
                out_detail["Qty"] = 1
            lines.append({"Id": str(n), "LineNum": n, "Description": line.get("Description"),
                          "Amount": float(amount), "DetailType": "SalesItemLineDetail",
                          "SalesItemLineDetail": out_detail})
            total += amount
        if not lines:
            raise _missing("Line")
        lines.append({"Amount": float(total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        return lines, total

    def _invoice(self, request: Request, body: Mapping[str, Any], existing: Record | None) -> Record:
        base: dict[str, Any] = dict(existing) if existing is not None and body.get("sparse") else {}
        merged = {**base, **{k: v for k, v in body.items() if k not in ("Id", "SyncToken", "sparse", "domain",
                                                                          "MetaData", "TotalAmt", "Balance")}}
        ref = merged.get("CustomerRef")
        if not isinstance(ref, dict) or not ref.get("value"):
            raise _missing("CustomerRef")
        customer = self._store["customer"].get(str(ref["value"]))
        if customer is None or not customer["Active"]:
            raise _Fault("2500", "Invalid Reference Id",
                         "Invalid Reference Id : Customer assigned to this transaction has been deleted. "
                         "Before you can modify this transaction, you must restore the customer.",
                         "CustomerRef")
        if existing is not None and body.get("sparse") and "Line" not in body:
            lines = existing["Line"]
            total = Decimal(str(existing["TotalAmt"]))
        else:
            lines, total = self._lines(merged.get("Line"))
        doc = merged.get("DocNumber")
        includes = {v.strip().lower() for v in dict(request.query).get("include", "").split(",")}
        if doc and "allowduplicatedocnum" not in includes:
            oid = existing["Id"] if existing else None
            clash = next((i for i in self._store["invoice"].values() if i.get("DocNumber") == str(doc) and i["Id"] != oid), None)
            if clash is not None:
                raise _Fault("6140", "Duplicate Document Number Error",
                             f"Duplicate Document Number Error : You must specify a different number. "
                             f"This number has already been used. DocNumber={doc} is assigned to TxnType=Invoice "
                             f"with TxnId={clash['Id']}")
        today = (datetime.fromtimestamp(self.now(), tz=UTC) - timedelta(hours=8)).date()
        txn_date = merged.get("TxnDate") or today.isoformat()
        for name in ("TxnDate", "DueDate"):
            value = merged.get(name)
            if value:  # "" is how SDKs send an unset date
                try:
                    datetime.strptime(str(value), "%Y-%m-%d")
                except ValueError:
                    raise _Fault("2040", "Invalid Date", f"{name} {value!r} is not a date (YYYY-MM-DD)", name) from None
        bill_email = merged.get("BillEmail")
        if bill_email is not None and (not isinstance(bill_email, dict) or
                                       not _EMAIL.fullmatch(str(bill_email.get("Address", "")))):
            raise _Fault("2130", "Invalid Email Address format",
                         f"Invalid Email Address format : {bill_email!r}", "BillEmail.Address")
        if not doc and existing is None:
            doc = str(self._next_doc)
            self._next_doc += 1
        elif not doc and existing is not None:
            doc = existing.get("DocNumber")
        oid = existing["Id"] if existing else str(self._numeric_id())
        paid = Decimal(str(existing["TotalAmt"])) - Decimal(str(existing["Balance"])) if existing else Decimal(0)
        record: Record = {
            "AllowIPNPayment": False, "AllowOnlinePayment": False, "AllowOnlineCreditCardPayment": False,
            "AllowOnlineACHPayment": False, "domain": "QBO", "sparse": False, "Id": oid,
            "SyncToken": str(int(existing["SyncToken"]) + 1) if existing else "0",
            "MetaData": self._meta(existing), "CustomField": merged.get("CustomField") or [],
            "DocNumber": doc, "TxnDate": txn_date,
            "CurrencyRef": merged.get("CurrencyRef") or {"value": "USD", "name": "United States Dollar"},
            "LinkedTxn": [], "Line": lines, "TxnTaxDetail": {"TotalTax": 0},
            "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "DueDate": merged.get("DueDate") or (datetime.strptime(txn_date, "%Y-%m-%d") + timedelta(days=30)).date().isoformat(),
            "TotalAmt": float(total), "ApplyTaxAfterDiscount": False,
            "PrintStatus": merged.get("PrintStatus", "NeedToPrint"), "EmailStatus": merged.get("EmailStatus", "NotSet"),
            "Balance": float(total - paid), "Deposit": 0,
        }
        for key in ("BillEmail", "CustomerMemo", "PrivateNote", "SalesTermRef", "BillAddr", "ShipAddr"):
            if merged.get(key) is not None:
                record[key] = merged[key]
        return record

    def _post_invoice(self, request: Request) -> Response:
        body = self._body(request, _INVOICE_FIELDS)
        existing = self._existing("invoice", body)
        record = self._invoice(request, body, existing)
        self._store_record("invoice", record["Id"], record, "update" if existing else "create")
        customer = self._store["customer"][record["CustomerRef"]["value"]]
        balance = sum(Decimal(str(i["Balance"])) for i in self.invoices_for(customer["Id"]))
        if float(balance) != customer["Balance"]:
            self.seed_record("customer", customer["Id"], {**customer, "Balance": float(balance),
                                                          "BalanceWithJobs": float(balance)})
        return self._wrap("Invoice", record)

    # -- query -----------------------------------------------------------------

    def _query(self, request: Request, *_: str) -> Response:
        text = dict(request.query).get("query")
        if request.method == "POST" and not text:
            text = request.body.decode("utf-8", "replace")
        if not text:
            raise _missing("query")
        try:
            query = parse_query(text, _ENTITIES)
        except QueryError as exc:
            return Response.of_json(400, {"Fault": {"Error": [{"Message": "Error parsing query",
                                                               "Detail": f"QueryParserError: {exc}", "code": "4000"}],
                                                    "type": "ValidationFault"}, "time": _time(self.now())})
        kind = query.entity.lower()
        records = list(self._store[kind].values())
        if query.count:
            matched = [r for r in records if all(c.test(r) for c in query.where)]
            return Response.of_json(200, {"QueryResponse": {"totalCount": len(matched)}, "time": _time(self.now())})
        found = query.select(records)
        result: dict[str, Any] = {}
        if found:
            result = {query.entity: found, "startPosition": query.start, "maxResults": len(found)}
        return Response.of_json(200, {"QueryResponse": result, "time": _time(self.now())})


def _rejected(body: Any) -> str | None:
    """The element a ValidationFault blames (``Line.Amount``), if any."""
    try:
        element = body["Fault"]["Error"][0].get("element")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return str(element) or None

