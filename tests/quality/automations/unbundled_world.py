"""Two systems the harness does not bundle, declared as a user would, for the quality suite.

* Books, an accounting API: JSON, invoices listed under ``{"Invoices": [...]}``,
  searched with ``where=``, honouring ``Idempotency-Key``;
* Parcel, a shipping API: form-encoded bodies, shipments nested under their
  customer (``/v1/customers/{customer_id}/shipments``), no idempotency.
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
    name="books", hosts=("books.example.internal",), idempotency=Idempotency(header="Idempotency-Key")
)
PARCEL = SystemDescriptor(name="parcel", hosts=("api.parcel.example",), encoding="form")


def unbundled_world(seed: int) -> World:
    world = standard_world(seed)
    world.add(RecordStore("books", [Resource(
        "invoice", "/api/2.0/Invoices", envelope="Invoices", id_prefix="INV-",
        required=("Reference", "ContactEmail", "Total"),
        fields={"Reference": "str", "ContactEmail": "email", "ContactName": "str", "Total": "float",
                "CurrencyCode": "str"},
    )], descriptor=BOOKS, seed=seed))
    world.add(RecordStore("parcel", [Resource(
        "shipment", "/v1/customers/{customer_id}/shipments", envelope="shipments", id_prefix="shp_",
        required=("reference", "email"),
        fields={"reference": "str", "email": "email", "service": "str", "weight_kg": "float"},
    )], descriptor=PARCEL, seed=seed))
    return world
