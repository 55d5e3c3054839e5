"""Built-in vendor triggers beyond HubSpot deals: Stripe events, Zendesk tickets, HubSpot contacts
and companies.

Each trigger makes its events from the fakes' objects.  Objects that a customer
makes by paying or writing in (a paid invoice, a completed Checkout Session, a
subscription, a support ticket) do not exist in a freshly seeded world; their
ids are fixed by the world's seed and the object is created in the fake (no
write logged) the first time an event about it is made, the way the event
reports something that happened.  Every world built from one seed therefore
makes the same objects with the same ids, whatever the automation did before.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness._triggers._fixtures import example
from harness._triggers._generic import _PathKey, schedule_trigger
from harness._triggers._registry import register_trigger
from harness.errors import NotFoundError
from harness.flow import Contract, Field, Trigger

__all__: list[str] = []

#: how many objects of each kind a world offers to scenarios (they use the first five)
OBJECTS = 6
_ALNUM = string.ascii_letters + string.digits


def _seed_of(world: Any, system: str) -> int:
    # the fakes keep the seed they were built from; worlds made by one factory share it
    return int(getattr(world.system(system), "_seed", 0))


def _token(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(_ALNUM, k=n))


def _person(world: Any, i: int, rng: random.Random) -> tuple[str, str]:
    """(email, name) of customer ``i``: HubSpot contact ``i`` when the world has one."""
    try:
        hubspot = world.system("hubspot")
        ids = hubspot.contact_ids()
    except (KeyError, LookupError, AttributeError):
        ids = []
    if i < len(ids):
        props = hubspot.get("contact", ids[i])["properties"]
        return str(props["email"]), f"{props.get('firstname') or ''} {props.get('lastname') or ''}".strip()
    first = rng.choice(("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald"))
    last = rng.choice(("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth"))
    return f"{first}.{last}{i}@example.com".lower(), f"{first} {last}"


# -- Stripe ---------------------------------------------------------------------------------

_STRIPE_COMMON = (
    Field("id", "str", pattern=r"evt_[A-Za-z0-9]+",
          meaning="Stripe's id of this event; a retry by Stripe resends the same id"),
    Field("object", "enum", allowed=("event",), meaning="always 'event'"),
    Field("api_version", "str", required=False, meaning="the API version that rendered data.object"),
    Field("created", "datetime", meaning="when the event was created, epoch seconds"),
    Field("livemode", "bool", meaning="live (true) or test (false) mode"),
    Field("pending_webhooks", "int", meaning="endpoints that have not yet acknowledged the event"),
)


def _stripe_ids(world: Any, prefix: str, length: int) -> list[str]:
    rng = random.Random(f"stripe-trigger:{prefix}:{_seed_of(world, 'stripe')}")
    return [prefix + _token(rng, length) for _ in range(OBJECTS)]


def _index(ids: Sequence[str], object_id: str, what: str) -> int:
    try:
        return list(ids).index(str(object_id))
    except ValueError:
        raise NotFoundError(f"{what} {object_id!r} is not one of this world's trigger objects {list(ids)}") from None


def _stripe_customer(world: Any, i: int) -> str:
    stripe = world.system("stripe")
    cid = _stripe_ids(world, "cus_", 14)[i]
    if stripe.get("customer", cid) is None:
        email, name = _person(world, i, random.Random(cid))
        stripe.add_customer(customer_id=cid, email=email, name=name)
    return cid


def _amount(object_id: str) -> int:
    return random.Random(object_id).randrange(1_000, 500_000, 100)


def _evt_id(rng: random.Random) -> str:
    return "evt_" + _token(rng, 24)


def _invoice_paid(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    stripe = world.system("stripe")
    i = _index(_stripe_ids(world, "in_", 24), object_id, "stripe invoice")
    invoice = stripe.get("invoice", object_id)
    if invoice is None:
        invoice = stripe.add_paid_invoice(
            invoice_id=object_id, customer_id=_stripe_customer(world, i), amount=_amount(object_id),
            description="Annual subscription",
        )
    return dict(stripe.webhook_event("invoice.paid", invoice, event_id=_evt_id(rng)))


def _checkout_completed(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    stripe = world.system("stripe")
    i = _index(_stripe_ids(world, "cs_test_", 56), object_id, "stripe checkout session")
    session = stripe.get("checkout.session", object_id)
    if session is None:
        session = stripe.add_checkout_session(
            session_id=object_id, customer_id=_stripe_customer(world, i), amount=_amount(object_id),
            client_reference_id=f"order-{1000 + i}",
        )
    return dict(stripe.webhook_event("checkout.session.completed", session, event_id=_evt_id(rng)))


def _subscription_updated(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    """The subscription's trial ended and it became ``active`` (``previous_attributes.status``)."""
    stripe = world.system("stripe")
    i = _index(_stripe_ids(world, "sub_", 24), object_id, "stripe subscription")
    if stripe.get("subscription", object_id) is None:
        stripe.add_subscription(
            subscription_id=object_id, customer_id=_stripe_customer(world, i),
            amount=_amount(object_id) // 10, status="trialing",
        )
    sub, previous = stripe.update_subscription(object_id, status="active")
    return dict(
        stripe.webhook_event(
            "customer.subscription.updated", sub, previous_attributes=previous or {"status": "trialing"},
            event_id=_evt_id(rng),
        )
    )


