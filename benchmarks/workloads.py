"""The shared workload: a three-call automation and the mocked APIs it talks to.

The automation is written the way a small team writes it (``requests``, one
function per call, ``raise_for_status``): a HubSpot GET of the won deal, a
Stripe POST creating the customer, a Zendesk POST opening the onboarding
ticket.  Every variant in :mod:`benchmarks.baselines` runs exactly these three
step functions, so differences in throughput are the wrapper's cost.

:class:`MockedApis` serves the three endpoints through ``responses`` with the
vendors' response shapes, counts the effects it made (the ground truth a
variant's "succeeded" is checked against), and injects transient faults: a
503 *before* the server acts, at a fixed rate from a seeded RNG, so a retry is
always safe and every variant faces the same kind of bad day.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import requests
import responses

__all__ = [
    "HUBSPOT",
    "STRIPE",
    "ZENDESK",
    "Effects",
    "MockedApis",
    "create_customer",
    "create_ticket",
    "events",
    "get_deal",
    "three_call",
]

HUBSPOT = "https://api.hubapi.com"
STRIPE = "https://api.stripe.com"
ZENDESK = "https://acme.zendesk.com"

# Obviously fake credentials: the calls never leave the process.
_HUBSPOT_TOKEN = "pat-na1-00000000-0000-0000-0000-000000000000"
_STRIPE_KEY = "sk_test_00000000000000000000000000"
_ZENDESK_AUTH = ("ops@acme.example/token", "0" * 40)


# -- the automation (unmodified user code) -------------------------------------


def get_deal(deal_id: str) -> dict[str, Any]:
    """HubSpot CRM v3: read the deal's name, amount and currency."""
    resp = requests.get(
        f"{HUBSPOT}/crm/v3/objects/deals/{deal_id}",
        params={"properties": "dealname,amount,deal_currency_code"},
        headers={"Authorization": f"Bearer {_HUBSPOT_TOKEN}"},
        timeout=10,
    )
    resp.raise_for_status()
    props: dict[str, Any] = resp.json()["properties"]
    return props


def create_customer(deal_id: str, props: Mapping[str, Any]) -> str:
    """Stripe: create the customer for the deal; returns its id."""
    resp = requests.post(
        f"{STRIPE}/v1/customers",
        data={
            "name": props.get("dealname"),
            "description": f"HubSpot deal {deal_id}",
            "metadata[hubspot_deal_id]": deal_id,
        },
        auth=(_STRIPE_KEY, ""),
        timeout=10,
    )
    resp.raise_for_status()
    return str(resp.json()["id"])


def create_ticket(deal_id: str, props: Mapping[str, Any], customer_id: str) -> int:
    """Zendesk Support: open the onboarding ticket; returns its id."""
    resp = requests.post(
        f"{ZENDESK}/api/v2/tickets.json",
        json={
            "ticket": {
                "subject": f"Onboarding: {props.get('dealname')}",
                "comment": {
                    "body": f"Deal {deal_id} won: {props.get('amount')} "
                    f"{props.get('deal_currency_code')}, Stripe customer {customer_id}."
                },
                "external_id": f"hubspot-deal-{deal_id}",
                "tags": ["onboarding", "deal_won"],
            }
        },
        auth=_ZENDESK_AUTH,
        timeout=10,
    )
    resp.raise_for_status()
    return int(resp.json()["ticket"]["id"])


def three_call(event: Mapping[str, Any]) -> dict[str, Any]:
    """The automation: HubSpot GET, Stripe POST, Zendesk POST for one won deal."""
    deal_id = str(event["objectId"])
    props = get_deal(deal_id)
    customer = create_customer(deal_id, props)
    ticket = create_ticket(deal_id, props, customer)
    return {"status": "ok", "customer": customer, "ticket": ticket}


def events(n: int, *, start: int = 1) -> list[dict[str, Any]]:
    """``n`` HubSpot ``deal.propertyChange`` webhook events (deal won), one per deal.

    The shape is HubSpot's (one element of the array it POSTs), so the
    ``hubspot.deal.closedwon`` trigger contract accepts them.
    """
    out = []
    for i in range(start, start + n):
        out.append(
            {
                "eventId": 100_000 + i,
                "subscriptionId": 2345,
                "portalId": 62515,
                "appId": 54321,
                "occurredAt": 1_767_225_600_000 + i * 1000,
                "subscriptionType": "deal.propertyChange",
                "attemptNumber": 0,
                "objectId": 9_000_000 + i,
                "propertyName": "dealstage",
                "propertyValue": "closedwon",
                "changeSource": "CRM_UI",
                "sourceId": "userId:1234",
            }
        )
    return out


# -- the mocked APIs --------------------------------------------------------------


