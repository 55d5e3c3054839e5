"""Built-in triggers beyond HubSpot deals, and the helpers that declare new ones.

Imported by :mod:`harness.triggers` (the public face): each module registers
its triggers with :func:`harness.triggers.register_trigger` when imported.
"""
