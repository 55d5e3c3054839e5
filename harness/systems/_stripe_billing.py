"""Stripe objects that appear by payment, not by an automation's request.

Paid invoices, completed Checkout Sessions and subscriptions are made by
customers paying (or by Stripe's billing engine), so the fake creates them
through its Python API (:meth:`Stripe.add_paid_invoice`,
:meth:`Stripe.add_checkout_session`, :meth:`Stripe.add_subscription`) and the
triggers announce them with a Stripe Event (:func:`event_object`).  Shapes
follow the object samples of Stripe's API reference (API version 2026-x:
subscription periods live on the subscription items).
"""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]

__all__ = ["checkout_session_object", "event_object", "subscription_object"]


def checkout_session_object(
    *,
    sid: str,
    now: int,
    customer: Record,
    amount: int,
    currency: str,
    mode: str,
    payment_intent: str | None,
    subscription: str | None,
    invoice: str | None,
    client_reference_id: str | None,
    metadata: dict[str, str],
) -> Record:
    """A completed, paid Checkout Session for ``customer``."""
    return {
        "id": sid,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount,
        "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": None,
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": currency,
        "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": customer["id"],
        "customer_creation": None,
        "customer_details": {
            "address": customer.get("address"),
            "email": customer.get("email"),
            "name": customer.get("name"),
            "phone": customer.get("phone"),
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": customer.get("email"),
        "discounts": [],
        "expires_at": now + 86_400,
        "invoice": invoice,
        "invoice_creation": None,
        "livemode": False,
        "locale": None,
        "metadata": dict(metadata),
        "mode": mode,
        "payment_intent": payment_intent,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "paid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "complete",
        "submit_type": None,
        "subscription": subscription,
        "success_url": "https://example.com/success",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
        "wallet_options": None,
    }


def subscription_object(
    *,
    sid: str,
    item_id: str,
    price_id: str,
    product_id: str,
    now: int,
    customer: Record,
    amount: int,
    currency: str,
    interval: str,
    status: str,
    quantity: int,
    metadata: dict[str, str],
) -> Record:
    """A subscription of ``customer`` to one recurring price."""
    period_end = now + (365 if interval == "year" else 30) * 86_400
    return {
        "id": sid,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"type": "classic"},
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": currency,
        "customer": customer["id"],
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": item_id,
                    "object": "subscription_item",
                    "billing_thresholds": None,
                    "created": now,
                    "current_period_end": period_end,
                    "current_period_start": now,
                    "discounts": [],
                    "metadata": {},
                    "price": {
                        "id": price_id,
                        "object": "price",
                        "active": True,
                        "billing_scheme": "per_unit",
                        "created": now,
                        "currency": currency,
                        "livemode": False,
                        "lookup_key": None,
                        "metadata": {},
                        "nickname": None,
                        "product": product_id,
                        "recurring": {"interval": interval, "interval_count": 1,
                                      "meter": None, "usage_type": "licensed"},
                        "tax_behavior": "unspecified",
                        "type": "recurring",
                        "unit_amount": amount,
                        "unit_amount_decimal": str(amount),
                    },
                    "quantity": quantity,
                    "subscription": sid,
                    "tax_rates": [],
                }
            ],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sid}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(metadata),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": status,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }


def event_object(
    *,
    eid: str,
    event_type: str,
    obj: Record,
    created: int,
    api_version: str,
    previous_attributes: Record | None = None,
    request_id: str | None = None,
) -> Record:
    """A Stripe Event (``object: "event"``) announcing ``obj``, as a webhook endpoint receives it.

    ``request`` is ``{"id": None, "idempotency_key": None}`` for an automatic
    event (a payment, Stripe's billing engine), as Stripe documents.
    """
    data: Record = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": eid,
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": request_id, "idempotency_key": None},
        "type": event_type,
    }
