"""A standard world of fakes filled by Faker from one seed.

``standard_world(seed)`` builds HubSpot + Stripe + Zendesk with ``deals`` deals,
each associated with one contact and one company, mirrored in Pipedrive
(organization, person, open deal); the existing customers
(``dealtype=existingbusiness``) are already Xero contacts (with one authorised
invoice) and QuickBooks customers; Slack, GitHub, Shopify and Intercom are
seeded like a small company's (see :mod:`harness.systems._seed_apps`).  The same seed always gives the same
records and the same ids (Faker, the choices and the fakes' id generators are
all seeded from it), so a finding reproduces from ``(flow, seed, example)``.
"""

from __future__ import annotations

import random

from harness._shared.wire import Clock, VirtualClock
from harness.errors import InvalidValueError
from harness.systems._deals import PRODUCTS, SeedDeal, seed_deals
from harness.systems._github import GitHub
from harness.systems._hubspot import HubSpot
from harness.systems._intercom import Intercom
from harness.systems._pipedrive import Pipedrive
from harness.systems._quickbooks import QuickBooks
from harness.systems._seed_apps import seed_apps
from harness.systems._shopify import Shopify
from harness.systems._slack import Slack
from harness.systems._stripe import Stripe
from harness.systems._world import World
from harness.systems._xero import Xero
from harness.systems._zendesk import Zendesk

__all__ = ["SeedDeal", "seed_deals", "standard_world"]

#: the first seeded company's id (HubSpot ids are large numbers; see `standard_world`)
COMPANY_IDS = 20_000_000_001
#: list prices of the seeded HubSpot products, in the order of ``PRODUCTS``
PRODUCT_PRICES = (12000, 4800, 2500, 36000, 600, 1800)


def standard_world(seed: int = 0, *, deals: int = 8, clock: Clock | None = None) -> World:
    """Every bundled fake, with ``deals`` Faker deals, each with one contact and one company.

    HubSpot, Stripe and Zendesk are seeded exactly as before the other fakes
    existed (same records, same ids for a seed).  Deals carry ``dealname``,
    ``amount`` (a string, as HubSpot returns it),
    ``deal_currency_code``, an open ``dealstage``, ``dealtype``
    (``newbusiness`` or ``existingbusiness``: the new vs existing customer
    segment) and ``pipeline``.  Seeding logs no writes.  Deterministic for a seed.
    """
    if not isinstance(deals, int) or deals < 0:
        raise InvalidValueError(f"standard_world: 'deals' must be an integer >= 0: {deals!r}")
    apps = (Slack(seed=seed), GitHub(seed=seed), Shopify(seed=seed), Intercom(seed=seed))
    world = World(
        [HubSpot(seed=seed), Stripe(seed=seed), Zendesk(seed=seed), Xero(seed=seed),
         QuickBooks(seed=seed), Pipedrive(seed=seed), *apps],
        clock=clock if clock is not None else VirtualClock(),
    )
    hubspot = world.system("hubspot", HubSpot)
    created = world.clock.now() - 30 * 86_400
    for i, deal in enumerate(seed_deals(seed, deals)):
        contact_id = hubspot.add_object(
            "contact",
            {"email": deal.email, "firstname": deal.firstname, "lastname": deal.lastname,
             "company": deal.company, "lifecyclestage": "opportunity"},
            created_at=created,
        )
        deal_id = hubspot.add_object(
            "deal",
            {"dealname": deal.dealname, "amount": deal.amount,
             "deal_currency_code": deal.deal_currency_code, "dealstage": deal.dealstage,
             "dealtype": deal.dealtype, "pipeline": deal.pipeline, "closedate": deal.closedate,
             "num_associated_contacts": "1"},
            created_at=created,
        )
        hubspot.associate("deal", deal_id, "contact", contact_id)
        # companies take ids from their own range, so deal and contact ids (and the ids of
        # records automations create) are the same as in worlds seeded before companies
        company_id = hubspot.add_object(
            "company",
            {"name": deal.company, "domain": deal.email.rpartition("@")[2],
             "lifecyclestage": "opportunity"},
            object_id=str(COMPANY_IDS + i),
            created_at=created,
        )
        hubspot.associate("contact", contact_id, "company", company_id)
        hubspot.associate("deal", deal_id, "company", company_id)
    slack, github, shopify, intercom = apps
    seed_apps(seed, slack=slack, github=github, shopify=shopify, intercom=intercom,
              now=world.clock.now())
    _seed_accounting_and_pipedrive(world, seed, seed_deals(seed, deals), created)
    # the product catalog comes last so the deals and contacts keep their ids
    for n, product in enumerate(PRODUCTS):
        hubspot.add_object("product", {"name": product, "price": str(PRODUCT_PRICES[n]),
                                       "hs_sku": f"SKU-{n + 1:03d}", "description": product},
                           created_at=created)
    return world


def _seed_accounting_and_pipedrive(world: World, seed: int, deals: tuple[SeedDeal, ...],
                                   created: float) -> None:
    """Mirror the deals in Pipedrive; existing customers are Xero contacts and QBO customers.

    Runs after HubSpot's seeding and draws from its own generator, so the
    HubSpot, Stripe and Zendesk records of a seed are what they always were.
    """
    rng = random.Random(f"accounting:{seed}")
    xero = world.system("xero", Xero)
    quickbooks = world.system("quickbooks", QuickBooks)
    pipedrive = world.system("pipedrive", Pipedrive)
    orgs: dict[str, int] = {}
    for deal in deals:
        name = f"{deal.firstname} {deal.lastname}"
        org_id = orgs.get(deal.company)
        if org_id is None:
            org_id = orgs[deal.company] = pipedrive.add("organization", {"name": deal.company},
                                                        created_at=created)
        person_id = pipedrive.add("person", {"name": name, "email": deal.email, "org_id": org_id},
                                  created_at=created)
        pipedrive.add("deal", {"title": deal.dealname, "value": deal.amount,
                               "currency": deal.deal_currency_code, "stage_id": rng.randint(1, 5),
                               "person_id": person_id, "org_id": org_id}, created_at=created)
        if deal.dealtype != "existingbusiness" or xero.find_contacts(deal.company):
            continue
        contact_id = xero.add_contact(deal.company, email=deal.email, first_name=deal.firstname,
                                      last_name=deal.lastname, is_customer=True)
        xero.add_invoice(contact_id, [{"Description": "Annual subscription (last year)",
                                       "Quantity": 1, "UnitAmount": deal.amount, "AccountCode": "200",
                                       "TaxType": "NONE"}],
                         reference=deal.dealname, currency=deal.deal_currency_code)
        quickbooks.add_customer(deal.company, email=deal.email, given_name=deal.firstname,
                                family_name=deal.lastname, company=deal.company)