def _key(noun: str, path: str) -> Callable[[Mapping[str, Any]], str]:
    return _PathKey(noun, path)


def _stripe_trigger(
    *,
    event_type: str,
    kind: str,
    noun: str,
    prefix: str,
    length: int,
    description: str,
    fields: tuple[Field, ...],
    make: Callable[[Any, str, random.Random], dict[str, Any]],
    example: Mapping[str, Any],
    defining: tuple[str, ...],
) -> Trigger:
    return register_trigger(
        Trigger(
            name=f"stripe.{event_type}",
            system="stripe",
            description=description,
            contract=Contract(
                (
                    *_STRIPE_COMMON,
                    Field("type", "enum", allowed=(event_type,), meaning="the kind of event"),
                    Field("data.object.object", "enum", allowed=(kind,),
                          meaning="the kind of object the event is about"),
                    Field("data.object.id", "str", pattern=rf"{prefix}[A-Za-z0-9_]+",
                          meaning=f"the {kind} the event is about"),
                    *fields,
                )
            ),
            object_key=_key(noun, "data.object.id"),
            example=example,
            make_event=make,
            objects=lambda world: _stripe_ids(world, prefix, length),
            event_id_field="id",
            attempt_field=None,
            # Stripe retries an undelivered event under the same id (its docs: guard against
            # duplicate events by logging the event ids you have processed)
            redelivery_keeps_id=True,
            defining=defining,
            noun=noun,
        )
    )


_stripe_trigger(
    event_type="invoice.paid",
    kind="invoice",
    noun="invoice",
    prefix="in_",
    length=24,
    description="a Stripe invoice was paid in full (invoice.paid event)",
    fields=(
        Field("data.object.customer", "str", pattern=r"cus_[A-Za-z0-9]+", meaning="who paid"),
        Field("data.object.status", "enum", allowed=("paid",), meaning="the invoice's new status"),
        Field("data.object.amount_paid", "money", meaning="what was paid, in the currency's minor unit"),
        Field("data.object.currency", "str", meaning="three-letter ISO currency code, lower case"),
    ),
    make=_invoice_paid,
    example=example("stripe/event_invoice_paid.json"),
    defining=("type", "data.object.object", "data.object.status"),
)

_stripe_trigger(
    event_type="checkout.session.completed",
    kind="checkout.session",
    noun="checkout_session",
    prefix="cs_test_",
    length=56,
    description="a Stripe Checkout Session was completed (checkout.session.completed event)",
    fields=(
        Field("data.object.customer", "str", required=False, pattern=r"cus_[A-Za-z0-9]+",
              meaning="the customer (null for a guest checkout)"),
        Field("data.object.status", "enum", allowed=("complete",), meaning="the session's status"),
        Field("data.object.payment_status", "enum", allowed=("paid", "unpaid", "no_payment_required"),
              meaning="fulfil only when paid or no payment is required"),
        Field("data.object.amount_total", "money", meaning="total in the currency's minor unit"),
        Field("data.object.customer_details.email", "email", required=False,
              meaning="the email the customer entered"),
        Field("data.object.mode", "enum", allowed=("payment", "setup", "subscription"),
              meaning="what the session sold"),
    ),
    make=_checkout_completed,
    example=example("stripe/event_checkout_session_completed.json"),
    defining=("type", "data.object.object", "data.object.status"),
)

