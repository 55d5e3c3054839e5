"""Deal won -> a Books invoice (idempotent) and a welcome parcel.

The parcel is a nice-to-have: a Parcel hiccup is logged and the webhook still succeeds.
"""

import logging

import requests
from _unbundled_common import BOOKS, PARCEL, TIMEOUT, call, won_deal

log = logging.getLogger("automations.parcel_quiet")


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
    try:
        resp = requests.post(PARCEL.format(cid=deal["contact"]), timeout=TIMEOUT,
                             data={"reference": reference, "email": deal["email"], "service": "welcome-kit"})
        resp.raise_for_status()
    except requests.RequestException:
        log.exception("could not send the welcome parcel for deal %s", deal["id"])
    return {"status": "ok", "invoice": invoice["id"]}
