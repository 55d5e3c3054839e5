"""The Pipedrive deal webhook trigger (v1 ``updated.deal``), registered with :mod:`harness.triggers`.

Pipedrive v1 webhooks carry the deal as it is now (``current``) and as it was
(``previous``) with a ``meta`` block (``action``, ``object``, ``id``,
``timestamp_micro``…); a redelivery by Pipedrive repeats the payload with
``retry`` incremented.  The trigger's scenarios mark an open deal won, the
change most automations wait for.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from harness._triggers import register_trigger
from harness.flow import Contract, Field, Trigger

__all__: list[str] = []


def _deal_key(event: Mapping[str, Any]) -> str:
    return f"pipedrive-deal:{event['meta']['id']}"


def _open_deals(world: Any) -> list[str]:
    return list(world.system("pipedrive").deal_ids(status="open"))


def _deal_won_event(world: Any, object_id: str, rng: random.Random) -> dict[str, Any]:
    return dict(world.system("pipedrive").webhook_event(object_id, {"status": "won"}, rng=rng))


EXAMPLE = {
    "v": 1,
    "matches_filters": {"current": []},
    "meta": {
        "v": 1, "action": "updated", "object": "deal", "id": 42, "company_id": 1234567,
        "user_id": 9876543, "host": "acme.pipedrive.com", "timestamp": 1767225600,
        "timestamp_micro": 1767225600123456, "permitted_user_ids": [9876543], "trans_pending": False,
        "is_bulk_update": False, "pipedrive_service_name": False, "change_source": "app",
        "matches_filters": {"current": []}, "webhook_id": "123456", "webhook_owner_id": 9876543,
    },
    "current": {"id": 42, "title": "Acme - Platform licence", "value": 12000, "currency": "USD",
                "status": "won", "stage_id": 4, "person_id": 7, "org_id": 3, "pipeline_id": 1},
    "previous": {"id": 42, "title": "Acme - Platform licence", "value": 12000, "currency": "USD",
                 "status": "open", "stage_id": 4, "person_id": 7, "org_id": 3, "pipeline_id": 1},
    "retry": 0,
    "event": "updated.deal",
}

PIPEDRIVE_DEAL_UPDATED = register_trigger(
    Trigger(
        name="pipedrive.deal.updated",
        system="pipedrive",
        description="a Pipedrive deal was updated (v1 'updated.deal' webhook); scenarios mark a deal won",
        contract=Contract(
            (
                Field("event", "enum", allowed=("updated.deal",), meaning="the webhook's event"),
                Field("meta.action", "enum", allowed=("updated",), meaning="what happened to the object"),
                Field("meta.object", "enum", allowed=("deal",), meaning="the kind of object"),
                Field("meta.id", "int", meaning="the Pipedrive deal id"),
                Field("meta.timestamp_micro", "int",
                      meaning="when Pipedrive published the change, epoch microseconds (one per change)"),
                Field("retry", "int", meaning="Pipedrive's redelivery count, 0 for the first delivery"),
                Field("current.id", "int", meaning="the deal id, as the deal is now"),
                Field("current.title", "str", meaning="the deal's title"),
                Field("current.value", "money", meaning="the deal's value in its currency"),
                Field("current.currency", "str", pattern=r"[A-Z]{3}", meaning="ISO currency code"),
                Field("current.status", "enum", allowed=("open", "won", "lost", "deleted"),
                      meaning="the deal's status now"),
                Field("previous.status", "enum", required=False, allowed=("open", "won", "lost", "deleted"),
                      meaning="the deal's status before the change"),
            )
        ),
        object_key=_deal_key,
        example=EXAMPLE,
        make_event=_deal_won_event,
        objects=_open_deals,
        # v1 payloads have no event id; the publication time in microseconds is unique per change
        event_id_field="meta.timestamp_micro",
        attempt_field="retry",
        defining=("event", "meta.action", "meta.object", "current.status", "previous.status"),
    )
)
