"""Named triggers: what starts a flow, with the trigger's data contract.

A registry of :class:`~harness.flow.Trigger` by name (``hubspot.deal.closedwon``).
Registering a name twice fails at once.  Events are HubSpot's real webhook
shape (one element of the array HubSpot POSTs to the subscriber).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from harness.errors import UsageError, did_you_mean
from harness.flow import Contract, Field, Trigger

__all__ = ["get_trigger", "register_trigger", "trigger_names"]

_REGISTRY: dict[str, Trigger] = {}


def register_trigger(trigger: Trigger) -> Trigger:
    """Add ``trigger`` to the registry; a name already taken is an error."""
    if trigger.name in _REGISTRY:
        raise ValueError(f"a trigger named {trigger.name!r} is already registered")
    _REGISTRY[trigger.name] = trigger
    return trigger


def trigger_names() -> list[str]:
    return sorted(_REGISTRY)


def get_trigger(name: str) -> Trigger:
    """The trigger called ``name``; :class:`UsageError` listing the names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(
            f"unknown trigger {name!r}{did_you_mean(name, _REGISTRY)}; known triggers: "
            f"{', '.join(trigger_names())}"
        ) from None


_HUBSPOT_COMMON = (
    Field("eventId", "int", meaning="HubSpot's id of this webhook event (new for a redelivery)"),
    Field("subscriptionId", "int", meaning="the app's webhook subscription"),
    Field("portalId", "int", meaning="the HubSpot account (portal) id"),
    Field("occurredAt", "datetime", meaning="when the change happened, epoch milliseconds"),
    Field(
        "attemptNumber",
        "int",
        meaning="HubSpot's delivery attempt, 0 for the first; a retry by HubSpot increments it",
    ),
    Field("objectId", "int", meaning="the HubSpot deal id the event is about"),
)


def _deal_key(event: Mapping[str, Any]) -> str:
    return f"deal:{event['objectId']}"


def _hubspot_objects(world: Any) -> list[str]:
    return list(world.system("hubspot").deal_ids())


def _deal_stage_event(stage: str) -> Any:
    def make(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
        hubspot = world.system("hubspot")
        return dict(
            hubspot.webhook_event(
                object_id,
                subscription_type="deal.propertyChange",
                property_name="dealstage",
                property_value=stage,
                rng=rng,
            )
        )

    return make


def _deal_creation_event(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    hubspot = world.system("hubspot")
    return dict(hubspot.webhook_event(object_id, subscription_type="deal.creation", rng=rng))


_EXAMPLE = {
    "eventId": 1001,
    "subscriptionId": 2345,
    "portalId": 62515,
    "appId": 54321,
    "occurredAt": 1767225600000,
    "subscriptionType": "deal.propertyChange",
    "attemptNumber": 0,
    "objectId": 1234567,
    "propertyName": "dealstage",
    "propertyValue": "closedwon",
    "changeSource": "CRM_UI",
    "sourceId": "userId:1234",
}

register_trigger(
    Trigger(
        name="hubspot.deal.closedwon",
        system="hubspot",
        description="a HubSpot deal moved to the 'closedwon' stage (deal.propertyChange webhook)",
        contract=Contract(
            (
                *_HUBSPOT_COMMON,
                Field(
                    "subscriptionType",
                    "enum",
                    allowed=("deal.propertyChange",),
                    meaning="the kind of webhook event",
                ),
                Field("propertyName", "enum", allowed=("dealstage",), meaning="the changed property"),
                Field(
                    "propertyValue",
                    "enum",
                    allowed=("closedwon",),
                    meaning="the deal's new stage; only a won deal is invoiced",
                ),
            )
        ),
        object_key=_deal_key,
        example=_EXAMPLE,
        make_event=_deal_stage_event("closedwon"),
        objects=_hubspot_objects,
        defining=("subscriptionType", "propertyName", "propertyValue"),
    )
)

register_trigger(
    Trigger(
        name="hubspot.deal.creation",
        system="hubspot",
        description="a HubSpot deal was created (deal.creation webhook)",
        contract=Contract(
            (
                *_HUBSPOT_COMMON,
                Field(
                    "subscriptionType",
                    "enum",
                    allowed=("deal.creation",),
                    meaning="the kind of webhook event",
                ),
            )
        ),
        object_key=_deal_key,
        example={
            k: v
            for k, v in {**_EXAMPLE, "subscriptionType": "deal.creation"}.items()
            if k not in ("propertyName", "propertyValue")
        },
        make_event=_deal_creation_event,
        objects=_hubspot_objects,
        defining=("subscriptionType",),
    )
)

# vendor triggers defined beside their fakes' vocabulary register themselves on import
from harness import _accounting_triggers, _pipedrive_trigger  # noqa: E402, F401
