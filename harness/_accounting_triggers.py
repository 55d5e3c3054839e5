"""Webhook triggers of the accounting fakes (Xero, QuickBooks Online), registered with :mod:`harness.triggers`.

Both vendors send thin notifications: *which* record changed, never its
content, so an automation fetches the record.  Xero batches events under
``events`` with a delivery sequence number; QuickBooks nests them under
``eventNotifications[].dataChangeEvent.entities[]`` and carries no event id.
Scenarios use the seeded records: Xero's authorised invoices, QuickBooks'
customers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from harness._triggers import register_trigger
from harness.flow import Contract, Field, Trigger

__all__: list[str] = []

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _xero_key(event: Mapping[str, Any]) -> str:
    return f"xero-invoice:{event['events'][0]['resourceId']}"


def _xero_objects(world: Any) -> list[str]:
    return list(world.system("xero").invoice_ids(status="AUTHORISED"))


def _xero_event(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    return dict(world.system("xero").webhook_event(object_id, event_type="UPDATE", rng=rng))


XERO_EXAMPLE = {
    "events": [{"resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/ed255415-e141-4150-aab7-89c3bbbb851c",
                "resourceId": "ed255415-e141-4150-aab7-89c3bbbb851c", "eventDateUtc": "2026-01-01T00:00:00.000",
                "eventType": "UPDATE", "eventCategory": "INVOICE",
                "tenantId": "70784a63-d24b-46a9-a4db-0e70a274b056", "tenantType": "ORGANISATION"}],
    "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "YSXCMKAQBJOEMGUZEPFZ",
}

register_trigger(
    Trigger(
        name="xero.invoice.updated",
        system="xero",
        description="a Xero invoice changed (webhook event, category INVOICE, type UPDATE)",
        contract=Contract((
            Field("events.0.eventCategory", "enum", allowed=("INVOICE",), meaning="what kind of record changed"),
            Field("events.0.eventType", "enum", allowed=("UPDATE",), meaning="what happened to it"),
            Field("events.0.resourceId", "str", pattern=_UUID, meaning="the InvoiceID"),
            Field("events.0.tenantId", "str", pattern=_UUID, meaning="the organisation (xero-tenant-id)"),
            Field("firstEventSequence", "int", meaning="Xero's sequence number of this delivery's first event"),
        )),
        object_key=_xero_key,
        example=XERO_EXAMPLE,
        make_event=_xero_event,
        objects=_xero_objects,
        # every delivery takes a new sequence number: the closest thing to an event id
        event_id_field="firstEventSequence",
        attempt_field=None,
        defining=("events.0.eventCategory", "events.0.eventType"),
    )
)


def _qbo_key(event: Mapping[str, Any]) -> str:
    entity = event["eventNotifications"][0]["dataChangeEvent"]["entities"][0]
    return f"quickbooks-{entity['name'].lower()}:{entity['id']}"


def _qbo_objects(world: Any) -> list[str]:
    return [str(c["Id"]) for c in world.system("quickbooks").records()["customer"]]


def _qbo_event(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    return dict(world.system("quickbooks").webhook_event("Customer", object_id, operation="Update"))


QBO_EXAMPLE = {"eventNotifications": [{"realmId": "9341452183926457", "dataChangeEvent": {"entities": [
    {"name": "Customer", "id": "58", "operation": "Update", "lastUpdated": "2026-01-01T00:00:00.000Z"}]}}]}

register_trigger(
    Trigger(
        name="quickbooks.customer.updated",
        system="quickbooks",
        description="a QuickBooks Online customer changed (webhook dataChangeEvent, operation Update)",
        contract=Contract((
            Field("eventNotifications.0.realmId", "str", pattern=r"\d+", meaning="the company (realmId)"),
            Field("eventNotifications.0.dataChangeEvent.entities.0.name", "enum", allowed=("Customer",),
                  meaning="the entity that changed"),
            Field("eventNotifications.0.dataChangeEvent.entities.0.operation", "enum", allowed=("Update",),
                  meaning="what happened to it"),
            Field("eventNotifications.0.dataChangeEvent.entities.0.id", "str", pattern=r"\d+",
                  meaning="the customer's Id"),
            Field("eventNotifications.0.dataChangeEvent.entities.0.lastUpdated", "datetime",
                  meaning="when it changed"),
        )),
        object_key=_qbo_key,
        example=QBO_EXAMPLE,
        make_event=_qbo_event,
        objects=_qbo_objects,
        # QuickBooks notifications carry neither an event id nor an attempt number
        event_id_field="",
        attempt_field=None,
        defining=("eventNotifications.0.dataChangeEvent.entities.0.name",
                  "eventNotifications.0.dataChangeEvent.entities.0.operation"),
    )
)
