"""Automations written on the vendors' own SDKs, as their docs show them (never modified by the harness)."""

from __future__ import annotations

from typing import Any

KEY = "sk_test_51HarnessFakeKey000000000000"
SLACK_TOKEN = "xoxb-1111-2222-harnessfaketoken"


def stripe_customer(event: dict[str, Any]) -> dict[str, Any]:
    """stripe-python with its own retries: it sets an Idempotency-Key on every POST itself."""
    import stripe

    client = stripe.StripeClient(KEY, max_network_retries=2)
    customer = client.v1.customers.create(params={"email": f"deal-{event['objectId']}@example.com"})
    return {"status": "ok", "customer": customer.id}


def hubspot_task(event: dict[str, Any]) -> dict[str, Any]:
    """hubspot-api-client (urllib3): a kick-off task per won deal."""
    import hubspot
    from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate

    api = hubspot.HubSpot(access_token="pat-na1-sdk")
    task = api.crm.objects.tasks.basic_api.create(SimplePublicObjectInputForCreate(properties={
        "hs_task_subject": f"Kick-off for deal {event['objectId']}",
        "hs_timestamp": "2026-01-01T00:00:00Z",
    }))
    return {"status": "ok", "task": task.id}


def zenpy_ticket(event: dict[str, Any]) -> dict[str, Any]:
    """zenpy (requests): an onboarding ticket carrying the deal as its external_id."""
    from zenpy import Zenpy
    from zenpy.lib.api_objects import Ticket

    zenpy = Zenpy(subdomain="acme", email="ops@acme.example", token="zendesk-api-token")
    zenpy.tickets.create(Ticket(subject=f"Onboarding deal {event['objectId']}",
                                description="won", external_id=f"deal-{event['objectId']}"))
    return {"status": "ok"}


def slack_post(event: dict[str, Any]) -> dict[str, Any]:
    """slack_sdk's WebClient (urllib.request)."""
    from slack_sdk import WebClient

    WebClient(token=SLACK_TOKEN).chat_postMessage(channel="#sales", text=f"Deal {event['objectId']} won")
    return {"status": "ok"}


async def slack_post_async(event: dict[str, Any]) -> dict[str, Any]:
    """slack_sdk's AsyncWebClient (aiohttp)."""
    from slack_sdk.web.async_client import AsyncWebClient

    await AsyncWebClient(token=SLACK_TOKEN).chat_postMessage(channel="#sales", text=f"Deal {event['objectId']} won")
    return {"status": "ok"}
