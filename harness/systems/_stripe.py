"""A stateful fake of Stripe's v1 API: customers, invoice items, invoices, finalization.

Faithful where automations depend on it:

* form-encoded bodies with nested keys, validated per endpoint; every error is
  ``{"error": {"type", "code", "message", "param"}}`` with Stripe's status;
* ``Idempotency-Key`` as Stripe documents it for v1: once an endpoint starts
  executing, the first status and body are stored and replayed with
  ``Idempotent-Replayed: true`` (500s included); the same key with other
  parameters or on another endpoint is a 400 ``idempotency_error``; requests
  that fail validation store nothing; keys expire 24 hours after first use,
  measured in the world's clock; keys are scoped to the API key;
* Bearer or basic authentication with a secret (``sk_``) or restricted (``rk_``) key.

Validation failures (unknown, missing or mistyped parameters) happen before
execution; failures found while executing (a referenced customer that does not
exist, finalizing a non-draft invoice, :meth:`fail_next`) are stored.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness._shared.wire import Request, Response
from harness.errors import NotFoundError
from harness.systems._base import FakeSystem, Record
from harness.systems._descriptor import (
    ID_PREFIXED,
    ErrorShape,
    Idempotency,
    RecordShape,
    SystemDescriptor,
)
from harness.systems._stripe_billing import (
    checkout_session_object,
    event_object,
    subscription_object,
)
from harness.systems._stripe_objects import (
    customer_object,
    invoice_object,
    invoiceitem_object,
    line_item,
)
from harness.systems._stripe_params import (
    CUSTOMER_CREATE,
    CUSTOMER_LIST,
    CUSTOMER_UPDATE,
    INVOICE_CREATE,
    INVOICE_FINALIZE,
    INVOICE_LIST,
    INVOICE_UPDATE,
    INVOICEITEM_CREATE,
    INVOICEITEM_LIST,
    RETRIEVE,
    SEARCH,
    P,
    ParamError,
    Spec,
    decode_form,
    parse_search,
    validate,
)

__all__ = ["Stripe"]

API_VERSION = "2026-10-28.endive"
IDEMPOTENCY_TTL = 24 * 3600.0

_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    402: "card_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    409: "idempotency_error",
    429: "invalid_request_error",
}
_DEFAULT_MESSAGES = {
    400: "Invalid request.",
    401: "Invalid API Key provided.",
    402: "Your card was declined.",
    403: "The provided key does not have the required permissions for this endpoint.",
    404: "Unrecognized request URL.",
    409: "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through). Please retry this request later.",
    429: "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
    500: "Sorry, something went wrong. We've already been notified of the problem, but if you need any help, you can reach us at support.stripe.com/contact.",
}
_DEFAULT_CODES = {402: "card_declined", 429: "rate_limit"}

_KINDS = {"customer": "cus_", "invoiceitem": "ii_", "invoice": "in_",
          "checkout.session": "cs_test_", "subscription": "sub_"}
_PLURAL = {"customers": "customer", "invoiceitems": "invoiceitem", "invoices": "invoice",
           "checkout/sessions": "checkout.session", "subscriptions": "subscription"}
_LIST_PARAMS = {k: INVOICE_LIST[k] for k in ("limit", "starting_after", "ending_before", "expand")}
CHECKOUT_SESSION_LIST: Spec = {
    **_LIST_PARAMS, "customer": P("string"), "payment_intent": P("string"),
    "subscription": P("string"), "status": P("enum", values=("open", "complete", "expired")),
}
SUBSCRIPTION_LIST: Spec = {
    **_LIST_PARAMS, "customer": P("string"), "price": P("string"),
    "status": P("enum", values=("active", "past_due", "unpaid", "canceled", "incomplete",
                                "incomplete_expired", "trialing", "paused")),
}


def _error_body(status: int, message: str | None) -> dict[str, Any]:
    """Stripe's error body: ``{"error": {"type", "code", "message"}}`` by status."""
    err: dict[str, Any]
    if status == 402:
        err = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": "Your card was declined.",
        }
    elif status == 429:
        err = {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": "Too many requests hit the API too quickly.",
        }
    elif status >= 500:
        err = {"type": "api_error", "message": "An unknown error occurred on Stripe's end."}
    elif status == 404:
        err = {"type": "invalid_request_error", "code": "resource_missing", "message": "No such object."}
    else:
        err = {
            "type": "invalid_request_error",
            "code": "parameter_invalid",
            "message": "Invalid request: the request was rejected by Stripe.",
        }
    if message:
        err["message"] = message
    return {"error": err}


