"""Fake systems: stateful HubSpot, Stripe, Zendesk and a generic record store.

A :class:`World` routes an unmodified automation's HTTP calls to the fakes.
"""

from harness.systems._world import Call, CallContext, Interceptor, System, World, Write

__all__ = ["Call", "CallContext", "Interceptor", "System", "World", "Write"]
