"""The campaigns table: start, finish and read campaigns."""

from __future__ import annotations

from sqlalchemy import select

from harness.errors import LedgerError
from harness.ledger import _codec, schema
from harness.ledger._core import LedgerCore
from harness.ledger.records import (
    CampaignRecord,
)


class CampaignTable(LedgerCore):
    """The campaigns table: start, finish and read campaigns (a part of :class:`harness.ledger.Ledger`)."""

    def start_campaign(self, campaign: CampaignRecord) -> None:
        """Record a campaign (status ``running``) before its runs are written.

        Starting a campaign id that already exists for the same flow resumes
        it (status back to ``running``): a rerun after a crash continues.
        """
        with self._write(f"starting campaign {campaign.id!r}") as conn:
            existing = conn.execute(
                select(schema.campaigns.c.flow).where(schema.campaigns.c.id == campaign.id)
            ).first()
            if existing is None:
                self._insert_many(conn, "campaigns", [_codec.campaign_row(campaign)])
            elif existing[0] != campaign.flow:
                raise LedgerError(
                    f"ledger {self.url}: campaign id {campaign.id!r} already belongs to flow "
                    f"{existing[0]!r}, not {campaign.flow!r}; use a new campaign id"
                )
            else:
                conn.execute(
                    schema.campaigns.update()
                    .where(schema.campaigns.c.id == campaign.id)
                    .values(status="running", wall_ended=None)
                )

    def finish_campaign(self, campaign_id: str, *, status: str, wall_ended: float) -> None:
        """Set a campaign's final ``status`` (completed | interrupted | failed)."""
        if status not in ("completed", "interrupted", "failed", "running"):
            raise LedgerError(
                f"campaign status {status!r} is not one of completed, interrupted, failed",
                usage=True,
            )
        with self._write(f"finishing campaign {campaign_id!r}") as conn:
            updated = conn.execute(
                schema.campaigns.update()
                .where(schema.campaigns.c.id == campaign_id)
                .values(status=status, wall_ended=wall_ended)
            ).rowcount
        if not updated:
            raise LedgerError(f"ledger {self.url}: no campaign with id {campaign_id!r}", usage=True)

    def campaign(self, campaign_id: str) -> CampaignRecord:
        """The campaign ``campaign_id``; LedgerError(usage=True) if there is none."""
        with self._read("reading a campaign") as conn:
            row = conn.execute(
                select(*[schema.campaigns.c[c] for c in _codec.CAMPAIGN_COLUMNS]).where(
                    schema.campaigns.c.id == campaign_id
                )
            ).first()
        if row is None:
            raise LedgerError(f"ledger {self.url}: no campaign with id {campaign_id!r}", usage=True)
        return _codec.campaign_from_row(row)

    def campaigns(self, *, flow: str | None = None) -> list[CampaignRecord]:
        """Every campaign (of ``flow``), oldest first."""
        stmt = select(*[schema.campaigns.c[c] for c in _codec.CAMPAIGN_COLUMNS])
        if flow is not None:
            stmt = stmt.where(schema.campaigns.c.flow == flow)
        stmt = stmt.order_by(schema.campaigns.c.wall_started, schema.campaigns.c.id)
        with self._read("reading campaigns") as conn:
            return [_codec.campaign_from_row(row) for row in conn.execute(stmt)]

