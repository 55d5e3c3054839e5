"""Make a real version-1 ledger: the schema as the first release wrote it.

Version 1 had no ``runs.duplicate_effects`` column and no ``flow_changes``
table.  The DDL below is frozen history: it must not follow later schema
changes.  Run ``python tests/ledger/make_v1_ledger.py`` to rewrite the fixture
``tests/ledger/data/ledger_v1.db``; the migration tests also apply
:func:`create_v1` to a fresh PostgreSQL database.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import create_engine

FIXTURE = Path(__file__).parent / "data" / "ledger_v1.db"
T0 = 1_770_000_000.0  # 2026-02-02

V1_DDL = """
CREATE TABLE harness_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE campaigns (
    id VARCHAR(64) PRIMARY KEY, flow VARCHAR(200) NOT NULL, mode VARCHAR(32) NOT NULL,
    seed BIGINT, examples INTEGER, command TEXT NOT NULL, versions TEXT NOT NULL,
    status VARCHAR(32) NOT NULL, wall_started FLOAT NOT NULL, wall_ended FLOAT,
    synthetic BOOLEAN NOT NULL, label TEXT NOT NULL);
CREATE TABLE runs (
    id VARCHAR(64) PRIMARY KEY, campaign_id VARCHAR(64) REFERENCES campaigns (id) ON DELETE CASCADE,
    flow VARCHAR(200) NOT NULL, mode VARCHAR(32) NOT NULL, segment VARCHAR(200) NOT NULL,
    seed BIGINT, example INTEGER, delivery INTEGER NOT NULL, event_id VARCHAR(200),
    object_key VARCHAR(200), dedupe_key VARCHAR(500), delivery_kind VARCHAR(32) NOT NULL,
    is_duplicate BOOLEAN NOT NULL, end_state VARCHAR(32) NOT NULL, error_class VARCHAR(32),
    attempts INTEGER NOT NULL, errors INTEGER NOT NULL, calls INTEGER NOT NULL,
    retries INTEGER NOT NULL, started_at FLOAT NOT NULL, ended_at FLOAT NOT NULL,
    first_error_at FLOAT, recovered_at FLOAT, wall_started FLOAT NOT NULL,
    wall_ended FLOAT NOT NULL, clock VARCHAR(16) NOT NULL, synthetic BOOLEAN NOT NULL,
    detail TEXT NOT NULL);
CREATE INDEX ix_runs_flow_wall ON runs (flow, wall_started);
CREATE INDEX ix_runs_campaign ON runs (campaign_id);
CREATE INDEX ix_runs_flow_mode_state ON runs (flow, mode, end_state);
CREATE TABLE events (
    id {event_pk}, run_id VARCHAR(64) NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, kind VARCHAR(32) NOT NULL, at FLOAT NOT NULL, wall_at FLOAT NOT NULL,
    system VARCHAR(64), step VARCHAR(200), error_class VARCHAR(32), fault VARCHAR(64),
    status INTEGER, outcome VARCHAR(16), detail TEXT NOT NULL);
CREATE INDEX ix_events_run ON events (run_id, seq);
CREATE INDEX ix_events_kind ON events (kind);
CREATE TABLE inbox_items (
    id VARCHAR(64) PRIMARY KEY, run_id VARCHAR(64) NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    flow VARCHAR(200) NOT NULL, owner VARCHAR(200) NOT NULL, reason TEXT NOT NULL,
    error_class VARCHAR(32), segment VARCHAR(200) NOT NULL, status VARCHAR(16) NOT NULL,
    created_at FLOAT NOT NULL, wall_created FLOAT NOT NULL, due_at FLOAT NOT NULL,
    resolved_at FLOAT, resolved_by VARCHAR(200), resolution VARCHAR(32), note TEXT NOT NULL,
    context TEXT NOT NULL);
CREATE INDEX ix_inbox_flow_status ON inbox_items (flow, status);
CREATE TABLE dedupe_keys (
    flow VARCHAR(200) NOT NULL, key VARCHAR(500) NOT NULL, run_id VARCHAR(64) NOT NULL,
    claimed_wall FLOAT NOT NULL, expires_wall FLOAT, PRIMARY KEY (flow, key));
