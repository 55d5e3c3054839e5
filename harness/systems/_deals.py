"""The seeded deals every bundled fake is filled from, and the one Faker that draws them.

Kept apart from :mod:`harness.systems._seed` (the standard world) so that
:mod:`harness.systems._seed_apps` can draw from the same seed without
importing the world that imports it.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from harness.systems._base import iso8601

__all__ = ["PRODUCTS", "SeedDeal", "faker", "seed_deals"]

_CURRENCIES = ("USD", "USD", "USD", "EUR", "EUR", "GBP")
_OPEN_STAGES = ("qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin", "contractsent")
PRODUCTS = ("Platform licence", "Annual subscription", "Onboarding package", "Enterprise plan",
             "Team seats", "Support upgrade")


@dataclass(frozen=True, slots=True)
class SeedDeal:
    """One generated deal and its contact (HubSpot property values, all strings)."""

    dealname: str
    amount: str
    deal_currency_code: str
    dealstage: str
    dealtype: str
    pipeline: str
    closedate: str
    email: str
    firstname: str
    lastname: str
    company: str


@functools.lru_cache(maxsize=1)
def faker() -> object:
    """One Faker for the seeded fakes (built on first use: importing Faker takes a while)."""
    from faker import Faker

    return Faker("en_US")


@functools.lru_cache(maxsize=64)
def seed_deals(seed: int, count: int) -> tuple[SeedDeal, ...]:
    """The deals ``standard_world(seed, deals=count)`` contains (cached: Faker is slow to build)."""
    fake = faker()
    fake.seed_instance(seed)  # type: ignore[attr-defined]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        first = fake.first_name()  # type: ignore[attr-defined]
        last = fake.last_name()  # type: ignore[attr-defined]
        company = fake.company()  # type: ignore[attr-defined]
        domain = fake.domain_name()  # type: ignore[attr-defined]
        cents = rng.randrange(50_000, 5_000_000, 50)  # $500 .. $50,000
        amount = f"{cents // 100}" if cents % 100 == 0 else f"{cents / 100:.2f}"
        close = 1_767_225_600 + rng.randrange(0, 90) * 86_400
        out.append(
            SeedDeal(
                dealname=f"{company} - {rng.choice(PRODUCTS)}",
                amount=amount,
                deal_currency_code=rng.choice(_CURRENCIES),
                dealstage=rng.choice(_OPEN_STAGES),
                dealtype=rng.choice(("newbusiness", "existingbusiness")),
                pipeline="default",
                closedate=iso8601(close),
                email=f"{first}.{last}@{domain}".lower().replace(" ", "").replace("'", ""),
                firstname=first,
                lastname=last,
                company=company,
            )
        )
    return tuple(out)


