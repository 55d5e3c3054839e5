"""Books, an accounting API the harness does not bundle, declared for the harness.

A descriptor says what the engines need to know (its host, that it honours an
Idempotency-Key); a RecordStore serves its one resource with its real shapes:
invoices listed under ``{"Invoices": [...]}``, searched with ``where=``.
``books_world(seed)`` is the bundled world plus Books: pass it with
``--world scenarios/invoice_sync/books.py:books_world`` or ``Flow(world=books_world)``.
"""

from harness.systems import (
    Idempotency,
    RecordStore,
    Resource,
    SystemDescriptor,
    World,
    standard_world,
)

BOOKS = SystemDescriptor(
    name="books",
    hosts=("books.example.internal",),
    base_url_env="BOOKS_BASE_URL",
    idempotency=Idempotency(header="Idempotency-Key"),
    docs="https://books.example.internal/docs/api/2.0",
)

INVOICES = Resource(
    "invoice",
    "/api/2.0/Invoices",
    envelope="Invoices",
    id_prefix="INV-",
    required=("Reference", "ContactEmail", "Total", "CurrencyCode"),
    fields={"Reference": "str", "ContactEmail": "email", "ContactName": "str", "Total": "float",
            "CurrencyCode": "str", "Status": "str", "LineItems": "list"},
)


def books_world(seed: int) -> World:
    """The standard world (HubSpot, Stripe, Zendesk) plus Books."""
    world = standard_world(seed)
    world.add(RecordStore("books", [INVOICES], descriptor=BOOKS, seed=seed))
    return world
