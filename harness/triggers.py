"""Named triggers: what starts a flow, with the trigger's data contract.

A registry of :class:`~harness.flow.Trigger` by name (``hubspot.deal.closedwon``,
``stripe.invoice.paid``, ``zendesk.ticket.created``...; ``harness triggers``
lists them).  Registering the same trigger twice is harmless; another trigger
under a taken name fails at once.  Each built-in trigger's events have its
vendor's real webhook shape, made from the objects of a world of fakes.

Declare your own with :func:`webhook_trigger` (any JSON webhook, from one
example event) or :func:`schedule_trigger` (a polling or batch job), and name
it on the command line with :func:`register_trigger` (one call per trigger).
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from collections.abc import Mapping
from typing import Any

import harness._triggers as package
from harness import _accounting_triggers, _app_triggers, _pipedrive_trigger  # noqa: F401  (they register on import)
from harness._schedule import Schedule
from harness._triggers import (
    all_triggers,
    get_trigger,
    register_trigger,
    schedule_trigger,
    trigger_names,
    webhook_trigger,
)
from harness.flow import Contract, Field, Trigger

__all__ = [
    "Schedule",
    "all_triggers",
    "get_trigger",
    "register_trigger",
    "schedule_trigger",
    "trigger_names",
    "webhook_trigger",
]

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


def _import_builtins() -> None:
    """Import every module of :mod:`harness._triggers`: each registers its vendor's triggers.

    A fake that brings triggers adds one module there (``_shopify.py``) calling
    :func:`register_trigger` once per trigger; nothing else needs an edit.
    """
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name not in package.HELPERS:
            importlib.import_module(f"{package.__name__}.{info.name}")


# the built-in triggers of the other vendors register themselves: the modules of
# harness._triggers when imported here, and (imported above) the top-level
# _accounting_triggers, _app_triggers and _pipedrive_trigger
_import_builtins()
