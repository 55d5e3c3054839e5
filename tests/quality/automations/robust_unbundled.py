"""Deal won -> a Books invoice and a welcome parcel, safe to retry and to redeliver.

The invoice is looked up by reference and created with an Idempotency-Key;
Parcel has no idempotency, so each create is preceded by a lookup of the
shipment's reference (after a lost answer the shipment may exist already).
Anything that cannot be done raises: the webhook is retried or a person looks.
"""

import time

import requests
from _unbundled_common import BOOKS, PARCEL, RETRYABLE, TIMEOUT, call, won_deal

ATTEMPTS = 5


def _shipment(url, form):
    for attempt in range(1, ATTEMPTS + 1):
        found = call("GET", url, params={"where": f'reference=="{form["reference"]}"'})["shipments"]
        if found:
            return found[0]
        try:
            resp = requests.post(url, data=form, timeout=TIMEOUT)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == ATTEMPTS:
                raise
            time.sleep(2**attempt)
            continue
        if resp.status_code in RETRYABLE and attempt < ATTEMPTS:
            time.sleep(float(resp.headers.get("Retry-After") or 2**attempt))
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("unreachable")


def handle(event):
    deal = won_deal(event)
    if deal is None:
        return {"status": "ignored"}
    reference = f"deal-{deal['id']}"
    found = call("GET", BOOKS, params={"where": f'Reference=="{reference}"'})["Invoices"]
    invoice = found[0] if found else call(
        "POST", BOOKS, headers={"Idempotency-Key": f"{reference}-invoice"},
        json={"Reference": reference, "ContactEmail": deal["email"], "ContactName": deal["name"],
              "Total": deal["amount"], "CurrencyCode": deal["currency"]},
    )
    shipment = _shipment(PARCEL.format(cid=deal["contact"]),
                         {"reference": reference, "email": deal["email"], "service": "welcome-kit"})
    return {"status": "ok", "invoice": invoice["id"], "shipment": shipment["id"]}
