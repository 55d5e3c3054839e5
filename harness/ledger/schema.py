"""The ledger's tables (SQLAlchemy Core), schema version :data:`SCHEMA_VERSION`.

The same tables serve SQLite and PostgreSQL.  Times are stored as floating
epoch seconds (``*_at`` in the run's clock, ``wall_*`` in the real clock) so
that aggregate SQL stays portable; JSON detail is stored as text.

Change the schema only by bumping :data:`SCHEMA_VERSION` and adding a
migration step in ``harness.ledger.migrations``.  Version 1 lacked
``runs.duplicate_effects`` and ``flow_changes``; version 2 lacked
``run_queue`` (the write-ahead record of production runs in progress).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "SCHEMA_VERSION",
    "campaigns",
    "dedupe_keys",
    "events",
    "findings",
    "flow_changes",
    "inbox_items",
    "meta",
    "metadata",
    "run_queue",
    "runs",
]

SCHEMA_VERSION = 3

metadata = MetaData()

meta = Table(
    "harness_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("flow", String(200), nullable=False),
    Column("mode", String(32), nullable=False),
    Column("seed", BigInteger),
    Column("examples", Integer),
    Column("command", Text, nullable=False, default=""),
    Column("versions", Text, nullable=False, default="{}"),
    Column("status", String(32), nullable=False, default="running"),
    Column("wall_started", Float, nullable=False),
    Column("wall_ended", Float),
    Column("synthetic", Boolean, nullable=False, default=False),
    Column("label", Text, nullable=False, default=""),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("campaign_id", String(64), ForeignKey("campaigns.id", ondelete="CASCADE")),
    Column("flow", String(200), nullable=False),
    Column("mode", String(32), nullable=False),
    Column("segment", String(200), nullable=False, default="all"),
    Column("seed", BigInteger),
    Column("example", Integer),
    Column("delivery", Integer, nullable=False, default=0),
    Column("event_id", String(200)),
    Column("object_key", String(200)),
    Column("dedupe_key", String(500)),
    Column("delivery_kind", String(32), nullable=False, default="original"),
    Column("is_duplicate", Boolean, nullable=False, default=False),
    Column("end_state", String(32), nullable=False),
    Column("error_class", String(32)),
    Column("attempts", Integer, nullable=False, default=1),
    Column("errors", Integer, nullable=False, default=0),
    Column("calls", Integer, nullable=False, default=0),
    Column("retries", Integer, nullable=False, default=0),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float, nullable=False),
    Column("first_error_at", Float),
    Column("recovered_at", Float),
    Column("wall_started", Float, nullable=False),
    Column("wall_ended", Float, nullable=False),
    Column("clock", String(16), nullable=False, default="virtual"),
    Column("duplicate_effects", Integer),
    Column("synthetic", Boolean, nullable=False, default=False),
    Column("detail", Text, nullable=False, default="{}"),
)
Index("ix_runs_flow_wall", runs.c.flow, runs.c.wall_started)
Index("ix_runs_campaign", runs.c.campaign_id)
Index("ix_runs_flow_mode_state", runs.c.flow, runs.c.mode, runs.c.end_state)
# window reads across every flow (the report's default) must not scan the history
Index("ix_runs_wall", runs.c.wall_started)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("wall_at", Float, nullable=False),
    Column("system", String(64)),
    Column("step", String(200)),
    Column("error_class", String(32)),
    Column("fault", String(64)),
    Column("status", Integer),
    Column("outcome", String(16)),
    Column("detail", Text, nullable=False, default="{}"),
)
Index("ix_events_run", events.c.run_id, events.c.seq)
Index("ix_events_kind", events.c.kind)

inbox_items = Table(
    "inbox_items",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("flow", String(200), nullable=False),
    Column("owner", String(200), nullable=False, default=""),
    Column("reason", Text, nullable=False),
    Column("error_class", String(32)),
    Column("segment", String(200), nullable=False, default="all"),
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", Float, nullable=False),
    Column("wall_created", Float, nullable=False),
    Column("due_at", Float, nullable=False),
    Column("resolved_at", Float),
    Column("resolved_by", String(200)),
    Column("resolution", String(32)),
    Column("note", Text, nullable=False, default=""),
    Column("context", Text, nullable=False, default="{}"),
)
Index("ix_inbox_flow_status", inbox_items.c.flow, inbox_items.c.status)

dedupe_keys = Table(
    "dedupe_keys",
    metadata,
    Column("flow", String(200), primary_key=True),
    Column("key", String(500), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("claimed_wall", Float, nullable=False),
    Column("expires_wall", Float),
)

findings = Table(
    "findings",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("campaign_id", String(64), ForeignKey("campaigns.id", ondelete="CASCADE")),
    Column("flow", String(200), nullable=False),
    Column("mode", String(32), nullable=False),
    Column("oracle", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("scenario", Text, nullable=False),
    Column("reproduce", Text, nullable=False),
    Column("seed", BigInteger),
    Column("example", Integer),
    Column("timeline", Text, nullable=False, default="[]"),
    Column("detail", Text, nullable=False, default="{}"),
    Column("wall_created", Float, nullable=False),
)
Index("ix_findings_flow", findings.c.flow, findings.c.wall_created)

flow_changes = Table(
    "flow_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow", String(200), nullable=False),
    Column("wall_at", Float, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("by", String(200), nullable=False, default=""),
)

# The write-ahead record of production deliveries (``harness.ledger.runqueue``):
# a row is written, with the event as delivered and the dedupe claim, before the
# automation makes any call; it carries the run's progress (events, call journal,
# calls in flight) while the run is accepted, running (under a lease) or waiting
# (due again at ``next_wall``), and keeps the end state once the run is in ``runs``.
run_queue = Table(
    "run_queue",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("flow", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("dedupe_key", String(500)),
    Column("attached_to", String(64)),
    Column("event", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("deliveries", Integer, nullable=False, default=1),
    Column("next_wall", Float, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_expires", Float),
    Column("recoveries", Integer, nullable=False, default=0),
    Column("progress", Text, nullable=False, default="{}"),
    Column("wall_accepted", Float, nullable=False),
    Column("wall_updated", Float, nullable=False),
)
Index("ix_run_queue_state_next", run_queue.c.state, run_queue.c.next_wall)
Index("ix_run_queue_flow_state", run_queue.c.flow, run_queue.c.state)