_stripe_trigger(
    event_type="customer.subscription.updated",
    kind="subscription",
    noun="subscription",
    prefix="sub_",
    length=24,
    description="a Stripe subscription changed (customer.subscription.updated; made events: a trial "
    "ended and the subscription became active)",
    fields=(
        Field("data.object.customer", "str", pattern=r"cus_[A-Za-z0-9]+", meaning="the subscriber"),
        Field(
            "data.object.status", "enum",
            allowed=("incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled",
                     "unpaid", "paused"),
            meaning="the subscription's status after the change",
        ),
        Field("data.object.items.data.0.price.id", "str", meaning="the first item's price"),
    ),
    make=_subscription_updated,
    example=example("stripe/event_customer_subscription_updated.json"),
    defining=("type", "data.object.object", "data.previous_attributes", "data.object.status"),
)


# -- Zendesk ---------------------------------------------------------------------------------

#: ticket ids of trigger-made tickets: far from the ids the fake gives created tickets (101...)
ZENDESK_TICKETS = 90_001
_SUBJECTS = ("Cannot log in", "Invoice shows the wrong amount", "How do I add a seat?",
             "Export to CSV fails", "Please cancel my trial", "Webhook deliveries are late")


def _zendesk_ids(world: Any) -> list[str]:
    return [str(ZENDESK_TICKETS + i) for i in range(OBJECTS)]


def _ticket_created(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    zendesk = world.system("zendesk")
    i = _index(_zendesk_ids(world), object_id, "zendesk ticket")
    if zendesk.get("ticket", object_id) is None:
        pick = random.Random(f"{_seed_of(world, 'zendesk')}:{object_id}")
        email, name = _person(world, i, pick)
        subject = pick.choice(_SUBJECTS)
        zendesk.add_ticket(
            ticket_id=int(object_id), subject=subject, description=f"{subject}. Thanks, {name}",
            requester_email=email, requester_name=name,
            priority=pick.choice(("low", "normal", "high")), tags=("web",),
        )
    return dict(zendesk.webhook_event(object_id, event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4))))


register_trigger(
    Trigger(
        name="zendesk.ticket.created",
        system="zendesk",
        description="a Zendesk ticket was created (zen:event-type:ticket.created webhook)",
        contract=Contract(
            (
                Field("id", "str", meaning="Zendesk's id of this event"),
                Field("type", "enum", allowed=("zen:event-type:ticket.created",),
                      meaning="the kind of event"),
                Field("account_id", "int", meaning="the Zendesk account"),
                Field("time", "datetime", meaning="when the event happened (ISO 8601)"),
                Field("subject", "str", pattern=r"zen:ticket:\d+", meaning="the ticket, as zen:ticket:ID"),
                Field("detail.id", "id", meaning="the ticket's id (a string)"),
                Field("detail.requester_id", "id", meaning="who asked"),
                Field("detail.subject", "str", meaning="the ticket's subject"),
                Field("detail.status", "enum",
                      allowed=("NEW", "OPEN", "PENDING", "HOLD", "SOLVED", "CLOSED"),
                      meaning="the ticket's status"),
                Field("detail.priority", "enum", required=False,
                      allowed=("LOW", "NORMAL", "HIGH", "URGENT"), meaning="the ticket's priority"),
            )
        ),
        object_key=_key("ticket", "detail.id"),
        example=example("zendesk/event_ticket_created.json"),
        make_event=_ticket_created,
        objects=_zendesk_ids,
        event_id_field="id",
        attempt_field=None,
        # a retried webhook request carries the same payload, so the same event id
        redelivery_keeps_id=True,
        defining=("type",),
        noun="ticket",
    )
)


# -- HubSpot contacts and companies -------------------------------------------------------------

