"""Built-in triggers beyond HubSpot deals, and the helpers that declare new ones.

:mod:`harness.triggers` (the public face) imports every module of this package
except :data:`HELPERS`; each registers its triggers with
``register_trigger`` (:mod:`harness._triggers._registry`) when imported.  A fake that brings
triggers (Shopify, Intercom, Pipedrive) adds one module here, for example
``_shopify.py``, with one ``register_trigger(...)`` call per trigger (usually
``register_trigger(webhook_trigger(...))`` with ``objects`` and ``make_event``
reading the fake), and its documented example events under ``examples/``.
"""

from harness._triggers._fixtures import example
from harness._triggers._generic import schedule_trigger, webhook_trigger
from harness._triggers._registry import all_triggers, get_trigger, register_trigger, trigger_names

__all__ = [
    "HELPERS",
    "all_triggers",
    "example",
    "get_trigger",
    "register_trigger",
    "schedule_trigger",
    "trigger_names",
    "webhook_trigger",
]

#: modules of this package that declare no trigger
HELPERS = frozenset({"_fixtures", "_generic", "_registry"})
