"""Seed data for Slack, GitHub, Shopify and Intercom in the standard world.

Everything is drawn from the world's seed (Faker reseeded per call, a
``random.Random`` per vendor) and cached, so building a world stays cheap and
the same seed always gives the same workspace, repository, shop and inbox.
The HubSpot deals' contacts reappear as Intercom contacts (same emails), as
they would in a company that talks to its customers in both.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from harness.systems._deals import faker, seed_deals
from harness.systems._github import GitHub
from harness.systems._intercom import Intercom
from harness.systems._shopify import Shopify
from harness.systems._slack import Slack

__all__ = ["SeedPerson", "seed_apps", "seed_people"]

_SHOP_PRODUCTS = (
    ("Merino Crew Socks", "18.00"), ("Canvas Tote Bag", "34.00"), ("Ceramic Pour-Over Set", "56.00"),
    ("Linen Apron", "42.00"), ("Walnut Cutting Board", "89.00"), ("Enamel Camp Mug", "22.00"),
)
_QUESTIONS = (
    "Hi, I was charged twice for my last invoice. Can you help?",
    "How do I add another seat to our plan?",
    "Our onboarding call got cancelled, can we reschedule?",
    "Is there a way to export all our data as CSV?",
    "The integration stopped syncing since yesterday.",
    "Can we switch to annual billing?",
)
_MENTIONS = (
    "can you open a ticket? Globex says the invoice sync is stuck since this morning",
    "customer reports the export button does nothing on Safari, please file it",
    "Initech was charged twice for the March invoice, needs a look today",
)
_ISSUES = (
    ("Webhook retries create duplicate tickets", "bug"),
    ("Document the invoice sync runbook", "documentation"),
    ("Support EUR invoices in the billing sync", "enhancement"),
)


@dataclass(frozen=True, slots=True)
class SeedPerson:
    """One teammate: a Slack handle and name, a work email and a GitHub login."""

    handle: str
    real_name: str
    email: str
    login: str


@functools.lru_cache(maxsize=64)
def seed_people(seed: int, count: int = 5) -> tuple[SeedPerson, ...]:
    """The team of ``standard_world(seed)``: ``count`` people at ``acme.example``."""
    fake = faker()
    fake.seed_instance(f"team:{seed}")  # type: ignore[attr-defined]
    out: list[SeedPerson] = []
    seen: set[str] = set()
    while len(out) < count:
        first = fake.first_name()  # type: ignore[attr-defined]
        last = fake.last_name()  # type: ignore[attr-defined]
        handle = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        if handle in seen:
            continue
        seen.add(handle)
        out.append(SeedPerson(handle=handle, real_name=f"{first} {last}",
                              email=f"{handle}@acme.example",
                              login=f"{first[0]}{last}".lower().replace("'", "")))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _shoppers(seed: int, count: int) -> tuple[tuple[str, str, str], ...]:
    fake = faker()
    fake.seed_instance(f"shop:{seed}")  # type: ignore[attr-defined]
    rows = []
    for i in range(count):
        first = fake.first_name()  # type: ignore[attr-defined]
        last = fake.last_name()  # type: ignore[attr-defined]
        domain = fake.free_email_domain()  # type: ignore[attr-defined]
        email = f"{first}.{last}{i}@{domain}".lower().replace(" ", "").replace("'", "")
        rows.append((first, last, email))
    return tuple(rows)


def seed_apps(
    seed: int,
    *,
    slack: Slack,
    github: GitHub,
    shopify: Shopify,
    intercom: Intercom,
    now: float,
) -> None:
    """Fill the four fakes for ``standard_world(seed)``; logs no writes."""
    team = seed_people(seed)
    slack.seed_workspace(
        [(p.handle, p.real_name, p.email) for p in team],
        channels=(("sales", "Deals won and lost", False),
                  ("support", "Customer escalations", False),
                  ("alerts", "Automation alerts", False)),
        created=now - 400 * 86_400,
    )
    # people asking the bot for help in #support: what the slack.app_mention trigger delivers
    for i, ask in enumerate(_MENTIONS):
        person = team[(i + 1) % len(team)]
        user = next(u for u in slack.people() if u["name"] == person.handle)
        slack.add_message("support", str(user["id"]), f"<@{slack.bot_user_id}> {ask}",
                          at=now - (len(_MENTIONS) - i) * 1800 + 0.000100)
    github.add_repository(
        "acme/support",
        collaborators=[p.login for p in team],
        issues=[{"title": title, "body": f"Reported by {team[i % len(team)].real_name}.",
                 "labels": [label], "user": team[i % len(team)].login}
                for i, (title, label) in enumerate(_ISSUES)],
        created=now - 200 * 86_400,
    )
    rng = random.Random(f"shopify:{seed}")
    variants = []
    for title, price in _SHOP_PRODUCTS:
        product = shopify.add_product(title, price, sku=title.upper().replace(" ", "-")[:12],
                                      created=now - 90 * 86_400)
        variants.append(int(product["variants"][0]["id"]))
    for first, last, email in _shoppers(seed, 6):
        customer = shopify.add_customer(first, last, email, created=now - 60 * 86_400)
        lines = [(v, rng.randint(1, 3)) for v in rng.sample(variants, rng.randint(1, 3))]
        shopify.add_order(int(customer["id"]), lines,
                          financial_status=rng.choice(("paid", "paid", "paid", "pending")),
                          created=now - rng.randrange(1, 14) * 86_400)
    for person in team[:2]:
        intercom.add_admin(person.real_name, person.email)
    for i, deal in enumerate(seed_deals(seed, 6)):
        slug = deal.company.lower().replace(" ", "-").replace(",", "")[:40]
        intercom.add_company(f"co-{slug}", deal.company, plan="Pro", created=now - 120 * 86_400)
        contact = intercom.add_contact(f"{deal.firstname} {deal.lastname}", deal.email,
                                       external_id=f"user-{i + 1}", created=now - 100 * 86_400)
        intercom.add_conversation(str(contact["id"]), _QUESTIONS[i % len(_QUESTIONS)],
                                  created=now - (6 - i) * 3600)