def _error_headers(status: int) -> dict[str, str]:
    return {"Request-Id": "req_harnessfault", "Stripe-Version": API_VERSION}


def _rejected_field(body: Any) -> str | None:
    """The parameter a Stripe error names in ``error.param``.

    ``None`` for a state conflict (re-finalizing an invoice names no
    parameter) and for a reused idempotency key (``idempotency_error``: it
    guards against a duplicate, it does not blame a value).
    """
    err = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(err, Mapping):
        return None
    param = err.get("param")
    if err.get("type") == "idempotency_error" or not param:
        return None
    return str(param)


#: fields Stripe sets itself on every object
SYSTEM_FIELDS = frozenset(
    {"id", "object", "created", "livemode", "date", "test_clock", "request_log_url", "url",
     "invoice_prefix", "next_invoice_sequence", "number", "hosted_invoice_url", "invoice_pdf",
     "status_transitions", "webhooks_delivered_at", "period"}
)

DESCRIPTOR = SystemDescriptor(
    name="stripe",
    hosts=("api.stripe.com",),
    # 25 requests per second in a sandbox and per endpoint (live mode allows 100 overall)
    rate_limit=(25, 1.0),
    # what an invoice item, a price or an invoice line bills (a credit is negative, never 0)
    money_fields=("amount", "unit_amount", "unit_amount_decimal"),
    base_url_env="STRIPE_BASE_URL",
    id_shapes=(ID_PREFIXED,),
    encoding="form",
    errors=ErrorShape(
        body=_error_body,
        headers=_error_headers,
        declined=402,
        invalid=400,
        rejected_field=_rejected_field,
    ),
    idempotency=Idempotency(
        header="Idempotency-Key", methods=("POST",), replay_header="Idempotent-Replayed"
    ),
    records=tuple(
        shape
        for kind in ("customers", "invoiceitems", "invoices")
        for shape in (
            RecordShape(endpoint=f"GET /v1/{kind}/{{id}}", kind=kind, system_fields=SYSTEM_FIELDS),
            RecordShape(endpoint=f"GET /v1/{kind}", kind=kind, at="data[]", system_fields=SYSTEM_FIELDS),
            RecordShape(
                endpoint=f"GET /v1/{kind}/search", kind=kind, at="data[]", system_fields=SYSTEM_FIELDS
            ),
        )
    )
    # objects made by payments: read-only over HTTP (retrieve and list)
    + tuple(
        shape
        for path, kind in (("checkout/sessions", "checkout_sessions"), ("subscriptions", "subscriptions"))
        for shape in (
            RecordShape(endpoint=f"GET /v1/{path}/{{id}}", kind=kind, system_fields=SYSTEM_FIELDS),
            RecordShape(endpoint=f"GET /v1/{path}", kind=kind, at="data[]", system_fields=SYSTEM_FIELDS),
        )
    ),
    docs="https://docs.stripe.com/api",
)


@dataclass(frozen=True, slots=True)
class _Stored:
    """One idempotency key's first result."""

    endpoint: str
    params: Mapping[str, Any]
    status: int
    body: bytes
    request_id: str
    created: float


@dataclass(frozen=True, slots=True)
class _Endpoint:
    method: str
    pattern: str
    spec: Spec
    run: Callable[[dict[str, Any], Request, Sequence[str]], Response]


