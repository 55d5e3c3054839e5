"""The findings and flow changes tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from harness.errors import LedgerError
from harness.ledger import _codec, schema
from harness.ledger._core import LedgerCore
from harness.ledger.records import (
    FindingRecord,
    FlowChange,
)


class FindingTable(LedgerCore):
    """The findings and flow changes tables (a part of :class:`harness.ledger.Ledger`)."""

    def write_findings(self, findings: Sequence[FindingRecord]) -> None:
        """Write findings in one transaction."""
        if not findings:
            return
        rows = [_codec.finding_row(f) for f in findings]
        with self._write(f"writing {len(rows)} findings") as conn:
            ids = {f.campaign_id for f in findings if f.campaign_id is not None}
            if ids:
                missing = self._missing_campaigns(conn, ids)
                if missing:
                    raise LedgerError(
                        f"ledger {self.url}: findings name campaign(s) "
                        f"{', '.join(map(repr, missing))} that were never started"
                    )
            self._insert_many(conn, "findings", rows)

    def findings(
        self, *, flow: str | None = None, campaign_id: str | None = None
    ) -> list[FindingRecord]:
        """Findings (of ``flow``, of ``campaign_id``), oldest first."""
        f = schema.findings.c
        stmt = select(*[f[c] for c in _codec.FINDING_COLUMNS])
        if flow is not None:
            stmt = stmt.where(f.flow == flow)
        if campaign_id is not None:
            stmt = stmt.where(f.campaign_id == campaign_id)
        stmt = stmt.order_by(f.wall_created, f.id)
        with self._read("reading findings") as conn:
            return [_codec.finding_from_row(row) for row in conn.execute(stmt)]

    def record_change(self, change: FlowChange) -> None:
        """Record a change to a flow (contract, rule, code, config)."""
        self.record_changes([change])

    def record_changes(self, changes: Sequence[FlowChange]) -> None:
        """Record several flow changes in one transaction."""
        if changes:
            with self._write("recording flow changes") as conn:
                self._insert_many(conn, "flow_changes", [_codec.change_row(c) for c in changes])

    def changes(
        self, *, flow: str | None = None, since: float | None = None, until: float | None = None
    ) -> list[FlowChange]:
        """Flow changes (of ``flow``, with ``since <= wall_at < until``), oldest first."""
        c = schema.flow_changes.c
        stmt = select(c.flow, c.wall_at, c.kind, c.description, c.by)
        if flow is not None:
            stmt = stmt.where(c.flow == flow)
        if since is not None:
            stmt = stmt.where(c.wall_at >= since)
        if until is not None:
            stmt = stmt.where(c.wall_at < until)
        stmt = stmt.order_by(c.wall_at, c.id)
        with self._read("reading flow changes") as conn:
            return [
                FlowChange(flow=r[0], wall_at=r[1], kind=r[2], description=r[3], by=r[4])
                for r in conn.execute(stmt)
            ]

