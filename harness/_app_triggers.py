"""Webhook triggers of the bundled Shopify, Intercom, GitHub and Slack fakes.

* ``shopify.orders.create``: Shopify's ``orders/create`` webhook.  An event is
  the delivery as the automation's web handler sees it: ``{"headers": {...},
  "body": order}``.  A retry by Shopify resends the same delivery, so a
  duplicate keeps ``X-Shopify-Event-Id`` (Shopify's documented dedupe key) and
  ``X-Shopify-Webhook-Id``; Shopify counts no attempts in the delivery.
* ``intercom.conversation.user.created``: Intercom's notification envelope
  ``{"type": "notification_event", "topic", "id", "data": {"item": conversation},
  "delivery_attempts"}``; Intercom's retry keeps ``id`` and increments
  ``delivery_attempts``.
* ``github.issues.opened``: GitHub's ``issues`` webhook with ``action: opened``,
  as ``{"headers": {...}, "body": {"action", "issue", "repository", "sender"}}``.
  ``X-GitHub-Delivery`` identifies the event and is kept on a redelivery (GitHub
  does not retry by itself; a person or a script redelivers a failed one).
* ``slack.app_mention``: Slack's Events API ``event_callback`` with an
  ``app_mention`` event, as ``{"headers": {...}, "body": envelope}``; Slack's
  retry (up to three, when the app did not answer 2xx within 3 seconds) keeps
  ``event_id``.

Imported by :mod:`harness.triggers`, which registers them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from harness._triggers import example, register_trigger
from harness.flow import Contract, Field, Trigger

__all__: list[str] = []


def _order_key(event: Mapping[str, Any]) -> str:
    return f"order:{event['body']['id']}"


def _orders(world: Any) -> list[str]:
    return list(world.system("shopify").order_ids())


def _order_event(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    return dict(world.system("shopify").webhook_event(object_id, rng=rng))


_SHOPIFY_EXAMPLE = {
    "headers": {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": "XWmrwMey6OsLMeiZKwP4FppHH3cmAiiJJAweH5Jo4bM=",
        "X-Shopify-Shop-Domain": "acme-store.myshopify.com",
        "X-Shopify-API-Version": "2024-01",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2024-01-01T10:00:00+00:00",
    },
    "body": {
        "id": 820982911946154508,
        "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
        "name": "#9999",
        "order_number": 1234,
        "email": "jon@example.com",
        "currency": "USD",
        "financial_status": "paid",
        "total_price": "403.00",
        "subtotal_price": "393.00",
        "created_at": "2024-01-01T10:00:00+00:00",
        "customer": {"id": 115310627314723954, "email": "john@example.com",
                     "first_name": "John", "last_name": "Smith"},
        "line_items": [{"id": 866550311766439020, "title": "Aviator sunglasses",
                        "price": "199.00", "quantity": 1, "sku": "SKU2006-001",
                        "variant_id": 808950810, "product_id": 788032119674292922}],
    },
}

register_trigger(
    Trigger(
        name="shopify.orders.create",
        system="shopify",
        description="a Shopify order was created (orders/create webhook, headers and body)",
        contract=Contract(
            (
                Field("headers.X-Shopify-Topic", "enum", allowed=("orders/create",),
                      meaning="the webhook topic"),
                Field("headers.X-Shopify-Event-Id", "str",
                      meaning="Shopify's id of the event; the same on every retry of it"),
                Field("headers.X-Shopify-Webhook-Id", "str",
                      meaning="the id of this webhook delivery"),
                Field("headers.X-Shopify-Shop-Domain", "str",
                      meaning="the shop's myshopify.com domain"),
                Field("body.id", "int", meaning="the order id"),
                Field("body.name", "str", meaning="the order's name as the shop shows it (#1001)"),
                Field("body.email", "email", required=False,
                      meaning="the buyer's email (absent for some point-of-sale orders)"),
                Field("body.currency", "str", meaning="the shop currency, ISO 4217"),
                Field("body.total_price", "money", meaning="the order total, a decimal string"),
                Field("body.financial_status", "enum",
                      allowed=("pending", "authorized", "partially_paid", "paid",
                               "partially_refunded", "refunded", "voided"),
                      meaning="the payment state of the order"),
            )
        ),
        object_key=_order_key,
        example=_SHOPIFY_EXAMPLE,
        make_event=_order_event,
        objects=_orders,
        event_id_field="headers.X-Shopify-Event-Id",
        attempt_field=None,
        defining=("headers.X-Shopify-Topic",),
    )
)


def _conversation_key(event: Mapping[str, Any]) -> str:
    return f"conversation:{event['data']['item']['id']}"


def _conversations(world: Any) -> list[str]:
    return list(world.system("intercom").conversation_ids())


def _conversation_event(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    return dict(world.system("intercom").webhook_event(object_id, rng=rng))


_INTERCOM_EXAMPLE = {
    "type": "notification_event",
    "app_id": "ecahpwf5",
    "data": {
        "type": "notification_event_data",
        "item": {
            "type": "conversation",
            "id": "147",
            "created_at": 1717000000,
            "updated_at": 1717000000,
            "state": "open",
            "open": True,
            "source": {"type": "conversation", "id": "403918330", "delivered_as":
                       "customer_initiated", "subject": "", "body": "<p>Hi, I need help</p>",
                       "author": {"type": "user", "id": "6657a1b2c3d4e5f601234567",
                                  "name": "Jon Doe", "email": "jon@example.com"}},
            "contacts": {"type": "contact.list", "contacts": [
                {"type": "contact", "id": "6657a1b2c3d4e5f601234567", "external_id": "u-42"}]},
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [],
                                   "total_count": 0},
        },
    },
    "links": {},
    "id": "notif_0f1c1a9e-5d2b-4c1e-9a7b-1d2c3b4a5f6e",
    "topic": "conversation.user.created",
    "delivery_status": "pending",
    "delivery_attempts": 1,
    "delivered_at": 0,
    "first_sent_at": 1717000000,
    "created_at": 1717000000,
    "self": None,
}

register_trigger(
    Trigger(
        name="intercom.conversation.user.created",
        system="intercom",
        description="a contact started an Intercom conversation (conversation.user.created)",
        contract=Contract(
            (
                Field("type", "enum", allowed=("notification_event",),
                      meaning="Intercom's envelope type"),
                Field("topic", "enum", allowed=("conversation.user.created",),
                      meaning="the webhook topic"),
                Field("id", "str", meaning="the notification id; the same on Intercom's retry"),
                Field("delivery_attempts", "int", meaning="Intercom's delivery attempt, from 1"),
                Field("created_at", "datetime", meaning="when the event happened, epoch seconds"),
                Field("data.item.id", "id", meaning="the conversation id"),
                Field("data.item.source.body", "str", meaning="the contact's first message, HTML"),
                Field("data.item.source.author.id", "id", meaning="the contact who wrote it"),
                Field("data.item.source.author.email", "email", required=False,
                      meaning="the contact's email (a lead may have none)"),
                Field("data.item.contacts.contacts.0.id", "id",
                      meaning="the conversation's contact"),
            )
        ),
        object_key=_conversation_key,
        example=_INTERCOM_EXAMPLE,
        make_event=_conversation_event,
        objects=_conversations,
        event_id_field="id",
        attempt_field="delivery_attempts",
        defining=("type", "topic"),
    )
)


def _issue_key(event: Mapping[str, Any]) -> str:
    body = event["body"]
    return f"issue:{body['repository']['full_name']}#{body['issue']['number']}"


def _issues(world: Any) -> list[str]:
    return list(world.system("github").issue_keys())


def _issue_event(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    return dict(world.system("github").webhook_event(object_id, rng=rng))


register_trigger(
    Trigger(
        name="github.issues.opened",
        system="github",
        description="an issue was opened on a GitHub repository (issues webhook, action opened)",
        contract=Contract(
            (
                Field("headers.X-GitHub-Event", "enum", allowed=("issues",), meaning="the webhook event"),
                Field("headers.X-GitHub-Delivery", "str",
                      meaning="GitHub's GUID of the event; the same when it is redelivered"),
                Field("headers.X-Hub-Signature-256", "str", pattern=r"sha256=[0-9a-f]{64}",
                      meaning="HMAC-SHA256 of the body with the webhook's secret"),
                Field("body.action", "enum", allowed=("opened",), meaning="what happened to the issue"),
                Field("body.issue.number", "int", meaning="the issue's number in its repository"),
                Field("body.issue.title", "str", meaning="the issue's title"),
                Field("body.issue.body", "str", required=False, meaning="the issue's text (null when empty)"),
                Field("body.issue.html_url", "str", meaning="the issue's page"),
                Field("body.issue.user.login", "str", meaning="who opened it"),
                Field("body.repository.full_name", "str", pattern=r"[^/\s]+/[^/\s]+",
                      meaning="owner/repo"),
            )
        ),
        object_key=_issue_key,
        example=example("github/webhook_issues_opened.json"),
        make_event=_issue_event,
        objects=_issues,
        event_id_field="headers.X-GitHub-Delivery",
        attempt_field=None,
        redelivery_keeps_id=True,
        defining=("headers.X-GitHub-Event", "body.action"),
        noun="issue",
    )
)


def _mention_key(event: Mapping[str, Any]) -> str:
    inner = event["body"]["event"]
    return f"message:{inner['channel']}:{inner['ts']}"


def _mentions(world: Any) -> list[str]:
    return list(world.system("slack").mention_keys())


def _mention_event(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    return dict(world.system("slack").webhook_event(object_id, rng=rng))


register_trigger(
    Trigger(
        name="slack.app_mention",
        system="slack",
        description="someone mentioned the app's bot in a channel (Events API app_mention)",
        contract=Contract(
            (
                Field("headers.X-Slack-Signature", "str", pattern=r"v0=[0-9a-f]{64}",
                      meaning="HMAC-SHA256 of v0:timestamp:body with the app's signing secret"),
                Field("headers.X-Slack-Request-Timestamp", "int", meaning="when Slack sent it, epoch seconds"),
                Field("body.type", "enum", allowed=("event_callback",), meaning="the Events API envelope"),
                Field("body.event_id", "str", pattern=r"Ev[A-Z0-9]+",
                      meaning="Slack's id of the event; the same on Slack's retries"),
                Field("body.team_id", "str", meaning="the workspace"),
                Field("body.event.type", "enum", allowed=("app_mention",), meaning="the event"),
                Field("body.event.user", "str", meaning="who mentioned the bot"),
                Field("body.event.text", "str", meaning="the message, with <@BOT> in it"),
                Field("body.event.channel", "str", meaning="the channel it was posted in"),
                Field("body.event.ts", "str", pattern=r"\d+\.\d{6}", meaning="the message's ts"),
            )
        ),
        object_key=_mention_key,
        example=example("slack/event_app_mention.json"),
        make_event=_mention_event,
        objects=_mentions,
        event_id_field="body.event_id",
        attempt_field=None,
        redelivery_keeps_id=True,
        defining=("body.type", "body.event.type"),
        noun="mention",
    )
)
