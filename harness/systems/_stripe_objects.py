"""The shapes of Stripe's objects, as its API reference documents them (version 2026-x).

Kept apart from the endpoint logic in :mod:`harness.systems._stripe`: each
function returns a new dict, never a shared one (records are never mutated).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Record = dict[str, Any]

__all__ = ["customer_object", "invoice_object", "invoiceitem_object", "line_item"]


def _set_metadata(value: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata on create: an empty value means "not set"."""
    return {k: v for k, v in (value or {}).items() if v != ""}


def customer_object(*, cid: Any, now: Any, p: Any, invoice_prefix: Any) -> Record:
    """A new customer in the shape Stripe's API reference documents."""
    return {
        "id": cid,
        "object": "customer",
        "address": p.get("address"),
        "balance": 0,
        "created": now,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": p.get("description"),
        "discount": None,
        "email": p.get("email"),
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": _set_metadata(p.get("metadata")),
        "name": p.get("name"),
        "next_invoice_sequence": 1,
        "phone": p.get("phone"),
        "preferred_locales": p.get("preferred_locales") or [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def invoiceitem_object(
    *,
    iid: Any,
    now: Any,
    p: Any,
    amount: Any,
    currency: Any,
    customer: Any,
    period: Any,
    unit: Any,
    quantity: Any,
) -> Record:
    """A new invoiceitem in the shape Stripe's API reference documents."""
    return {
        "id": iid,
        "object": "invoiceitem",
        "amount": amount,
        "currency": currency,
        "customer": customer["id"],
        "date": now,
        "description": p.get("description"),
        "discountable": p.get("discountable", True),
        "discounts": [],
        "invoice": None,
        "livemode": False,
        "metadata": _set_metadata(p.get("metadata")),
        "parent": None,
        "period": {"end": period.get("end") or now, "start": period.get("start") or now},
        "pricing": {"price_details": None, "type": None, "unit_amount_decimal": unit},
        "proration": False,
        "quantity": quantity,
        "tax_rates": [],
        "test_clock": None,
    }


def invoice_object(
    *,
    iid: Any,
    now: Any,
    p: Any,
    customer: Any,
    method: Any,
    due_date: Any,
    account_country: Any,
    account_name: Any,
) -> Record:
    """A new invoice in the shape Stripe's API reference documents."""
    return {
        "id": iid,
        "object": "invoice",
        "account_country": account_country,
        "account_name": account_name,
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": p.get("auto_advance", False),
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_reason": "manual",
        "collection_method": method,
        "created": now,
        "currency": p.get("currency") or customer.get("currency") or "usd",
        "custom_fields": None,
        "customer": customer["id"],
        "customer_address": customer.get("address"),
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "customer_phone": customer.get("phone"),
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": p.get("description"),
        "discounts": [],
        "due_date": due_date,
        "effective_at": None,
        "ending_balance": None,
        "footer": p.get("footer"),
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/invoices/{iid}/lines",
        },
        "livemode": False,
        "metadata": _set_metadata(p.get("metadata")),
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": None,
        "payments": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": "/v1/invoice_payments",
        },
        "period_end": now,
        "period_start": now,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": None,
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def line_item(invoice_id: str, item: Mapping[str, Any]) -> Record:
    """The invoice line an attached invoice item becomes (``invoice.lines.data[]``)."""

    return {
        "id": "il_" + item["id"][3:],
        "object": "line_item",
        "amount": item["amount"],
        "currency": item["currency"],
        "description": item["description"],
        "discount_amounts": [],
        "discountable": item["discountable"],
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": item["metadata"],
        "parent": {
            "invoice_item_details": {
                "invoice_item": item["id"],
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        },
        "period": item["period"],
        "pretax_credit_amounts": [],
        "pricing": item["pricing"],
        "quantity": item["quantity"],
        "taxes": [],
    }
