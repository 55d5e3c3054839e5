"""The ledger store: open by URL, write runs whole, read for the report.

INTERFACE CONTRACT (other rooms code against these signatures; keep them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.ledger.records import (
    CampaignRecord,
    FindingRecord,
    FlowChange,
    InboxItem,
    LedgerInfo,
    RunRecord,
)

__all__ = ["DEFAULT_URL", "Ledger", "resolve_url"]

DEFAULT_URL = "sqlite:///.harness/ledger.db"


def resolve_url(url: str | None = None) -> str:
    """``url``, else ``$HARNESS_LEDGER_URL``, else :data:`DEFAULT_URL`."""
    raise NotImplementedError


class Ledger:
    """One ledger database (SQLite file or PostgreSQL), safe to share between threads."""

    url: str  # with any password hidden

    @classmethod
    def open(cls, url: str | None = None) -> Ledger:
        """Open (creating or migrating) the ledger at ``url``; LedgerError(usage=True) if bad."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # campaigns
    def start_campaign(self, campaign: CampaignRecord) -> None:
        raise NotImplementedError

    def finish_campaign(self, campaign_id: str, *, status: str, wall_ended: float) -> None:
        raise NotImplementedError

    def campaign(self, campaign_id: str) -> CampaignRecord:
        raise NotImplementedError

    # runs: each run with its events is committed whole or not at all
    def write_runs(self, runs: Sequence[RunRecord]) -> None:
        raise NotImplementedError

    def run(self, run_id: str) -> RunRecord:
        """One run with its events."""
        raise NotImplementedError

    def runs(
        self,
        *,
        flow: str | None = None,
        mode: str | None = None,
        campaign_id: str | None = None,
        segment: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
        with_events: bool = False,
    ) -> list[RunRecord]:
        raise NotImplementedError

    # dedupe
    def claim_dedupe(
        self, flow: str, key: str, run_id: str, *, wall_now: float, ttl: float | None
    ) -> str | None:
        """Claim ``key`` for ``run_id``; return ``None`` if claimed, else the run id holding it."""
        raise NotImplementedError

    def release_dedupe(self, flow: str, key: str, run_id: str) -> None:
        raise NotImplementedError

    # inbox
    def add_inbox_item(self, item: InboxItem) -> None:
        raise NotImplementedError

    def inbox(self, *, flow: str | None = None, status: str | None = "open") -> list[InboxItem]:
        raise NotImplementedError

    def inbox_item(self, item_id: str) -> InboxItem:
        raise NotImplementedError

    def act_on_inbox_item(
        self, item_id: str, *, action: str, by: str, note: str, at: float, wall_at: float
    ) -> InboxItem:
        """action: resolve | discard | retry; appends an ``inbox_action`` event to the run."""
        raise NotImplementedError

    # findings and changes
    def write_findings(self, findings: Sequence[FindingRecord]) -> None:
        raise NotImplementedError

    def findings(
        self, *, flow: str | None = None, campaign_id: str | None = None
    ) -> list[FindingRecord]:
        raise NotImplementedError

    def record_change(self, change: FlowChange) -> None:
        raise NotImplementedError

    # maintenance
    def info(self) -> LedgerInfo:
        raise NotImplementedError

    def prune(self, *, older_than: float, wall_now: float) -> int:
        raise NotImplementedError

    def export_csv(self, directory: Path) -> list[Path]:
        raise NotImplementedError
