"""A stateful fake of Shopify's Admin REST API: orders, customers, products; order webhooks.

Serves every ``{shop}.myshopify.com`` under ``/admin/api/{version}/`` (a
quarterly version such as ``2024-01``, or ``unstable``):

* ``POST``/``GET /orders.json`` (``status``, ``financial_status``,
  ``fulfillment_status``, ``ids``, ``name``, ``since_id``, ``created_at_min``,
  ``limit`` with ``page_info`` cursor pages in a ``Link`` header),
  ``GET /orders/count.json``, ``GET``/``PUT /orders/{id}.json``,
  ``POST /orders/{id}/close.json``, ``POST /orders/{id}/cancel.json``;
* ``POST``/``GET /customers.json``, ``GET /customers/search.json?query=``,
  ``GET``/``PUT /customers/{id}.json``;
* ``POST``/``GET /products.json``, ``GET``/``PUT /products/{id}.json``.

As Shopify does: ``X-Shopify-Access-Token`` authenticates (``401`` with
``{"errors": "[API] Invalid API key or access token ..."}`` otherwise); a body
without its root object is ``400 {"errors": {"order": "Required parameter
missing or invalid"}}``; validation is ``422 {"errors": {"field": ["message"]}}``
(a customer's email is unique); a missing record is ``404 {"errors": "Not
Found"}``; a rate limit is ``429`` with ``Retry-After: 2.0``; every answer
carries ``X-Shopify-Shop-Api-Call-Limit``.  Money is a decimal string.

Not modelled: the leaky-bucket rate limit itself (only the harness's generic
``rate_limit``), inventory, fulfillments, transactions and refunds, taxes and
shipping rates, GraphQL, the search index's lag.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from harness._shared.wire import Request, Response
from harness.systems._base import FakeSystem, Record, iso8601
from harness.systems._descriptor import ID_NUMERIC, ErrorShape, RecordShape, SystemDescriptor

__all__ = ["WEBHOOK_SECRET", "Shopify"]

#: the secret the fake signs its webhooks with (``X-Shopify-Hmac-Sha256``)
WEBHOOK_SECRET = "harness-shopify-webhook-secret"
_VERSION = re.compile(r"\d{4}-(?:01|04|07|10)|unstable")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_BUCKET = 40
_FINANCIAL = ("pending", "authorized", "partially_paid", "paid", "partially_refunded",
              "refunded", "voided")
_SYSTEM = frozenset({"id", "admin_graphql_api_id", "created_at", "updated_at", "order_number",
                     "number", "name", "token", "processed_at", "confirmation_number"})


def _error_body(status: int, message: str | None) -> dict[str, Any]:
    if status == 422:
        return {"errors": {"base": [message or "is invalid"]}}
    text = message or {
        400: "Bad Request", 401: "[API] Invalid API key or access token (unrecognized login or "
        "wrong password)", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
        406: "Not Acceptable", 429: "Exceeded 2 calls per second for api client. Reduce request "
        "rates to resume uninterrupted service.", 500: "Internal Server Error",
        503: "Unavailable Shop",
    }.get(status, "Internal Server Error" if status >= 500 else "Bad Request")
    return {"errors": text}


def _rejected_field(body: Any) -> str | None:
    if isinstance(body, Mapping) and isinstance(body.get("errors"), Mapping):
        for key in body["errors"]:
            return None if key == "base" else str(key)
    return None


class _Fail(Exception):
    def __init__(self, status: int, errors: Any) -> None:
        super().__init__(str(errors))
        self.status, self.errors = status, errors


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _Fail(422, {field: ["is not a number"]}) from None
    if not amount.is_finite() or amount < 0:
        raise _Fail(422, {field: ["must be greater than or equal to 0"]})
    return amount.quantize(Decimal("0.01"))


class Shopify(FakeSystem):
    """Fake Shopify Admin REST API.  Kinds: ``order``, ``customer``, ``product``."""

    name = "shopify"
    default_hosts = ("*.myshopify.com",)
    kinds = ("order", "customer", "product")
    descriptor = SystemDescriptor(
        name="shopify",
        hosts=("*.myshopify.com",),
        base_url_env="SHOPIFY_BASE_URL",
        id_shapes=(ID_NUMERIC,),
        encoding="json",
        errors=ErrorShape(body=_error_body, declined=422, invalid=422,
                          rejected_field=_rejected_field),
        idempotency=None,
        records=(
            *(RecordShape(endpoint=f"{m} /admin/api/{{version}}/{k}s/{{id}}.json", kind=k, at=k,
                          system_fields=_SYSTEM) for k in ("order", "customer", "product")
              for m in ("GET", "PUT")),
            *(RecordShape(endpoint=f"POST /admin/api/{{version}}/{k}s.json", kind=k, at=k,
                          system_fields=_SYSTEM) for k in ("order", "customer", "product")),
            *(RecordShape(endpoint=f"GET /admin/api/{{version}}/{k}s.json", kind=k, at=f"{k}s[]",
                          system_fields=_SYSTEM) for k in ("order", "customer", "product")),
            RecordShape(endpoint="GET /admin/api/{version}/customers/search.json",
                        kind="customer", at="customers[]", system_fields=_SYSTEM),
        ),
        docs="https://shopify.dev/docs/api/admin-rest",
    )

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
        shop: str = "acme-store",
        currency: str = "USD",
    ) -> None:
        self.shop = shop
        self.currency = currency
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    @property
    def domain(self) -> str:
        """The shop's ``myshopify.com`` host."""
        return f"{self.shop}.myshopify.com"

    # -- state -------------------------------------------------------------------

    def _init_state(self) -> None:
        super()._init_state()
        self._next_id = 5_500_000_000_001 + self._rng.randrange(0, 10**9) * 10
        self._next_order_number = 1001
        self._calls = 0

    def _counter_state(self) -> Any:
        return self._next_id, self._next_order_number, self._calls

    def _restore_counters(self, state: Any) -> None:
        self._next_id, self._next_order_number, self._calls = state

    def _gid(self, kind: str, oid: int) -> str:
        return f"gid://shopify/{kind.capitalize()}/{oid}"

    def _stamp(self, at: float | None = None) -> str:
        # Shopify writes times in the shop's zone with an offset; the fake's shop is on UTC
        return iso8601(self.now() if at is None else at, millis=False).replace("Z", "+00:00")

    # -- seeding -----------------------------------------------------------------

    def add_product(self, title: str, price: str, *, sku: str | None = None,
                    vendor: str = "Acme", product_type: str = "", created: float | None = None
                    ) -> Mapping[str, Any]:
        """Add a product with one variant (no write logged)."""
        with self._lock:
            product = self._product_object({"title": title, "vendor": vendor,
                                            "product_type": product_type,
                                            "variants": [{"price": price, "sku": sku}]}, created)
            self._store["product"][str(product["id"])] = product
            return product

    def add_customer(self, first_name: str, last_name: str, email: str, *,
                     created: float | None = None) -> Mapping[str, Any]:
        """Add a customer (no write logged)."""
        with self._lock:
            customer = self._customer_object({"first_name": first_name, "last_name": last_name,
                                              "email": email}, created)
            self._store["customer"][str(customer["id"])] = customer
            return customer

    def add_order(self, customer_id: int, lines: Sequence[tuple[int, int]], *,
                  financial_status: str = "paid", created: float | None = None) -> Mapping[str, Any]:
        """Add an order for ``customer_id`` of ``(variant_id, quantity)`` lines (no write logged)."""
        with self._lock:
            customer = self._store["customer"][str(customer_id)]
            order = self._order_object(
                {"line_items": [{"variant_id": v, "quantity": q} for v, q in lines],
                 "customer": {"id": customer_id}, "email": customer["email"],
                 "financial_status": financial_status}, created)
            self._store["order"][str(order["id"])] = order
            self._bump_customer(order, log=False)
            return order

    # -- inspection ----------------------------------------------------------------

    def order_ids(self) -> list[str]:
        """Every order id, oldest first."""
        return list(self._store["order"])

    def webhook_event(self, order_id: str, *, topic: str = "orders/create",
                      rng: Any = None, version: str = "2024-01") -> dict[str, Any]:
        """A webhook delivery for order ``order_id``: ``{"headers": {...}, "body": order}``.

        The headers are Shopify's (``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256``
        signed with :data:`WEBHOOK_SECRET`, ``X-Shopify-Shop-Domain``,
        ``X-Shopify-API-Version``, ``X-Shopify-Webhook-Id``,
        ``X-Shopify-Event-Id``, ``X-Shopify-Triggered-At``); a retry by Shopify
        sends the same delivery again, ids included.
        """
        order = self._store["order"][str(order_id)]
        body = json.loads(json.dumps(order))
        raw = json.dumps(body, separators=(",", ":")).encode()
        digest = base64.b64encode(hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).digest())
        rand = rng.getrandbits if rng is not None else self._rng.getrandbits
        return {
            "headers": {
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": digest.decode(),
                "X-Shopify-Shop-Domain": self.domain,
                "X-Shopify-API-Version": version,
                "X-Shopify-Webhook-Id": str(uuid.UUID(int=rand(128), version=4)),
                "X-Shopify-Event-Id": str(uuid.UUID(int=rand(128), version=4)),
                "X-Shopify-Triggered-At": order["created_at"],
            },
            "body": body,
        }

    # -- errors ------------------------------------------------------------------

    def _headers(self, version: str = "2024-01") -> dict[str, str]:
        return {"X-Shopify-Shop-Api-Call-Limit": f"{min(self._calls, _BUCKET)}/{_BUCKET}",
                "X-Shopify-API-Version": version,
                "X-Request-Id": str(uuid.UUID(int=self._calls + 1, version=4))}

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        headers = self._headers()
        if status == 429:
            headers["Retry-After"] = f"{max(1.0, retry_after if retry_after is not None else 2.0):.1f}"
        elif retry_after is not None:
            headers["Retry-After"] = f"{max(1.0, retry_after):.1f}"
        return Response.of_json(status, _error_body(status, message), headers)

    # -- routing -------------------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        v = r"/admin/api/([^/]+)"
        return (
            ("POST", v + r"/orders\.json", self._create_order),
            ("GET", v + r"/orders\.json", self._list("order")),
            ("GET", v + r"/orders/count\.json", self._count_orders),
            ("GET", v + r"/orders/(\d+)\.json", self._show("order")),
            ("PUT", v + r"/orders/(\d+)\.json", self._update_order),
            ("POST", v + r"/orders/(\d+)/close\.json", self._close_order),
            ("POST", v + r"/orders/(\d+)/cancel\.json", self._cancel_order),
            ("POST", v + r"/customers\.json", self._create_customer),
            ("GET", v + r"/customers\.json", self._list("customer")),
            ("GET", v + r"/customers/search\.json", self._search_customers),
            ("GET", v + r"/customers/(\d+)\.json", self._show("customer")),
            ("PUT", v + r"/customers/(\d+)\.json", self._update_customer),
            ("POST", v + r"/products\.json", self._create_product),
            ("GET", v + r"/products\.json", self._list("product")),
            ("GET", v + r"/products/(\d+)\.json", self._show("product")),
            ("PUT", v + r"/products/(\d+)\.json", self._update_product),
        )

    def _serve(self, request: Request, path: str) -> Response:
        token = request.header("X-Shopify-Access-Token") or ""
        if not token.strip():
            return Response.of_json(401, _error_body(401, None), self._headers())
        self._calls += 1
        found = self._route(request, path)
        if not isinstance(found, tuple):
            return Response.of_json(404, {"errors": "Not Found"}, self._headers())
        handler, match = found
        version = match.group(1)
        if _VERSION.fullmatch(version) is None:
            return Response.of_json(404, {"errors": "Not Found"}, self._headers())
        failure = self._scripted_failure(request, path)
        if failure is not None:
            return failure
        try:
            status, payload, extra = handler(request, *match.groups()[1:])
        except _Fail as fail:
            return Response.of_json(fail.status, {"errors": fail.errors}, self._headers(version))
        return Response.of_json(status, payload, {**self._headers(version), **extra})

    def _root(self, request: Request, root: str) -> dict[str, Any]:
        try:
            body = request.json() if request.body else None
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict) or not isinstance(body.get(root), dict):
            raise _Fail(400, {root: "Required parameter missing or invalid"})
        value: dict[str, Any] = body[root]
        return value

    def _new_id(self) -> int:
        value = self._next_id
        self._next_id += self._rng.randrange(1, 5000)
        return value

    # -- objects --------------------------------------------------------------------

    def _customer_object(self, data: Mapping[str, Any], created: float | None) -> Record:
        cid = self._new_id()
        now = self._stamp(created)
        email = data.get("email")
        return {
            "id": cid, "email": email.lower() if isinstance(email, str) else None,
            "created_at": now, "updated_at": now, "first_name": data.get("first_name"),
            "last_name": data.get("last_name"), "orders_count": 0, "state": "disabled",
            "total_spent": "0.00", "last_order_id": None, "note": data.get("note"),
            "verified_email": bool(data.get("verified_email", True)), "multipass_identifier": None,
            "tax_exempt": bool(data.get("tax_exempt", False)), "tags": str(data.get("tags") or ""),
            "last_order_name": None, "currency": self.currency, "phone": data.get("phone"),
            "addresses": list(data.get("addresses") or []), "tax_exemptions": [],
            "email_marketing_consent": None, "sms_marketing_consent": None,
            "admin_graphql_api_id": self._gid("customer", cid), "default_address": None,
        }

    def _product_object(self, data: Mapping[str, Any], created: float | None) -> Record:
        pid = self._new_id()
        now = self._stamp(created)
        title = str(data["title"])
        handle = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or f"product-{pid}"
        variants = []
        for i, spec in enumerate(data.get("variants") or [{"price": "0.00"}]):
            vid = self._new_id()
            variants.append({
                "id": vid, "product_id": pid, "title": spec.get("title") or "Default Title",
                "price": str(_money(spec.get("price", "0.00"), "variants.price")),
                "sku": spec.get("sku") or "", "position": i + 1,
                "inventory_policy": "deny", "compare_at_price": None,
                "fulfillment_service": "manual", "inventory_management": None,
                "option1": spec.get("option1") or "Default Title", "option2": None, "option3": None,
                "created_at": now, "updated_at": now, "taxable": True, "barcode": None,
                "grams": int(spec.get("grams") or 0), "weight": 0.0, "weight_unit": "kg",
                "requires_shipping": True, "admin_graphql_api_id": self._gid("productvariant", vid),
            })
        return {
            "id": pid, "title": title, "body_html": data.get("body_html"),
            "vendor": data.get("vendor") or self.shop, "product_type": data.get("product_type") or "",
            "created_at": now, "handle": handle, "updated_at": now, "published_at": now,
            "template_suffix": None, "published_scope": "web", "tags": str(data.get("tags") or ""),
            "status": data.get("status") or "active",
            "admin_graphql_api_id": self._gid("product", pid), "variants": variants,
            "options": [{"id": self._new_id(), "product_id": pid, "name": "Title", "position": 1,
                         "values": [v["title"] for v in variants]}],
            "images": [], "image": None,
        }

    def _variant(self, variant_id: Any) -> tuple[Record, Record] | None:
        for product in self._store["product"].values():
            for variant in product["variants"]:
                if str(variant["id"]) == str(variant_id):
                    return product, variant
        return None

    def _line_items(self, raw: Any) -> list[Record]:
        if not isinstance(raw, list) or not raw:
            raise _Fail(422, {"line_items": ["must have at least one line item"]})
        lines = []
        for spec in raw:
            if not isinstance(spec, dict):
                raise _Fail(422, {"line_items": ["is invalid"]})
            try:
                quantity = int(spec.get("quantity", 1))
            except (TypeError, ValueError):
                raise _Fail(422, {"line_items.quantity": ["is not a number"]}) from None
            if quantity < 1:
                raise _Fail(422, {"line_items.quantity": ["must be greater than 0"]})
            lid = self._new_id()
            if spec.get("variant_id") is not None:
                found = self._variant(spec["variant_id"])
                if found is None:
                    raise _Fail(422, {"line_items": [f"Variant {spec['variant_id']} does not exist"]})
                product, variant = found
                title, price = product["title"], Decimal(variant["price"])
                extra = {"product_id": product["id"], "variant_id": variant["id"],
                         "sku": variant["sku"], "variant_title": variant["title"],
                         "vendor": product["vendor"], "product_exists": True,
                         "grams": variant["grams"]}
            else:
                if not spec.get("title"):
                    raise _Fail(422, {"line_items.title": ["can't be blank"]})
                title = str(spec["title"])
                price = _money(spec.get("price", "0.00"), "line_items.price")
                extra = {"product_id": None, "variant_id": None, "sku": spec.get("sku") or "",
                         "variant_title": None, "vendor": None, "product_exists": False,
                         "grams": int(spec.get("grams") or 0)}
            lines.append({
                "id": lid, "admin_graphql_api_id": self._gid("lineitem", lid),
                "fulfillable_quantity": quantity, "fulfillment_service": "manual",
                "fulfillment_status": None, "gift_card": False, "name": title,
                "price": f"{price:.2f}", "properties": [], "quantity": quantity,
                "requires_shipping": True, "taxable": True, "title": title,
                "total_discount": "0.00", "tax_lines": [], "discount_allocations": [], **extra,
            })
        return lines

    def _order_object(self, data: Mapping[str, Any], created: float | None) -> Record:
        # validate everything before anything is stored: a refused order leaves no customer behind
        status = data.get("financial_status") or "paid"
        if status not in _FINANCIAL:
            raise _Fail(422, {"financial_status": ["is not included in the list"]})
        given = data.get("email")
        if given and (not isinstance(given, str) or _EMAIL.fullmatch(given) is None):
            raise _Fail(422, {"email": ["is invalid"]})
        lines = self._line_items(data.get("line_items"))
        customer = self._order_customer(data)
        oid = self._new_id()
        number = self._next_order_number
        self._next_order_number += 1
        now = self._stamp(created)
        subtotal = sum((Decimal(li["price"]) * li["quantity"] for li in lines), Decimal("0.00"))
        email = given or (customer or {}).get("email") or ""
        money = f"{subtotal:.2f}"
        return {
            "id": oid, "admin_graphql_api_id": self._gid("order", oid), "app_id": 1354745,
            "browser_ip": None, "buyer_accepts_marketing": False, "cancel_reason": None,
            "cancelled_at": None, "cart_token": None, "checkout_id": None,
            "checkout_token": None, "closed_at": None, "confirmation_number": f"C{oid % 10**8:08d}",
            "confirmed": True, "contact_email": email or None, "created_at": now,
            "currency": self.currency, "current_subtotal_price": money,
            "current_total_discounts": "0.00", "current_total_price": money,
            "current_total_tax": "0.00", "customer_locale": "en", "email": email,
            "estimated_taxes": False, "financial_status": status, "fulfillment_status": None,
            "landing_site": None, "name": f"#{number}", "note": data.get("note"),
            "note_attributes": list(data.get("note_attributes") or []), "number": number - 1000,
            "order_number": number, "order_status_url": f"https://{self.domain}/orders/{oid}",
            "phone": data.get("phone"), "presentment_currency": self.currency,
            "processed_at": now, "reference": None, "referring_site": None,
            "source_identifier": None, "source_name": data.get("source_name") or "web",
            "subtotal_price": money, "tags": str(data.get("tags") or ""), "taxes_included": False,
            "test": bool(data.get("test", False)), "token": uuid.UUID(int=oid, version=4).hex,
            "total_discounts": "0.00", "total_line_items_price": money, "total_outstanding":
            "0.00" if status == "paid" else money, "total_price": money, "total_tax": "0.00",
            "total_weight": sum(li["grams"] * li["quantity"] for li in lines),
            "updated_at": now, "user_id": None, "billing_address": data.get("billing_address"),
            "customer": customer, "discount_codes": [], "fulfillments": [], "line_items": lines,
            "refunds": [], "shipping_address": data.get("shipping_address"), "shipping_lines": [],
        }

    def _order_customer(self, data: Mapping[str, Any]) -> Record | None:
        spec = data.get("customer")
        if spec is None:
            email = data.get("email")
            found = self._customer_by_email(email) if isinstance(email, str) else None
            return self._order_view(found) if found is not None else None
        if not isinstance(spec, dict):
            raise _Fail(422, {"customer": ["is invalid"]})
        if spec.get("id") is not None:
            found = self._store["customer"].get(str(spec["id"]))
            if found is None:
                raise _Fail(422, {"customer": ["not found"]})
            return self._order_view(found)
        email = spec.get("email") or data.get("email")
        found = self._customer_by_email(email) if isinstance(email, str) else None
        if found is None:
            self._validate_customer({"email": email} if email else {})
            found = self._customer_object({**spec, "email": email}, None)
            self._store_record("customer", str(found["id"]), found, "create")
        return self._order_view(found)

    @staticmethod
    def _order_view(customer: Mapping[str, Any]) -> Record:
        keep = ("id", "email", "created_at", "updated_at", "first_name", "last_name", "state",
                "note", "verified_email", "tags", "currency", "phone", "admin_graphql_api_id")
        return {k: customer.get(k) for k in keep}

    def _customer_by_email(self, email: str | None) -> Record | None:
        if not email:
            return None
        wanted = email.strip().lower()
        for customer in self._store["customer"].values():
            if customer.get("email") == wanted:
                return customer
        return None

    def _bump_customer(self, order: Mapping[str, Any], *, log: bool = True) -> None:
        customer = order.get("customer")
        if not customer:
            return
        old = self._store["customer"].get(str(customer["id"]))
        if old is None:
            return
        new = {**old, "orders_count": old["orders_count"] + 1,
               "total_spent": f"{Decimal(old['total_spent']) + Decimal(order['total_price']):.2f}",
               "last_order_id": order["id"], "last_order_name": order["name"]}
        if log:
            self._store_record("customer", str(old["id"]), new, "update")
        else:
            self._store["customer"][str(old["id"])] = new

    # -- handlers ---------------------------------------------------------------------

    def _show(self, kind: str) -> Any:
        def show(request: Request, oid: str) -> tuple[int, Any, dict[str, str]]:
            record = self._store[kind].get(oid)
            if record is None:
                raise _Fail(404, "Not Found")
            return 200, {kind: self._fields(request, record)}, {}
        return show

    @staticmethod
    def _fields(request: Request, record: Mapping[str, Any]) -> Mapping[str, Any]:
        wanted = dict(request.query).get("fields")
        if not wanted:
            return record
        names = [n.strip() for n in wanted.split(",") if n.strip()]
        return {n: record[n] for n in names if n in record}

    def _list(self, kind: str) -> Any:
        def listing(request: Request) -> tuple[int, Any, dict[str, str]]:
            query = dict(request.query)
            rows = self._filter(kind, query)
            return self._page(request, kind, rows, query)
        return listing

    def _filter(self, kind: str, query: Mapping[str, str]) -> list[Record]:
        if "page_info" in query:
            allowed = {"page_info", "limit", "fields"}
            extra = sorted(set(query) - allowed)
            if extra:
                raise _Fail(400, f"page_info - Invalid value. Other parameters not allowed: {extra}")
            return list(self._store[kind].values())
        rows = list(self._store[kind].values())
        if query.get("ids"):
            ids = {i.strip() for i in query["ids"].split(",")}
            rows = [r for r in rows if str(r["id"]) in ids]
        if query.get("since_id"):
            try:
                since = int(query["since_id"])
            except ValueError:
                raise _Fail(400, {"since_id": "expected Integer"}) from None
            rows = [r for r in rows if int(r["id"]) > since]
        if query.get("created_at_min"):
            rows = [r for r in rows if r["created_at"] >= query["created_at_min"]]
        if kind == "order":
            status = query.get("status", "open")
            if status not in ("open", "closed", "cancelled", "any"):
                raise _Fail(400, {"status": "is not a valid status"})
            if status == "open":
                rows = [r for r in rows if r["closed_at"] is None and r["cancelled_at"] is None]
            elif status == "closed":
                rows = [r for r in rows if r["closed_at"] is not None]
            elif status == "cancelled":
                rows = [r for r in rows if r["cancelled_at"] is not None]
            if query.get("financial_status") and query["financial_status"] != "any":
                rows = [r for r in rows if r["financial_status"] == query["financial_status"]]
            if query.get("name"):
                wanted = query["name"].lstrip("#")
                rows = [r for r in rows if r["name"].lstrip("#") == wanted]
        return rows

    def _page(self, request: Request, kind: str, rows: list[Record],
              query: Mapping[str, str]) -> tuple[int, Any, dict[str, str]]:
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            raise _Fail(400, {"limit": "expected Integer"}) from None
        limit = max(1, min(limit, 250))
        start = 0
        if "page_info" in query:
            try:
                start = int(base64.urlsafe_b64decode(query["page_info"].encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise _Fail(400, "page_info - Invalid value.") from None
        chunk = rows[start : start + limit]
        base = f"https://{request.host}{request.path}"
        links = []
        if start > 0:
            prev = base64.urlsafe_b64encode(str(max(0, start - limit)).encode()).decode()
            links.append(f'<{base}?{urlencode({"limit": limit, "page_info": prev})}>; rel="previous"')
        if start + limit < len(rows):
            nxt = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
            links.append(f'<{base}?{urlencode({"limit": limit, "page_info": nxt})}>; rel="next"')
        return 200, {f"{kind}s": [self._fields(request, r) for r in chunk]}, (
            {"Link": ", ".join(links)} if links else {})

    def _count_orders(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        return 200, {"count": len(self._filter("order", dict(request.query)))}, {}

    def _create_order(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        data = self._root(request, "order")
        order = self._order_object(data, None)
        self._store_record("order", str(order["id"]), order, "create")
        self._bump_customer(order)
        return 201, {"order": order}, {}

    def _order(self, oid: str) -> Record:
        order = self._store["order"].get(oid)
        if order is None:
            raise _Fail(404, "Not Found")
        return order

    def _update_order(self, request: Request, oid: str) -> tuple[int, Any, dict[str, str]]:
        old = self._order(oid)
        data = self._root(request, "order")
        order = dict(old)
        for key in ("note", "tags", "email", "phone", "buyer_accepts_marketing", "note_attributes",
                    "shipping_address"):
            if key in data:
                order[key] = data[key]
        if "email" in data and data["email"] and _EMAIL.fullmatch(str(data["email"])) is None:
            raise _Fail(422, {"email": ["is invalid"]})
        order["tags"] = str(order["tags"] or "")
        order["updated_at"] = self._stamp()
        self._store_record("order", oid, order, "update")
        return 200, {"order": order}, {}

    def _close_order(self, request: Request, oid: str) -> tuple[int, Any, dict[str, str]]:
        old = self._order(oid)
        now = self._stamp()
        order = {**old, "closed_at": old["closed_at"] or now, "updated_at": now}
        self._store_record("order", oid, order, "close")
        return 200, {"order": order}, {}

    def _cancel_order(self, request: Request, oid: str) -> tuple[int, Any, dict[str, str]]:
        old = self._order(oid)
        if old["cancelled_at"] is not None:
            raise _Fail(422, {"base": ["Order has already been cancelled"]})
        try:
            data = request.json() if request.body else {}
        except (ValueError, UnicodeDecodeError):
            data = {}
        reason = data.get("reason", "other") if isinstance(data, dict) else "other"
        if reason not in ("customer", "fraud", "inventory", "declined", "other"):
            raise _Fail(422, {"reason": ["is not included in the list"]})
        now = self._stamp()
        order = {**old, "cancelled_at": now, "cancel_reason": reason, "closed_at": now,
                 "updated_at": now}
        self._store_record("order", oid, order, "cancel")
        return 200, {"order": order}, {}

    def _validate_customer(self, data: Mapping[str, Any], *, exclude: str | None = None) -> None:
        email = data.get("email")
        if email is not None:
            if not isinstance(email, str) or _EMAIL.fullmatch(email) is None:
                raise _Fail(422, {"email": ["is invalid"]})
            other = self._customer_by_email(email)
            if other is not None and str(other["id"]) != exclude:
                raise _Fail(422, {"email": ["has already been taken"]})

    def _create_customer(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        data = self._root(request, "customer")
        if not any(data.get(k) for k in ("email", "phone", "first_name", "last_name")):
            raise _Fail(422, {"customer": [("Customer must have a name, phone number or email "
                                           "address")]})
        self._validate_customer(data)
        customer = self._customer_object(data, None)
        self._store_record("customer", str(customer["id"]), customer, "create")
        return 201, {"customer": customer}, {}

    def _update_customer(self, request: Request, cid: str) -> tuple[int, Any, dict[str, str]]:
        old = self._store["customer"].get(cid)
        if old is None:
            raise _Fail(404, "Not Found")
        data = self._root(request, "customer")
        self._validate_customer(data, exclude=cid)
        customer = dict(old)
        for key in ("first_name", "last_name", "email", "phone", "note", "tags", "tax_exempt"):
            if key in data:
                customer[key] = data[key].lower() if key == "email" and data[key] else data[key]
        customer["updated_at"] = self._stamp()
        self._store_record("customer", cid, customer, "update")
        return 200, {"customer": customer}, {}

    def _search_customers(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        query = dict(request.query).get("query", "")
        rows = list(self._store["customer"].values())
        for term in query.split():
            key, sep, value = term.partition(":")
            value = value.strip('"').lower()
            if sep and key in ("email", "first_name", "last_name", "phone", "id"):
                rows = [r for r in rows if str(r.get(key) or "").lower() == value]
            elif not sep:
                word = term.lower()
                rows = [r for r in rows if any(word in str(r.get(f) or "").lower()
                                               for f in ("email", "first_name", "last_name"))]
        return 200, {"customers": rows[: 50]}, {}

    def _create_product(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        data = self._root(request, "product")
        if not isinstance(data.get("title"), str) or not data["title"].strip():
            raise _Fail(422, {"title": ["can't be blank"]})
        product = self._product_object(data, None)
        self._store_record("product", str(product["id"]), product, "create")
        return 201, {"product": product}, {}

    def _update_product(self, request: Request, pid: str) -> tuple[int, Any, dict[str, str]]:
        old = self._store["product"].get(pid)
        if old is None:
            raise _Fail(404, "Not Found")
        data = self._root(request, "product")
        if "title" in data and (not isinstance(data["title"], str) or not data["title"].strip()):
            raise _Fail(422, {"title": ["can't be blank"]})
        product = dict(old)
        for key in ("title", "body_html", "vendor", "product_type", "tags", "status"):
            if key in data:
                product[key] = data[key]
        product["updated_at"] = self._stamp()
        self._store_record("product", pid, product, "update")
        return 200, {"product": product}, {}