class Stripe(FakeSystem):
    """Fake Stripe (``api.stripe.com``); see the module docstring for the semantics.

    ``Stripe(extra_hosts=("https://billing-proxy.internal/stripe",))`` serves that
    base URL too.  Kinds: ``customer``, ``invoiceitem``, ``invoice``,
    ``checkout.session``, ``subscription`` (the last two read-only over HTTP:
    customers make them by paying, see :meth:`add_checkout_session`).
    """

    name = "stripe"
    default_hosts = DESCRIPTOR.hosts
    kinds = ("customer", "invoiceitem", "invoice", "checkout.session", "subscription")
    descriptor = DESCRIPTOR

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
        account_country: str = "US",
        account_name: str = "Acme Inc.",
    ) -> None:
        self.account_country = account_country
        self.account_name = account_name
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    # -- state ---------------------------------------------------------------

    def _init_state(self) -> None:
        super()._init_state()
        self._keys: dict[tuple[str, str], _Stored] = {}
        self._replays = 0

    def _extra_state(self) -> Any:
        return dict(self._keys), self._replays

    def _restore_extra(self, state: Any) -> None:
        keys, self._replays = state
        self._keys = dict(keys)

    @property
    def replays(self) -> int:
        """How many requests were answered from a stored idempotency key."""
        return self._replays

    def idempotency_keys(self) -> list[str]:
        """The idempotency keys currently stored (not yet expired), oldest first."""
        now = self.now()
        return [k for (_, k), s in self._keys.items() if now - s.created < IDEMPOTENCY_TTL]

    # -- objects made by payments (seeding and triggers; no write is logged) ----------

    def add_customer(self, *, customer_id: str, email: str, name: str, created: float | None = None) -> str:
        """A customer that exists before the automation runs; returns its id."""
        now = int(self.now() if created is None else created)
        record = customer_object(cid=customer_id, now=now, p={"email": email, "name": name},
                                 invoice_prefix=customer_id[4:12].upper())
        self.seed_record("customer", customer_id, record)
        return customer_id

    def add_paid_invoice(
        self,
        *,
        invoice_id: str,
        customer_id: str,
        amount: int,
        currency: str = "usd",
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Record:
        """An invoice the customer paid in full (``status: paid``), with one line; returns it."""
        with self._lock:
            customer = self._existing(customer_id)
            now = int(self.now())
            invoice = invoice_object(
                iid=invoice_id, now=now,
                p={"currency": currency, "description": description, "metadata": dict(metadata or {}),
                   "auto_advance": False},
                customer=customer, method="charge_automatically", due_date=None,
                account_country=self.account_country, account_name=self.account_name,
            )
            item = invoiceitem_object(
                iid="ii_" + invoice_id[3:], now=now, p={"description": description}, amount=amount,
                currency=currency, customer=customer, period={}, unit=str(amount), quantity=1,
            )
            invoice = self._with_lines(invoice, [line_item(invoice_id, {**item, "invoice": invoice_id})],
                                       currency)
            invoice.update(
                status="paid", amount_due=amount, amount_paid=amount, amount_remaining=0,
                attempted=True, attempt_count=1, effective_at=now,
                number=f"{customer['invoice_prefix']}-0001",
                hosted_invoice_url=f"https://invoice.stripe.com/i/acct_fake/test_{invoice_id[3:]}",
                invoice_pdf=f"https://pay.stripe.com/invoice/acct_fake/test_{invoice_id[3:]}/pdf",
                status_transitions={"finalized_at": now, "marked_uncollectible_at": None,
                                    "paid_at": now, "voided_at": None},
            )
            self.seed_record("invoice", invoice_id, invoice)
            return invoice

    def add_checkout_session(
        self,
        *,
        session_id: str,
        customer_id: str,
        amount: int,
        currency: str = "usd",
        mode: str = "payment",
        subscription_id: str | None = None,
        client_reference_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Record:
        """A Checkout Session the customer completed and paid (``status: complete``); returns it."""
        with self._lock:
            customer = self._existing(customer_id)
            record = checkout_session_object(
                sid=session_id, now=int(self.now()), customer=customer, amount=amount,
                currency=currency, mode=mode,
                payment_intent="pi_" + session_id[-24:] if mode == "payment" else None,
                subscription=subscription_id, invoice=None, client_reference_id=client_reference_id,
                metadata=dict(metadata or {}),
            )
            self.seed_record("checkout.session", session_id, record)
            return record

    def add_subscription(
        self,
        *,
        subscription_id: str,
        customer_id: str,
        amount: int,
        currency: str = "usd",
        interval: str = "month",
        status: str = "active",
        quantity: int = 1,
        metadata: Mapping[str, str] | None = None,
    ) -> Record:
        """A subscription of the customer to one recurring price; returns it."""
        with self._lock:
            customer = self._existing(customer_id)
            tail = subscription_id[4:]
            record = subscription_object(
                sid=subscription_id, item_id="si_" + tail[:14], price_id="price_" + tail[:24],
                product_id="prod_" + tail[:14], now=int(self.now()), customer=customer,
                amount=amount, currency=currency, interval=interval, status=status,
                quantity=quantity, metadata=dict(metadata or {}),
            )
            self.seed_record("subscription", subscription_id, record)
            return record

    def update_subscription(self, subscription_id: str, **changes: Any) -> tuple[Record, Record]:
        """Change top-level fields of a subscription as Stripe's billing engine would.

        Returns ``(subscription, previous_attributes)``: the new object and the
        old values of the changed fields (a ``customer.subscription.updated``
        event's ``data``).  ``quantity`` changes the item's quantity.
        """
        with self._lock:
            old = self._store["subscription"].get(subscription_id)
            if old is None:
                raise NotFoundError(f"stripe: no subscription {subscription_id!r}")
            new = dict(old)
            previous: Record = {}
            for name, value in changes.items():
                if name == "quantity":
                    items = old["items"]
                    previous["items"] = items
                    data = [{**it, "quantity": value} for it in items["data"]]
                    new["items"] = {**items, "data": data}
                    continue
                if name not in old:
                    raise NotFoundError(f"stripe: a subscription has no field {name!r}")
                if old[name] != value:
                    previous[name] = old[name]
                    new[name] = value
            self.seed_record("subscription", subscription_id, new)
            return new, previous

    def webhook_event(
        self,
        event_type: str,
        obj: Mapping[str, Any],
        *,
        previous_attributes: Mapping[str, Any] | None = None,
        event_id: str | None = None,
    ) -> Record:
        """The Stripe Event a webhook endpoint receives for ``obj`` (``created``: the world's clock)."""
        with self._lock:
            eid = event_id or self._random_id("evt_", 24)
            return event_object(
                eid=eid, event_type=event_type, obj=dict(obj), created=int(self.now()),
                api_version=API_VERSION,
                previous_attributes=None if previous_attributes is None else dict(previous_attributes),
            )

    def _existing(self, customer_id: str) -> Record:
        customer = self._store["customer"].get(customer_id)
        if customer is None:
            raise NotFoundError(f"stripe: no customer {customer_id!r}; add it with add_customer first")
        return customer

    # -- errors ----------------------------------------------------------------

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        code = _DEFAULT_CODES.get(status)
        err_type = _STATUS_TYPES.get(status, "api_error")
        msg = message or _DEFAULT_MESSAGES.get(status, _DEFAULT_MESSAGES[500])
        headers = {} if retry_after is None else {"Retry-After": str(int(max(1, retry_after)))}
        return self._error(status, msg, err_type=err_type, code=code, headers=headers)

    def _error(
        self,
        status: int,
        message: str,
        *,
        err_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        request_id = self._random_id("req_")
        error: dict[str, Any] = {"type": err_type, "code": code, "message": message, "param": param}
        if code is not None:
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        hdrs = {"Request-Id": request_id, "Stripe-Version": API_VERSION, **(headers or {})}
        return Response.of_json(status, {"error": error}, hdrs)

    def _ok(self, payload: Any, status: int = 200) -> Response:
        return Response.of_json(
            status, payload, {"Request-Id": self._random_id("req_"), "Stripe-Version": API_VERSION}
        )

    # -- the request pipeline ----------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        eps = [
            _Endpoint("POST", r"/v1/customers", CUSTOMER_CREATE, self._create_customer),
            _Endpoint("GET", r"/v1/customers", CUSTOMER_LIST, self._list("customer")),
            _Endpoint("GET", r"/v1/customers/search", SEARCH, self._search("customer")),
            _Endpoint("GET", r"/v1/customers/([^/]+)", RETRIEVE, self._retrieve("customer")),
            _Endpoint("POST", r"/v1/customers/([^/]+)", CUSTOMER_UPDATE, self._update_customer),
            _Endpoint("POST", r"/v1/invoiceitems", INVOICEITEM_CREATE, self._create_invoiceitem),
            _Endpoint("GET", r"/v1/invoiceitems", INVOICEITEM_LIST, self._list("invoiceitem")),
            _Endpoint("GET", r"/v1/invoiceitems/([^/]+)", RETRIEVE, self._retrieve("invoiceitem")),
            _Endpoint("POST", r"/v1/invoices", INVOICE_CREATE, self._create_invoice),
            _Endpoint("GET", r"/v1/invoices", INVOICE_LIST, self._list("invoice")),
            _Endpoint("GET", r"/v1/invoices/search", SEARCH, self._search("invoice")),
            _Endpoint("GET", r"/v1/invoices/([^/]+)", RETRIEVE, self._retrieve("invoice")),
            _Endpoint("POST", r"/v1/invoices/([^/]+)", INVOICE_UPDATE, self._update_invoice),
            _Endpoint("POST", r"/v1/invoices/([^/]+)/finalize", INVOICE_FINALIZE, self._finalize),
            _Endpoint("GET", r"/v1/checkout/sessions", CHECKOUT_SESSION_LIST,
                      self._list("checkout.session")),
            _Endpoint("GET", r"/v1/checkout/sessions/([^/]+)", RETRIEVE,
                      self._retrieve("checkout.session")),
            _Endpoint("GET", r"/v1/subscriptions", SUBSCRIPTION_LIST, self._list("subscription")),
            _Endpoint("GET", r"/v1/subscriptions/([^/]+)", RETRIEVE, self._retrieve("subscription")),
        ]
        return [(e.method, e.pattern, e) for e in eps]

    def _serve(self, request: Request, path: str) -> Response:
        api_key = self._api_key(request)
        if isinstance(api_key, Response):
            return api_key
        found = self._route(request, path)
        if not isinstance(found, tuple):
            return self._error(
                404,
                f"Unrecognized request URL ({request.method}: {path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            )
        endpoint: _Endpoint = found[0]
        args = found[1].groups()
        try:
            raw = self._raw_params(request)
        except ParamError as exc:
            return self._error(exc.status, exc.message, code=exc.code, param=exc.param)

        key = request.header("Idempotency-Key") if request.method == "POST" else None
        slot: tuple[str, str] | None = None
        if key is not None:
            if len(key) > 255:
                return self._error(
                    400,
                    f"Invalid idempotency key: must be at most 255 characters, got {len(key)}.",
                    err_type="idempotency_error",
                    param="Idempotency-Key",
                )
            slot = (api_key, key)
            stored = self._keys.get(slot)
            if stored is not None and self.now() - stored.created >= IDEMPOTENCY_TTL:
                del self._keys[slot]  # pruned after 24 hours: the key starts afresh
                stored = None
            if stored is not None:
                return self._replay(stored, request.method + " " + path, raw, key)

        try:
            params = validate(raw, endpoint.spec)
        except ParamError as exc:  # validation failures are never stored
            return self._error(exc.status, exc.message, code=exc.code, param=exc.param)

        # the endpoint starts executing: from here the result is stored under the key
        response = self._scripted_failure(request, path)
        if response is None:
            try:
                response = endpoint.run(params, request, args)
            except ParamError as exc:
                response = self._error(exc.status, exc.message, code=exc.code, param=exc.param)
        if slot is not None:
            extra = {"Idempotency-Key": key or ""}
            if response.status >= 500:
                # stored and replayed: Stripe tells its SDKs a retry would change nothing
                extra["Stripe-Should-Retry"] = "false"
            response = _with_headers(response, extra)
            self._keys[slot] = _Stored(
                request.method + " " + path,
                raw,
                response.status,
                response.body,
                response.header("Request-Id") or "",
                self.now(),
            )
        return response

    def _replay(self, stored: _Stored, endpoint: str, raw: Mapping[str, Any], key: str) -> Response:
        if stored.endpoint != endpoint:
            return self._error(
                400,
                f"Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{stored.endpoint}' vs '{endpoint}'). Try using a key other "
                f"than '{key}' if you meant to execute a different request.",
                err_type="idempotency_error",
            )
        if stored.params != raw:
            return self._error(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                err_type="idempotency_error",
            )
        self._replays += 1
        headers = [
            ("Content-Type", "application/json"),
            ("Request-Id", self._random_id("req_")),
            ("Stripe-Version", API_VERSION),
            ("Idempotency-Key", key),
            ("Idempotent-Replayed", "true"),
            ("Original-Request", stored.request_id),
        ]
        if stored.status >= 500:
            headers.append(("Stripe-Should-Retry", "false"))
        return Response(stored.status, tuple(headers), stored.body)

    def _api_key(self, request: Request) -> str | Response:
        auth = request.header("Authorization") or ""
        key = ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            key = value.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(value.strip()).decode("utf-8").partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            return self._error(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
            )
        if not key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
            shown = key[:8] + "*" * max(0, min(len(key) - 12, 20)) + key[-4:] if len(key) > 12 else "***"
            return self._error(401, f"Invalid API Key provided: {shown}")
        return key

    def _raw_params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET" or request.method == "DELETE":
            return decode_form(request.query)
        ctype = (request.header("Content-Type") or "").lower()
        if request.body and "json" in ctype:
            raise ParamError(
                "Invalid request: the v1 API takes application/x-www-form-urlencoded bodies, "
                "not JSON. Encode parameters as form fields (nested keys as metadata[key]=value)."
            )
        try:
            pairs = request.form()
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParamError(
                f"Invalid request: the body is not valid application/x-www-form-urlencoded "
                f"data ({exc})."
            ) from None
        # Stripe also reads parameters from the query string of a POST
        return decode_form([*request.query, *pairs])

    # -- rendering -----------------------------------------------------------------

    def _expand(self, obj: Record, expand: Sequence[str] | None) -> Record:
        if not expand:
            return obj
        out = dict(obj)
        for path in expand:
            field = path.split(".", 1)[0]
            target = {"customer": "customer", "invoice": "invoice"}.get(field)
            if target is None or field not in obj:
                raise ParamError(f"This property cannot be expanded ({path}).", param="expand")
            ref = obj.get(field)
            if isinstance(ref, str):
                out[field] = self._store[target].get(ref, ref)
        return out

    def _must_get(self, kind: str, object_id: str, *, param: str, status: int) -> Record:
        record = self._store[kind].get(object_id)
        if record is None:
            raise ParamError(
                f"No such {kind}: '{object_id}'", param=param, code="resource_missing", status=status
            )
        return record

    # -- customers -----------------------------------------------------------------

    def _create_customer(self, p: dict[str, Any], request: Request, args: Sequence[str]) -> Response:
        cid = self._random_id("cus_")
        now = int(self.now())
        record: Record = customer_object(
            cid=cid, now=now, p=p,
            invoice_prefix=p.get("invoice_prefix") or self._random_id("", 8).upper(),
        )
        self._store_record("customer", cid, record, "create")
        return self._ok(self._expand(record, p.get("expand")))

    def _update_customer(self, p: dict[str, Any], request: Request, args: Sequence[str]) -> Response:
        old = self._must_get("customer", args[0], param="id", status=404)
        record = dict(old)
        for name, value in p.items():
            if name == "expand":
                continue
            if name == "metadata":
                record["metadata"] = _merge_metadata(old["metadata"], request, value)
            else:
                record[name] = value
        self._store_record("customer", old["id"], record, "update")
        return self._ok(self._expand(record, p.get("expand")))

    # -- invoice items -----------------------------------------------------------

    def _create_invoiceitem(
        self, p: dict[str, Any], request: Request, args: Sequence[str]
    ) -> Response:
        customer = self._must_get("customer", p["customer"], param="customer", status=400)
        quantity = p.get("quantity") or 1
        if p.get("amount") is not None:
            amount = p["amount"]
            unit = str(amount // quantity) if quantity else str(amount)
            if "unit_amount_decimal" in p:
                raise ParamError(
                    "You may only specify one of these parameters: amount, unit_amount_decimal.",
                    param="amount",
                    code="parameters_exclusive",
                )
        elif p.get("unit_amount_decimal") is not None:
            try:
                unit_value = float(p["unit_amount_decimal"])
            except ValueError:
                raise ParamError(
                    f"Invalid decimal: {p['unit_amount_decimal']}", param="unit_amount_decimal"
                ) from None
            amount = round(unit_value * quantity)
            unit = p["unit_amount_decimal"]
        else:
            raise ParamError(
                "You must specify either `amount`, `unit_amount_decimal`, `price` or "
                "`price_data` to create an invoice item.",
                param="amount",
                code="parameter_missing",
            )
        currency = p.get("currency") or customer.get("currency")
        if currency is None:
            raise ParamError(
                "Missing required param: currency.", param="currency", code="parameter_missing"
            )
        invoice: Record | None = None
        if p.get("invoice") is not None:
            invoice = self._must_get("invoice", p["invoice"], param="invoice", status=400)
            if invoice["status"] != "draft":
                raise ParamError(
                    f"You can only add invoice items to draft invoices; invoice {invoice['id']} "
                    f"is {invoice['status']}.",
                    param="invoice",
                    code="invoice_not_editable",
                )
            if invoice["customer"] != customer["id"]:
                raise ParamError(
                    f"The invoice {invoice['id']} belongs to customer {invoice['customer']}, not "
                    f"to {customer['id']}.",
                    param="invoice",
                )
            if invoice["lines"]["data"] and invoice["currency"] != currency:
                raise ParamError(
                    f"The invoice item's currency ({currency}) must match the invoice's "
                    f"currency ({invoice['currency']}).",
                    param="currency",
                )
        iid = self._random_id("ii_")
        now = int(self.now())
        period = p.get("period") or {}
        record: Record = invoiceitem_object(iid=iid, now=now, p=p, amount=amount, currency=currency, customer=customer, period=period, unit=unit, quantity=quantity)
        self._store_record("invoiceitem", iid, record, "create")
        if customer.get("currency") is None:
            self._store_record("customer", customer["id"], {**customer, "currency": currency}, "update")
        if invoice is not None:
            record = self._attach_items(invoice, [record])[0]
        return self._ok(self._expand(record, p.get("expand")))

    def _attach_items(self, invoice: Record, items: list[Record]) -> list[Record]:
        """Attach ``items`` to the draft ``invoice``; store both; return the updated items."""
        attached = [{**item, "invoice": invoice["id"]} for item in items]
        for item in attached:
            self._store_record("invoiceitem", item["id"], item, "update")
        lines = [*invoice["lines"]["data"], *(line_item(invoice["id"], i) for i in attached)]
        currency = attached[0]["currency"] if not invoice["lines"]["data"] and attached else invoice["currency"]
        self._store_record("invoice", invoice["id"], self._with_lines(invoice, lines, currency), "update")
        return attached

    def _with_lines(self, invoice: Record, lines: list[Record], currency: str) -> Record:
        total = sum(int(line["amount"]) for line in lines)
        return {
            **invoice,
            "currency": currency,
            "lines": {**invoice["lines"], "data": lines, "total_count": len(lines)},
            "subtotal": total,
            "subtotal_excluding_tax": total,
            "total": total,
            "total_excluding_tax": total,
            "amount_due": total,
            "amount_remaining": total,
        }

    # -- invoices ------------------------------------------------------------------

    def _create_invoice(self, p: dict[str, Any], request: Request, args: Sequence[str]) -> Response:
        customer = self._must_get("customer", p["customer"], param="customer", status=400)
        method = p.get("collection_method") or "charge_automatically"
        days = p.get("days_until_due")
        due_date = p.get("due_date")
        if method != "send_invoice" and (days is not None or due_date is not None):
            param = "days_until_due" if days is not None else "due_date"
            raise ParamError(
                f"You can only set `{param}` when `collection_method` is `send_invoice`.",
                param=param,
            )
        if method == "send_invoice" and days is None and due_date is None:
            raise ParamError(
                "Invoices with `collection_method=send_invoice` need a due date: set "
                "`days_until_due` or `due_date`.",
                param="days_until_due",
                code="parameter_missing",
            )
        pending: list[Record] = []
        if p.get("pending_invoice_items_behavior") == "include":
            pending = [
                item
                for item in self._store["invoiceitem"].values()
                if item["customer"] == customer["id"] and item["invoice"] is None
            ]
            currencies = {item["currency"] for item in pending}
            if len(currencies) > 1:
                raise ParamError(
                    f"The customer {customer['id']} has pending invoice items in several "
                    f"currencies ({', '.join(sorted(currencies))}); an invoice has one currency.",
                    param="pending_invoice_items_behavior",
                )
        now = int(self.now())
        if days is not None:
            due_date = now + int(days) * 86400
        iid = self._random_id("in_")
        record: Record = invoice_object(iid=iid, now=now, p=p, customer=customer, method=method, due_date=due_date, account_country=self.account_country,
            account_name=self.account_name,
        )
        self._store_record("invoice", iid, record, "create")
        if pending:
            self._attach_items(record, pending)
            record = self._store["invoice"][iid]
        return self._ok(self._expand(record, p.get("expand")))

    def _update_invoice(self, p: dict[str, Any], request: Request, args: Sequence[str]) -> Response:
        old = self._must_get("invoice", args[0], param="id", status=404)
        editable_when_open = {"metadata", "description", "footer", "auto_advance", "expand"}
        if old["status"] != "draft" and set(p) - editable_when_open:
            field = sorted(set(p) - editable_when_open)[0]
            raise ParamError(
                f"You can only modify {field} on draft invoices; invoice {old['id']} is "
                f"{old['status']}.",
                param=field,
                code="invoice_not_editable",
            )
        record = dict(old)
        for name, value in p.items():
            if name == "expand":
                continue
            if name == "metadata":
                record["metadata"] = _merge_metadata(old["metadata"], request, value)
            elif name == "days_until_due":
                record["due_date"] = None if value is None else int(old["created"]) + value * 86400
            else:
                record[name] = value
        self._store_record("invoice", old["id"], record, "update")
        return self._ok(self._expand(record, p.get("expand")))

    def _finalize(self, p: dict[str, Any], request: Request, args: Sequence[str]) -> Response:
        invoice = self._must_get("invoice", args[0], param="id", status=404)
        if invoice["status"] != "draft":
            raise ParamError(
                f"This invoice is already finalized, you can't re-finalize a non-draft invoice "
                f"({invoice['id']} is {invoice['status']}).",
                param=None,
                code="invoice_not_editable" if invoice["status"] != "draft" else None,
            )
        customer = self._store["customer"][invoice["customer"]]
        seq = int(customer["next_invoice_sequence"])
        self._store_record(
            "customer", customer["id"], {**customer, "next_invoice_sequence": seq + 1}, "update"
        )
        now = int(self.now())
        paid = invoice["amount_due"] == 0
        token = self._random_id("", 24)
        record = {
            **invoice,
            "number": f"{customer['invoice_prefix']}-{seq:04d}",
            "status": "paid" if paid else "open",
            "effective_at": now,
            "auto_advance": p.get("auto_advance", invoice["auto_advance"]),
            "customer_email": customer.get("email"),
            "customer_name": customer.get("name"),
            "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_fake/test_{token}",
            "invoice_pdf": f"https://pay.stripe.com/invoice/acct_fake/test_{token}/pdf",
            "status_transitions": {
                **invoice["status_transitions"],
                "finalized_at": now,
                "paid_at": now if paid else None,
            },
        }
        self._store_record("invoice", invoice["id"], record, "finalize")
        return self._ok(self._expand(record, p.get("expand")))

    # -- retrieve, list, search ------------------------------------------------------

    def _retrieve(self, kind: str) -> Callable[[dict[str, Any], Request, Sequence[str]], Response]:
        def run(p: dict[str, Any], request: Request, args: Sequence[str]) -> Response:
            record = self._must_get(kind, args[0], param="id", status=404)
            return self._ok(self._expand(record, p.get("expand")))

        return run

    def _list(self, kind: str) -> Callable[[dict[str, Any], Request, Sequence[str]], Response]:
        plural = {v: k for k, v in _PLURAL.items()}[kind]

        def run(p: dict[str, Any], request: Request, args: Sequence[str]) -> Response:
            filters = {
                k: v
                for k, v in p.items()
                if k not in ("limit", "starting_after", "ending_before", "expand", "pending")
                and v is not None
            }
            rows = list(reversed(self._store[kind].values()))  # newest first, as Stripe lists
            if filters:
                rows = [r for r in rows if all(r.get(k) == v for k, v in filters.items())]
            if p.get("pending") is not None:
                rows = [r for r in rows if (r.get("invoice") is None) == p["pending"]]
            ids = [r["id"] for r in rows]
            if p.get("starting_after"):
                cursor = p["starting_after"]
                if cursor not in ids:
                    raise ParamError(
                        f"No such {kind}: '{cursor}'", param="starting_after", code="resource_missing"
                    )
                rows = rows[ids.index(cursor) + 1 :]
            elif p.get("ending_before"):
                cursor = p["ending_before"]
                if cursor not in ids:
                    raise ParamError(
                        f"No such {kind}: '{cursor}'", param="ending_before", code="resource_missing"
                    )
                rows = rows[: ids.index(cursor)]
            limit = p.get("limit") or 10
            page = rows[:limit]
            return self._ok(
                {
                    "object": "list",
                    "data": [self._expand(r, _sub_expand(p.get("expand"))) for r in page],
                    "has_more": len(rows) > limit,
                    "url": f"/v1/{plural}",
                }
            )

        return run

    def _search(self, kind: str) -> Callable[[dict[str, Any], Request, Sequence[str]], Response]:
        plural = {v: k for k, v in _PLURAL.items()}[kind]

        def run(p: dict[str, Any], request: Request, args: Sequence[str]) -> Response:
            match = parse_search(p["query"])
            rows = [r for r in reversed(self._store[kind].values()) if match(r)]
            limit = p.get("limit") or 10
            return self._ok(
                {
                    "object": "search_result",
                    "data": [self._expand(r, _sub_expand(p.get("expand"))) for r in rows[:limit]],
                    "has_more": len(rows) > limit,
                    "next_page": None,
                    "url": f"/v1/{plural}/search",
                }
            )

        return run


def _sub_expand(expand: Sequence[str] | None) -> list[str] | None:
    if not expand:
        return None
    return [e[len("data."):] for e in expand if e.startswith("data.")]


def _merge_metadata(old: Mapping[str, str], request: Request, value: Any) -> dict[str, str]:
    """Stripe merges metadata on update; ``metadata[k]=`` unsets k, ``metadata=`` unsets all."""
    if value is None:
        return {}
    merged = dict(old)
    for key, item in value.items():
        if item == "":
            merged.pop(key, None)
        else:
            merged[key] = item
    return merged




def _with_headers(response: Response, extra: Mapping[str, str]) -> Response:
    return Response(response.status, (*response.headers, *extra.items()), response.body)


def stripe_json(response: Response) -> Any:
    """The decoded body of a fake Stripe response (a small helper for tests)."""
    return json.loads(response.body)