def _hubspot_common(kind: str) -> tuple[Field, ...]:
    return (
        Field("eventId", "int", meaning="HubSpot's id of this webhook event (new for a redelivery)"),
        Field("subscriptionId", "int", meaning="the app's webhook subscription"),
        Field("portalId", "int", meaning="the HubSpot account (portal) id"),
        Field("occurredAt", "datetime", meaning="when the change happened, epoch milliseconds"),
        Field("attemptNumber", "int",
              meaning="HubSpot's delivery attempt, 0 for the first; a retry by HubSpot increments it"),
        Field("objectId", "int", meaning=f"the HubSpot {kind} id the event is about"),
    )


#: the property the made events change, and its new value
_CHANGE = {"contact": ("lifecyclestage", "customer"), "company": ("lifecyclestage", "customer")}


def _hubspot_maker(kind: str, change: str) -> Callable[[Any, str, random.Random], dict[str, Any]]:
    def make(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
        hubspot = world.system("hubspot")
        if change == "creation":
            return dict(hubspot.webhook_event(object_id, subscription_type=f"{kind}.creation", rng=rng))
        name, value = _CHANGE[kind]
        return dict(
            hubspot.webhook_event(
                object_id, subscription_type=f"{kind}.propertyChange", property_name=name,
                property_value=value, rng=rng,
            )
        )

    return make


def _hubspot_lister(kind: str) -> Callable[[Any], Sequence[str]]:
    def objects(world: Any) -> Sequence[str]:
        return list(world.system("hubspot").company_ids() if kind == "company"
                    else world.system("hubspot").contact_ids())

    return objects


def _hubspot_key(kind: str) -> Callable[[Mapping[str, Any]], str]:
    return _PathKey(kind, "objectId")


for _kind in ("contact", "company"):
    _name, _value = _CHANGE[_kind]
    register_trigger(
        Trigger(
            name=f"hubspot.{_kind}.creation",
            system="hubspot",
            description=f"a HubSpot {_kind} was created ({_kind}.creation webhook)",
            contract=Contract(
                (
                    *_hubspot_common(_kind),
                    Field("subscriptionType", "enum", allowed=(f"{_kind}.creation",),
                          meaning="the kind of webhook event"),
                )
            ),
            object_key=_hubspot_key(_kind),
            example=example(f"hubspot/webhook_{_kind}_creation.json"),
            make_event=_hubspot_maker(_kind, "creation"),
            objects=_hubspot_lister(_kind),
            defining=("subscriptionType",),
        )
    )
    register_trigger(
        Trigger(
            name=f"hubspot.{_kind}.propertyChange",
            system="hubspot",
            description=f"a property of a HubSpot {_kind} changed ({_kind}.propertyChange webhook; "
            f"made events: {_name} became {_value!r})",
            contract=Contract(
                (
                    *_hubspot_common(_kind),
                    Field("subscriptionType", "enum", allowed=(f"{_kind}.propertyChange",),
                          meaning="the kind of webhook event"),
                    Field("propertyName", "str", meaning="the changed property"),
                    Field("propertyValue", "str", required=False,
                          meaning="the property's new value (empty when it was cleared)"),
                )
            ),
            object_key=_hubspot_key(_kind),
            example=example(f"hubspot/webhook_{_kind}_propertychange.json"),
            make_event=_hubspot_maker(_kind, "propertyChange"),
            objects=_hubspot_lister(_kind),
            defining=("subscriptionType", "propertyName", "propertyValue"),
        )
    )


# -- schedules ---------------------------------------------------------------------------------


def _win_deal(world: Any, object_id: str, rng: random.Random) -> None:
    world.system("hubspot").update_object("deal", object_id, {"dealstage": "closedwon"})


register_trigger(
    schedule_trigger(
        "hubspot.deal.closedwon.poll",
        every="15m",
        objects=lambda world: list(world.system("hubspot").deal_ids()),
        change=_win_deal,
        key="deal",
        system="hubspot",
        changed=("dealstage",),
        description="every 15 minutes: the HubSpot deals moved to 'closedwon' since the last tick "
        "(a poller: list the deals, keep those won in the tick's window)",
    )
)