@dataclass(frozen=True)
class Effects:
    """What the mocked APIs did: ground truth for a variant's results."""

    calls: int
    faults: int
    customers: int
    tickets: int
    duplicate_customers: int
    duplicate_tickets: int


_DEAL = re.compile(r"/crm/v3/objects/deals/(\d+)")


class MockedApis:
    """HubSpot, Stripe and Zendesk endpoints for :func:`three_call`, through ``responses``.

    ``fault_rate`` is the chance (0..1) that any call is answered with the
    vendor's 503 before the server acts; ``seed`` fixes the sequence.
    ``zendesk_down_until`` (a time in ``clock()``) makes Zendesk answer 503
    until then: an outage window.  Thread
    safe (Prefect and DBOS may run steps on worker threads).
    """

    def __init__(
        self,
        *,
        fault_rate: float = 0.0,
        seed: int = 0,
        zendesk_down_until: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not 0.0 <= fault_rate < 1.0:
            raise ValueError(f"MockedApis: 'fault_rate' must be in [0, 1), got {fault_rate!r}")
        if zendesk_down_until is not None and clock is None:
            raise ValueError("MockedApis: 'zendesk_down_until' needs the 'clock' it is measured in")
        self.fault_rate = fault_rate
        self.zendesk_down_until = zendesk_down_until
        self._clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.calls = 0
        self.faults = 0
        self.customers: dict[str, int] = {}
        self.tickets: dict[str, int] = {}

    def effects(self) -> Effects:
        return Effects(
            calls=self.calls,
            faults=self.faults,
            customers=len(self.customers),
            tickets=len(self.tickets),
            duplicate_customers=sum(n - 1 for n in self.customers.values()),
            duplicate_tickets=sum(n - 1 for n in self.tickets.values()),
        )

    def _fault(self) -> tuple[int, dict[str, str], str] | None:
        with self._lock:
            self.calls += 1
            if self.fault_rate and self._rng.random() < self.fault_rate:
                self.faults += 1
                return 503, {"Content-Type": "application/json"}, '{"error":"Service Unavailable"}'
        return None

    def _deal(self, request: Any) -> tuple[int, dict[str, str], str]:
        fault = self._fault()
        if fault:
            return fault
        match = _DEAL.search(request.path_url)
        deal_id = match.group(1) if match else "0"
        body = {
            "id": deal_id,
            "properties": {
                "dealname": f"Acme renewal {deal_id}",
                "amount": "1250.00",
                "deal_currency_code": "EUR",
                "hs_object_id": deal_id,
            },
            "createdAt": "2026-01-01T00:00:00.000Z",
            "updatedAt": "2026-01-02T00:00:00.000Z",
            "archived": False,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _customer(self, request: Any) -> tuple[int, dict[str, str], str]:
        fault = self._fault()
        if fault:
            return fault
        form = dict(parse_qsl(request.body or ""))
        deal = form.get("metadata[hubspot_deal_id]", "")
        with self._lock:
            self.customers[deal] = self.customers.get(deal, 0) + 1
            n = next(self._ids)
        body = {
            "id": f"cus_{n:014d}",
            "object": "customer",
            "name": form.get("name"),
            "description": form.get("description"),
            "metadata": {"hubspot_deal_id": deal},
            "livemode": False,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _ticket(self, request: Any) -> tuple[int, dict[str, str], str]:
        fault = self._fault()
        if fault:
            return fault
        down = self.zendesk_down_until
        if self._clock is not None and down is not None and self._clock() < down:
            with self._lock:
                self.faults += 1
            return 503, {"Content-Type": "application/json"}, '{"error":"Service Unavailable"}'
        ticket = json.loads(request.body)["ticket"]
        external = str(ticket.get("external_id"))
        with self._lock:
            self.tickets[external] = self.tickets.get(external, 0) + 1
            n = next(self._ids)
        body = {
            "ticket": {
                "id": n,
                "url": f"{ZENDESK}/api/v2/tickets/{n}.json",
                "subject": ticket.get("subject"),
                "status": "new",
                "external_id": external,
                "tags": ticket.get("tags", []),
            }
        }
        return 201, {"Content-Type": "application/json"}, json.dumps(body)

    @contextmanager
    def active(self) -> Iterator[MockedApis]:
        """Serve the three endpoints for ``requests`` inside the block (nothing else)."""
        mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        mock.add_callback(
            responses.GET, re.compile(re.escape(HUBSPOT) + r"/crm/v3/objects/deals/\d+"),
            callback=self._deal,
        )
        mock.add_callback(responses.POST, f"{STRIPE}/v1/customers", callback=self._customer)
        mock.add_callback(responses.POST, f"{ZENDESK}/api/v2/tickets.json", callback=self._ticket)
        with mock:
            yield self