CREATE TABLE findings (
    id VARCHAR(64) PRIMARY KEY, campaign_id VARCHAR(64) REFERENCES campaigns (id) ON DELETE CASCADE,
    flow VARCHAR(200) NOT NULL, mode VARCHAR(32) NOT NULL, oracle VARCHAR(64) NOT NULL,
    message TEXT NOT NULL, scenario TEXT NOT NULL, reproduce TEXT NOT NULL, seed BIGINT,
    example INTEGER, timeline TEXT NOT NULL, detail TEXT NOT NULL, wall_created FLOAT NOT NULL);
CREATE INDEX ix_findings_flow ON findings (flow, wall_created);
"""

V1_ROWS = """
INSERT INTO harness_meta VALUES ('schema_version', '1');
INSERT INTO campaigns VALUES ('v1-camp', 'deal_won', 'orchestrated', 11, 2,
    'harness check deal_won --seed 11', '{{"harness": "0.0.9"}}', 'completed', {t0}, {t1}, {false}, '');
INSERT INTO runs VALUES ('v1-run-1', 'v1-camp', 'deal_won', 'orchestrated', 'new customer', 11, 0, 0,
    'evt-1', 'deal:1', 'deal_won:1', 'original', {false}, 'succeeded', 'transient', 2, 1, 3, 1,
    0.0, 31.0, 1.0, 31.0, {t0}, {t0p}, 'virtual', {false}, '{{}}');
INSERT INTO runs VALUES ('v1-run-2', 'v1-camp', 'deal_won', 'orchestrated', 'existing customer', 11, 1, 0,
    'evt-2', 'deal:2', 'deal_won:2', 'original', {false}, 'manual', 'logical', 1, 1, 1, 0,
    0.0, 2.0, 1.0, NULL, {t0}, {t0p}, 'virtual', {false}, '{{"note": "v1"}}');
INSERT INTO events (run_id, seq, kind, at, wall_at, system, step, error_class, fault, status, outcome, detail)
    VALUES ('v1-run-1', 0, 'delivery', 0.0, {t0}, NULL, NULL, NULL, NULL, NULL, NULL, '{{"event_id": "evt-1"}}');
INSERT INTO events (run_id, seq, kind, at, wall_at, system, step, error_class, fault, status, outcome, detail)
    VALUES ('v1-run-1', 1, 'error', 1.0, {t0}, 'stripe', 'create_invoice', 'transient', 'timeout_after', NULL, 'timeout', '{{}}');
INSERT INTO events (run_id, seq, kind, at, wall_at, system, step, error_class, fault, status, outcome, detail)
    VALUES ('v1-run-1', 2, 'end', 31.0, {t0p}, NULL, NULL, NULL, NULL, NULL, NULL, '{{"end_state": "succeeded"}}');
INSERT INTO events (run_id, seq, kind, at, wall_at, system, step, error_class, fault, status, outcome, detail)
    VALUES ('v1-run-2', 0, 'delivery', 0.0, {t0}, NULL, NULL, NULL, NULL, NULL, NULL, '{{}}');
INSERT INTO inbox_items VALUES ('v1-item', 'v1-run-2', 'deal_won', 'ops@example.com', 'missing email',
    'logical', 'existing customer', 'open', 2.0, {t0}, 3602.0, NULL, NULL, NULL, '', '{{}}');
INSERT INTO dedupe_keys VALUES ('deal_won', 'deal_won:1', 'v1-run-1', {t0}, NULL);
"""


def create_v1(url: str) -> None:
    """Create a version-1 ledger with two runs, an inbox item and a dedupe claim at ``url``."""
    engine = create_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    ddl = V1_DDL.format(
        event_pk="INTEGER PRIMARY KEY AUTOINCREMENT" if sqlite else "BIGSERIAL PRIMARY KEY"
    )
    rows = V1_ROWS.format(
        t0=T0, t1=T0 + 60, t0p=T0 + 1, false="0" if sqlite else "false"
    )
    with engine.begin() as conn:
        for statement in (ddl + rows).split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    engine.dispose()


if __name__ == "__main__":
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.unlink(missing_ok=True)
    create_v1(f"sqlite:///{FIXTURE}")
    sys.stdout.write(f"wrote {FIXTURE}\n")
