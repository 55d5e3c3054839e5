"""The write-ahead record of production runs: accepted before any call, never lost.

A delivery is **accepted** in one transaction: its event as delivered, its
dedupe claim and a ``run_queue`` row in state ``accepted``.  From there a run
is ``running`` under a **lease** (an owner and an expiry a heartbeat pushes
forward), ``waiting`` for its next attempt at a stored wall time, and finally
``succeeded``/``suppressed``/``manual``/``failed`` once its
:class:`~harness.ledger.records.RunRecord` is written to ``runs``, in the same
transaction that ends the queue row.

While a run is in progress its row carries the run's progress (its events,
the journal of completed calls, the writes in flight) as JSON, saved as the
run goes, so a worker that takes over an expired lease resumes the run where
the dead process left it.

Every change a worker makes to a row it is running is **fenced** by its lease:
a worker that lost its lease (another took the run over) gets
:class:`LeaseLost` and changes nothing.

A dedupe key held by a run still in the queue never swallows a redelivery:
the redelivery is recorded as its own row, ``attached_to`` the holder, and
counted in the holder's ``deliveries``.  A key whose holder is nowhere (no
queue row, no finished run: a process of a harness before version 3 of the
schema died holding it) is taken over by the new delivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, case, func, or_, select

from harness.errors import LedgerError
from harness.ledger import _codec, schema
from harness.ledger.records import END_STATES, InboxItem, RunRecord
from harness.ledger.store import Ledger

__all__ = [
    "ACTIVE_STATES",
    "QUEUE_STATES",
    "Acceptance",
    "LeaseLost",
    "QueuedRun",
    "RunQueue",
]

#: states of a run that is not finished
ACTIVE_STATES: tuple[str, ...] = ("accepted", "running", "waiting")
QUEUE_STATES: tuple[str, ...] = (*ACTIVE_STATES, *END_STATES)


class LeaseLost(LedgerError):
    """A worker tried to change a run whose lease another worker now holds."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Acceptance:
    """The outcome of :meth:`RunQueue.accept`.

    ``holder`` is ``None`` when this delivery holds its dedupe key (or has
    none); otherwise the run id holding it and that run's state
    (``holder_state``: a queue state, or ``finished`` for a run recorded before
    the queue existed).  ``took_over`` names a holder that was nowhere to be
    found, whose key this delivery now holds.
    """

    run_id: str
    holder: str | None = None
    holder_state: str | None = None
    took_over: str | None = None

    @property
    def attached(self) -> bool:
        """True when the key's holder is still in progress (this delivery is attached to it)."""
        return self.holder is not None and self.holder_state in ACTIVE_STATES


@dataclass(frozen=True, kw_only=True, slots=True)
class QueuedRun:
    """One ``run_queue`` row."""

    id: str
    flow: str
    state: str
    dedupe_key: str | None
    attached_to: str | None
    event: Any
    attempts: int
    deliveries: int
    next_wall: float
    lease_owner: str | None
    lease_expires: float | None
    recoveries: int
    progress: Mapping[str, Any] = field(default_factory=dict)
    wall_accepted: float = 0.0
    wall_updated: float = 0.0


_COLUMNS = (
    "id",
    "flow",
    "state",
    "dedupe_key",
    "attached_to",
    "event",
    "attempts",
    "deliveries",
    "next_wall",
    "lease_owner",
    "lease_expires",
    "recoveries",
    "progress",
    "wall_accepted",
    "wall_updated",
)


def _from_row(row: Sequence[Any]) -> QueuedRun:
    d = dict(zip(_COLUMNS, row, strict=True))
    d["event"] = _codec.loads(d["event"])
    d["progress"] = _codec.loads(d["progress"])
    return QueuedRun(**d)


