"""Fake systems: stateful HubSpot, Stripe, Zendesk, Slack, GitHub, Shopify, Intercom, Xero,
QuickBooks, Pipedrive and a generic record store.

A :class:`World` routes an unmodified automation's HTTP calls to the fakes
(``with world.activate(): ...``); the fakes' state is the ground truth the
oracles judge (:func:`snapshot`, :func:`diff`, :func:`records_with_origin`,
``World.writes``).  Fault hooks plug in through ``World.interceptors``;
:func:`drop_field` and :func:`set_field` reshape a response, ``fail_next``
on a fake fails a request inside the endpoint.
"""

from harness.systems._base import FakeSystem
from harness.systems._descriptor import (
    DEFAULT_ID_SHAPES,
    ID_HEX,
    ID_NUMERIC,
    ID_PREFIXED,
    ID_UUID,
    CreateGuard,
    ErrorShape,
    Idempotency,
    RecordShape,
    SystemDescriptor,
    generic_error_body,
    generic_rejected_field,
    template_endpoint,
)
from harness.systems._faults import drop_field, has_field, set_field
from harness.systems._github import GitHub
from harness.systems._hubspot import HubSpot
from harness.systems._inspect import Change, RecordOrigin, Snapshot, StateDiff, diff
from harness.systems._intercept import harness_traffic, parse_passthrough, real_network
from harness.systems._intercom import Intercom
from harness.systems._known import (
    known_descriptor,
    known_descriptors,
    register_system,
    system_of_host,
)
from harness.systems._pipedrive import Pipedrive
from harness.systems._quickbooks import QuickBooks
from harness.systems._recordstore import RecordStore, Resource
from harness.systems._seed import SeedDeal, seed_deals, standard_world
from harness.systems._shopify import Shopify
from harness.systems._slack import Slack
from harness.systems._stripe import Stripe
from harness.systems._wirebytes import response_bytes
from harness.systems._world import (
    Call,
    CallContext,
    Interceptor,
    System,
    World,
    Write,
    created_by,
    last_call,
    passthrough_endpoints,
    records_with_origin,
    restore,
    snapshot,
)
from harness.systems._xero import Xero
from harness.systems._zendesk import Zendesk

__all__ = [
    "DEFAULT_ID_SHAPES",
    "ID_HEX",
    "ID_NUMERIC",
    "ID_PREFIXED",
    "ID_UUID",
    "Call",
    "CallContext",
    "Change",
    "CreateGuard",
    "ErrorShape",
    "FakeSystem",
    "GitHub",
    "HubSpot",
    "Idempotency",
    "Interceptor",
    "Intercom",
    "Pipedrive",
    "QuickBooks",
    "RecordOrigin",
    "RecordShape",
    "RecordStore",
    "Resource",
    "SeedDeal",
    "Shopify",
    "Slack",
    "Snapshot",
    "StateDiff",
    "Stripe",
    "System",
    "SystemDescriptor",
    "World",
    "Write",
    "Xero",
    "Zendesk",
    "created_by",
    "diff",
    "drop_field",
    "generic_error_body",
    "generic_rejected_field",
    "harness_traffic",
    "has_field",
    "known_descriptor",
    "known_descriptors",
    "last_call",
    "parse_passthrough",
    "passthrough_endpoints",
    "real_network",
    "records_with_origin",
    "register_system",
    "response_bytes",
    "restore",
    "seed_deals",
    "set_field",
    "snapshot",
    "standard_world",
    "system_of_host",
    "template_endpoint",
]
