"""Fixtures for the fake-systems tests."""

from __future__ import annotations

import pytest

from harness.systems import World, standard_world


@pytest.fixture
def world() -> World:
    """A small seeded world: HubSpot with four deals, empty Stripe and Zendesk."""
    return standard_world(3, deals=4)