class RunQueue:
    """The ``run_queue`` table of one :class:`~harness.ledger.Ledger`; thread-safe."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._q = schema.run_queue
        placeholder = "?" if ledger.backend == "sqlite" else "%s"
        quote = ledger.engine.dialect.identifier_preparer.quote

        def insert(table: str, columns: tuple[str, ...], tail: str = "") -> str:
            return (
                f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
                f"VALUES ({', '.join([placeholder] * len(columns))}){tail}"
            )

        self._claim_sql = insert(
            schema.dedupe_keys.name,
            ("flow", "key", "run_id", "claimed_wall", "expires_wall"),
            " ON CONFLICT DO NOTHING",
        )
        self._accept_sql = insert(schema.run_queue.name, _COLUMNS)

    # ------------------------------------------------------------------ accept
    def accept(
        self,
        *,
        run_id: str,
        flow: str,
        event: Mapping[str, Any],
        dedupe_key: str | None,
        wall_now: float,
        ttl: float | None,
        lease_owner: str | None = None,
        lease_for: float = 30.0,
    ) -> Acceptance:
        """Record one delivery durably (event, dedupe claim, row ``accepted``) in one transaction.

        ``lease_owner`` leases the new run at once (the caller runs it
        inline); without it the run waits for a worker.
        """
        q = self._q
        k = schema.dedupe_keys.c
        event_text = _codec.dumps(dict(event))
        ledger = self.ledger
        with ledger._write(f"accepting a delivery of flow {flow!r}") as conn:
            holder: str | None = None
            holder_state: str | None = None
            took_over: str | None = None
            if dedupe_key is not None:
                holder = self._claim(conn, flow, dedupe_key, run_id, wall_now, ttl)
                if holder is not None:
                    holder_state = conn.execute(
                        select(q.c.state).where(q.c.id == holder)
                    ).scalar()
                    if holder_state is None:
                        finished = conn.execute(
                            select(schema.runs.c.end_state).where(schema.runs.c.id == holder)
                        ).scalar()
                        if finished is None:
                            # the holder left no trace: its process died before the
                            # write-ahead queue existed; the key is this delivery's now
                            expires = None if ttl is None else wall_now + ttl
                            conn.execute(
                                schema.dedupe_keys.update()
                                .where(k.flow == flow, k.key == dedupe_key, k.run_id == holder)
                                .values(run_id=run_id, claimed_wall=wall_now, expires_wall=expires)
                            )
                            took_over, holder = holder, None
                        else:
                            holder_state = "finished"
                    elif holder_state in ACTIVE_STATES:
                        conn.execute(
                            q.update()
                            .where(q.c.id == holder)
                            .values(deliveries=q.c.deliveries + 1, wall_updated=wall_now)
                        )
            progress: dict[str, Any] = {}
            if took_over is not None:
                progress["took_over"] = took_over
            conn.exec_driver_sql(
                self._accept_sql,
                (
                    run_id,
                    flow,
                    "accepted",
                    dedupe_key,
                    holder,
                    event_text,
                    0,
                    1,
                    wall_now,
                    lease_owner,
                    wall_now + lease_for if lease_owner is not None else None,
                    0,
                    _codec.dumps(progress),
                    wall_now,
                    wall_now,
                ),
            )
        return Acceptance(run_id=run_id, holder=holder, holder_state=holder_state, took_over=took_over)

    def _claim(
        self,
        conn: Connection,
        flow: str,
        key: str,
        run_id: str,
        wall_now: float,
        ttl: float | None,
    ) -> str | None:
        k = schema.dedupe_keys.c
        expires = None if ttl is None else wall_now + ttl
        # ON CONFLICT DO NOTHING (SQLite and PostgreSQL): the primary key arbitrates without
        # an error that would abort a PostgreSQL transaction; a prepared statement because
        # building a Core statement per delivery cost more than the database's work
        inserted = conn.exec_driver_sql(self._claim_sql, (flow, key, run_id, wall_now, expires)).rowcount
        if inserted:
            return None
        taken = conn.execute(
            schema.dedupe_keys.update()
            .where(
                k.flow == flow,
                k.key == key,
                k.expires_wall.is_not(None),
                k.expires_wall < wall_now,
            )
            .values(run_id=run_id, claimed_wall=wall_now, expires_wall=expires)
        ).rowcount
        if taken:
            return None
        holder = conn.execute(select(k.run_id).where(k.flow == flow, k.key == key)).scalar()
        if holder is None:  # released between our INSERT and our read
            conn.exec_driver_sql(self._claim_sql, (flow, key, run_id, wall_now, expires))
            return None
        return None if holder == run_id else str(holder)

    # ------------------------------------------------------------------ leases
    def lease_due(
        self,
        *,
        owner: str,
        wall_now: float,
        lease_for: float,
        flows: Sequence[str] | None = None,
        limit: int = 1,
        older_than: float | None = None,
    ) -> list[QueuedRun]:
        """Lease up to ``limit`` runs that are due: accepted or waiting with ``next_wall`` passed
        and no live lease, or running with an expired lease (their process died).

        Each row is taken by one conditional UPDATE, so two workers never lease
        the same run.  A run taken over from an expired lease has its
        ``recoveries`` counted.  ``older_than`` (a wall time) leaves accepted and
        waiting runs whose ``next_wall`` is later than it to their dispatcher: the
        recovery sweep of an engine's workers takes only the runs whose message
        was lost.
        """
        q = self._q.c
        due = self._due(wall_now, older_than)
        stmt = select(q.id).where(due)
        if flows is not None:
            stmt = stmt.where(q.flow.in_(list(flows)))
        stmt = stmt.order_by(q.next_wall).limit(limit * 4)
        leased: list[QueuedRun] = []
        with self.ledger._read("looking for due runs") as conn:
            candidates = list(conn.execute(stmt).scalars())
        for run_id in candidates:
            if len(leased) >= limit:
                break
            row = self._take(str(run_id), due, owner=owner, wall_now=wall_now, lease_for=lease_for)
            if row is not None:
                leased.append(row)
        return leased

    def lease_run(self, run_id: str, *, owner: str, wall_now: float, lease_for: float) -> QueuedRun | None:
        """Lease the run ``run_id`` if it is due (as :meth:`lease_due` says); ``None`` when it
        is not: finished, leased by a live worker, or waiting for a later time."""
        return self._take(run_id, self._due(wall_now, None), owner=owner, wall_now=wall_now, lease_for=lease_for)

    def _due(self, wall_now: float, older_than: float | None) -> Any:
        q = self._q.c
        ready = wall_now if older_than is None else min(wall_now, older_than)
        return or_(
            (q.state.in_(("accepted", "waiting")))
            & (q.next_wall <= ready)
            & (q.lease_expires.is_(None) | (q.lease_expires < wall_now)),
            (q.state == "running") & (q.lease_expires < wall_now),
        )

    def _take(self, run_id: str, due: Any, *, owner: str, wall_now: float, lease_for: float) -> QueuedRun | None:
        q = self._q.c
        with self.ledger._write("leasing a run") as conn:
            # a clean park releases its lease: a lease still there was held by a process that
            # died (counted as a recovery)
            taken = conn.execute(
                self._q.update()
                .where(q.id == run_id, due)
                .values(
                    lease_owner=owner,
                    lease_expires=wall_now + lease_for,
                    recoveries=q.recoveries + case((q.lease_expires.is_not(None), 1), else_=0),
                    wall_updated=wall_now,
                )
            ).rowcount
            if not taken:
                return None
            row = conn.execute(select(*[self._q.c[c] for c in _COLUMNS]).where(q.id == run_id)).one()
        return _from_row(row)

    def heartbeat(self, *, owner: str, run_ids: Sequence[str], wall_now: float, lease_for: float) -> list[str]:
        """Push the leases ``owner`` holds on ``run_ids`` forward; the ids it no longer holds."""
        if not run_ids:
            return []
        q = self._q.c
        with self.ledger._write("renewing leases") as conn:
            conn.execute(
                self._q.update()
                .where(q.id.in_(list(run_ids)), q.lease_owner == owner, q.state.in_(ACTIVE_STATES))
                .values(lease_expires=wall_now + lease_for)
            )
            held = set(
                conn.execute(
                    select(q.id).where(q.id.in_(list(run_ids)), q.lease_owner == owner)
                ).scalars()
            )
        return [r for r in run_ids if r not in held]

    def save(
        self,
        run_id: str,
        *,
        owner: str,
        wall_now: float,
        state: str | None = None,
        attempts: int | None = None,
        next_wall: float | None = None,
        progress: Mapping[str, Any] | None = None,
        release: bool = False,
    ) -> None:
        """Save a running run's progress under ``owner``'s lease; :class:`LeaseLost` if gone.

        ``release`` gives the lease up (a run parked until ``next_wall``).
        """
        if state is not None and state not in ACTIVE_STATES:
            raise LedgerError(f"run {run_id!r}: save() cannot end a run (state {state!r}); use finish()")
        q = self._q.c
        values: dict[str, Any] = {"wall_updated": wall_now}
        if state is not None:
            values["state"] = state
        if attempts is not None:
            values["attempts"] = attempts
        if next_wall is not None:
            values["next_wall"] = next_wall
        if progress is not None:
            values["progress"] = _codec.dumps(dict(progress))
        if release:
            values["lease_owner"] = None
            values["lease_expires"] = None
        with self.ledger._write(f"saving run {run_id!r}") as conn:
            updated = conn.execute(
                self._q.update()
                .where(q.id == run_id, q.lease_owner == owner, q.state.in_(ACTIVE_STATES))
                .values(**values)
            ).rowcount
        if not updated:
            raise LeaseLost(f"ledger {self.ledger.url}: run {run_id!r} is no longer leased to {owner!r}")

    def finish(
        self,
        run: RunRecord,
        *,
        owner: str | None,
        wall_now: float,
        inbox: InboxItem | None = None,
    ) -> None:
        """Write ``run`` (with its events and inbox item) and end its queue row, in one transaction.

        ``owner`` must hold the run's lease (``None``: the row must be
        unleased, as for a suppressed duplicate ended by its acceptor).
        """
        if run.end_state not in END_STATES:
            raise LedgerError(f"run {run.id!r}: end_state {run.end_state!r} is not one of {', '.join(END_STATES)}")
        q = self._q.c
        ledger = self.ledger
        with ledger._write(f"finishing run {run.id!r}") as conn:
            lease = q.lease_owner.is_(None) if owner is None else q.lease_owner == owner
            updated = conn.execute(
                self._q.update()
                .where(q.id == run.id, lease, q.state.in_(ACTIVE_STATES))
                .values(
                    state=run.end_state,
                    attempts=run.attempts,
                    lease_owner=None,
                    lease_expires=None,
                    progress="{}",
                    wall_updated=wall_now,
                )
            ).rowcount
            if not updated:
                raise LeaseLost(
                    f"ledger {ledger.url}: run {run.id!r} is no longer leased to {owner!r}; "
                    "its end was not recorded (another worker owns it)"
                )
            ledger._insert_many(conn, "runs", [_codec.run_row(run)])
            ledger._insert_many(conn, "events", [_codec.event_row(run.id, e) for e in run.events])
            if inbox is not None:
                ledger._insert_many(conn, "inbox_items", [_codec.inbox_row(inbox)])

    # ------------------------------------------------------------------ reads
    def get(self, run_id: str) -> QueuedRun:
        """One queue row; LedgerError(usage=True) if there is none."""
        with self.ledger._read("reading a queued run") as conn:
            row = conn.execute(
                select(*[self._q.c[c] for c in _COLUMNS]).where(self._q.c.id == run_id)
            ).first()
        if row is None:
            raise LedgerError(f"ledger {self.ledger.url}: no accepted delivery with run id {run_id!r}", usage=True)
        return _from_row(row)

    def runs(self, *, flow: str | None = None, states: Sequence[str] | None = None) -> list[QueuedRun]:
        """Queue rows (of ``flow``, in ``states``), oldest first."""
        q = self._q.c
        stmt = select(*[self._q.c[c] for c in _COLUMNS])
        if flow is not None:
            stmt = stmt.where(q.flow == flow)
        if states is not None:
            stmt = stmt.where(q.state.in_(list(states)))
        stmt = stmt.order_by(q.wall_accepted, q.id)
        with self.ledger._read("reading the run queue") as conn:
            return [_from_row(row) for row in conn.execute(stmt)]

    def counts(self) -> dict[str, int]:
        """Number of queue rows per state."""
        q = self._q.c
        with self.ledger._read("counting the run queue") as conn:
            return {str(s): int(n) for s, n in conn.execute(select(q.state, func.count()).group_by(q.state))}

    def census(self) -> dict[tuple[str, str], int]:
        """Queue rows per ``(flow, state)``, and open inbox items per ``(flow, "inbox_open")``."""
        q = self._q.c
        i = schema.inbox_items.c
        with self.ledger._read("counting the run queue") as conn:
            found = {
                (str(f), str(s)): int(n)
                for f, s, n in conn.execute(select(q.flow, q.state, func.count()).group_by(q.flow, q.state))
            }
            for f, n in conn.execute(
                select(i.flow, func.count()).where(i.status == "open").group_by(i.flow)
            ):
                found[(str(f), "inbox_open")] = int(n)
        return found

    def next_due(self, *, flows: Sequence[str] | None = None) -> float | None:
        """The earliest ``next_wall`` (or lease expiry of a running run) among unfinished runs."""
        q = self._q.c
        stmt_w = select(func.min(q.next_wall)).where(q.state.in_(("accepted", "waiting")))
        stmt_r = select(func.min(q.lease_expires)).where(q.state.in_(ACTIVE_STATES), q.lease_expires.is_not(None))
        if flows is not None:
            stmt_w = stmt_w.where(q.flow.in_(list(flows)))
            stmt_r = stmt_r.where(q.flow.in_(list(flows)))
        with self.ledger._read("reading the run queue") as conn:
            values = [conn.execute(stmt_w).scalar(), conn.execute(stmt_r).scalar()]
        found = [float(v) for v in values if v is not None]
        return min(found) if found else None
