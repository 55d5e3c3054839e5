"""Ledger (SQLAlchemy): the only room that imports SQLAlchemy.

The append-only record of campaigns, runs and their events, the inbox, dedupe
claims, findings and flow changes: the single source for metrics and reports.
Open one with :meth:`Ledger.open` (a SQLite file by default, PostgreSQL by
URL).
"""

from harness.ledger.aggregates import RunFilter
from harness.ledger.records import (
    END_STATES,
    ERROR_CLASSES,
    EVENT_KINDS,
    CampaignRecord,
    EndState,
    ErrorClass,
    EventRecord,
    FindingRecord,
    FlowChange,
    InboxItem,
    LedgerInfo,
    Mode,
    RunRecord,
)
from harness.ledger.schema import SCHEMA_VERSION
from harness.ledger.store import DEFAULT_URL, INBOX_ACTIONS, MODES, Ledger, resolve_url

__all__ = [
    "DEFAULT_URL",
    "END_STATES",
    "ERROR_CLASSES",
    "EVENT_KINDS",
    "INBOX_ACTIONS",
    "MODES",
    "SCHEMA_VERSION",
    "CampaignRecord",
    "EndState",
    "ErrorClass",
    "EventRecord",
    "FindingRecord",
    "FlowChange",
    "InboxItem",
    "Ledger",
    "LedgerInfo",
    "Mode",
    "RunFilter",
    "RunRecord",
    "resolve_url",
]
