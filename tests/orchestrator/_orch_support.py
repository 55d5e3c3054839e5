"""Helpers of the orchestrator tests: a trigger, flows over the test automations, a sink."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import Contract, Field, Flow
from harness.flow import Trigger
from harness.ledger.records import InboxItem, RunRecord
from harness.systems import World

HERE = Path(__file__).resolve().parent

TRIGGER = Trigger(
    name="test.order.paid",
    system="shop",
    contract=Contract(
        (
            Field("eventId", "int"),
            Field("id", "int", meaning="the order"),
            Field("email", "email"),
            Field("amount", "money"),
        )
    ),
    object_key=lambda e: f"order:{e['id']}",
    example={"eventId": 1, "id": 1, "email": "a@example.com", "amount": "10.00"},
)


def make_flow(automation: Any = "bill", **kwargs: Any) -> Flow:
    if isinstance(automation, str) and ":" not in automation:
        automation = f"{HERE / '_orch_automations.py'}:{automation}"
    kwargs.setdefault("name", "orders")
    kwargs.setdefault("dedupe_key", "order:{id}")
    kwargs.setdefault("owner", "ops@example.com")
    return Flow(automation=automation, trigger=TRIGGER, **kwargs)


def order(n: int = 7, *, event_id: int = 100, **over: Any) -> dict[str, Any]:
    return {"eventId": event_id, "id": n, "email": f"buyer{n}@example.com", "amount": "42.00", **over}


class Recorder:
    """A sink that keeps every run and inbox item."""

    def __init__(self) -> None:
        self.runs: list[RunRecord] = []
        self.items: list[InboxItem] = []

    def __call__(self, run: RunRecord, item: InboxItem | None) -> None:
        self.runs.append(run)
        if item is not None:
            self.items.append(item)


def invoices(world: World) -> list[Any]:
    return list(world.system("stripe").records()["invoice"])
