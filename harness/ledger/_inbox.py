"""The inbox table: items a person must finish, and what they did with them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, select

from harness.errors import LedgerError
from harness.ledger import _codec, _stranded, schema
from harness.ledger._core import INBOX_ACTIONS, LedgerCore
from harness.ledger.records import (
    EventRecord,
    InboxItem,
)


class InboxTable(LedgerCore):
    """The inbox table: items a person must finish, and what they did with them (a part of :class:`harness.ledger.Ledger`)."""

    def add_inbox_item(self, item: InboxItem) -> None:
        """Add an item for a run already written (or use ``write_runs(inbox=...)``)."""
        with self._write(f"adding inbox item {item.id!r}") as conn:
            exists = conn.execute(
                select(schema.runs.c.id).where(schema.runs.c.id == item.run_id)
            ).first()
            if exists is None:
                raise LedgerError(
                    f"ledger {self.url}: inbox item {item.id!r} names run {item.run_id!r}, "
                    "which is not in the ledger: write the run first"
                )
            self._insert_many(conn, "inbox_items", [_codec.inbox_row(item)])

    def _select_inbox(self) -> Any:
        return select(*[schema.inbox_items.c[c] for c in _codec.INBOX_COLUMNS])

    def inbox(
        self, *, flow: str | None = None, status: str | None = "open", campaigns: bool = False
    ) -> list[InboxItem]:
        """Inbox items (of ``flow``, with ``status``; ``None`` for all), oldest first.

        Items of campaign runs (``harness check``, the pytest plugin) are tests,
        not work for a person: they are left out unless ``campaigns`` is true.
        """
        i = schema.inbox_items.c
        stmt = self._select_inbox()
        if flow is not None:
            stmt = stmt.where(i.flow == flow)
        if status is not None:
            stmt = stmt.where(i.status == status)
        if not campaigns:
            stmt = stmt.where(~self._campaign_run(i.run_id))
        stmt = stmt.order_by(i.wall_created, i.id)
        with self._read("reading the inbox") as conn:
            return [_codec.inbox_from_row(row) for row in conn.execute(stmt)]

    @staticmethod
    def _campaign_run(run_id: Any) -> Any:
        # a synthetic history (`harness simulate`) stands in for production: its items stay
        r, c = schema.runs.c, schema.campaigns.c
        return exists().where(r.id == run_id, c.id == r.campaign_id, c.synthetic.is_(False))

    def inbox_campaigns(self, run_ids: Sequence[str]) -> dict[str, str]:
        """Run id -> campaign id, for those of ``run_ids`` made by a (not synthetic) campaign."""
        if not run_ids:
            return {}
        r = schema.runs.c
        out: dict[str, str] = {}
        with self._read("reading the inbox's campaigns") as conn:
            for start in range(0, len(run_ids), 500):
                chunk = list(run_ids[start : start + 500])
                c = schema.campaigns.c
                stmt = select(r.id, r.campaign_id).where(
                    r.id.in_(chunk), c.id == r.campaign_id, c.synthetic.is_(False)
                )
                out.update({str(a): str(b) for a, b in conn.execute(stmt)})
        return out

    def hidden_campaign_items(self, *, flow: str | None = None, status: str | None = "open") -> int:
        """How many inbox items :meth:`inbox` leaves out by default (campaign runs' items)."""
        i = schema.inbox_items.c
        stmt = select(func.count()).select_from(schema.inbox_items).where(self._campaign_run(i.run_id))
        if flow is not None:
            stmt = stmt.where(i.flow == flow)
        if status is not None:
            stmt = stmt.where(i.status == status)
        with self._read("counting the inbox's campaign items") as conn:
            return int(conn.execute(stmt).scalar_one())

    def inbox_item(self, item_id: str) -> InboxItem:
        """One inbox item; LedgerError(usage=True) if there is none."""
        with self._read("reading an inbox item") as conn:
            row = conn.execute(
                self._select_inbox().where(schema.inbox_items.c.id == item_id)
            ).first()
        if row is None:
            raise LedgerError(f"ledger {self.url}: no inbox item with id {item_id!r}", usage=True)
        return _codec.inbox_from_row(row)

    def inbox_item_actionable(self, item: InboxItem) -> bool:
        """Whether ``item`` can be retried, resolved or discarded: open, or its retry died."""
        if item.status == "open":
            return True
        with self._read("reading an inbox item") as conn:
            return _stranded.stranded(conn, item, wall_now=time.time())

    def act_on_inbox_item(
        self, item_id: str, *, action: str, by: str, note: str, at: float, wall_at: float
    ) -> InboxItem:
        """action: resolve | discard | retry; appends an ``inbox_action`` event to the run.

        Only an ``open`` item can be acted on (LedgerError(usage=True)
        otherwise, naming who closed it); the item's status becomes
        ``resolved``/``discarded``/``retried``, ``resolution`` the action,
        ``resolved_at``/``resolved_by`` the time and person.  Returns the item
        as stored.
        """
        if action not in INBOX_ACTIONS:
            raise LedgerError(
                f"inbox action {action!r} is not one of {', '.join(INBOX_ACTIONS)}", usage=True
            )
        if not by.strip():
            raise LedgerError(
                f"inbox item {item_id!r}: say who acts (by=''): every resolution names a person",
                usage=True,
            )
        i = schema.inbox_items.c
        with self._write(f"acting on inbox item {item_id!r}") as conn:
            row = conn.execute(self._select_inbox().where(i.id == item_id)).first()
            if row is None:
                raise LedgerError(
                    f"ledger {self.url}: no inbox item with id {item_id!r}", usage=True
                )
            item = _codec.inbox_from_row(row)
            # a retry killed before it wrote its run leaves the item actionable
            was = "retried" if _stranded.stranded(conn, item, wall_now=wall_at) else "open"
            if item.status != was:
                raise LedgerError(
                    f"inbox item {item_id!r} is already {item.status} "
                    f"(by {item.resolved_by or 'unknown'}); only open items can be acted on",
                    usage=True,
                )
            updated = conn.execute(
                schema.inbox_items.update()
                .where(i.id == item_id, i.status == was)
                .values(
                    status=INBOX_ACTIONS[action],
                    resolved_at=at,
                    resolved_by=by,
                    resolution=action,
                    note=note,
                )
            ).rowcount
            if updated != 1:
                # PostgreSQL, READ COMMITTED: another person acted between our
                # read and our update; the guard on status kept theirs
                raise LedgerError(
                    f"inbox item {item_id!r} was acted on by someone else just now; "
                    "look at it again (harness inbox show)",
                    usage=True,
                )
            last_seq = conn.execute(
                select(func.max(schema.events.c.seq)).where(schema.events.c.run_id == item.run_id)
            ).scalar()
            event = EventRecord(
                seq=(last_seq or 0) + 1,
                kind="inbox_action",
                at=at,
                wall_at=wall_at,
                error_class=item.error_class,
                outcome=INBOX_ACTIONS[action],
                detail={
                    "action": action, "by": by, "note": note, "item_id": item_id,
                    **(_stranded.claim_detail(wall_at) if action == "retry" else {}),
                    **({"after_interrupted_retry": True} if was == "retried" else {}),
                },
            )
            self._insert_many(conn, "events", [_codec.event_row(item.run_id, event)])
            row = conn.execute(self._select_inbox().where(i.id == item_id)).first()
        assert row is not None  # just updated in this transaction
        return _codec.inbox_from_row(row)

