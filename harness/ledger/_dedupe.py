"""The dedupe keys table: claim a delivery's key once, across threads, processes and machines."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from harness.errors import LedgerError
from harness.ledger import _codec, schema
from harness.ledger._core import LedgerCore

_DEDUPE_KEY_LENGTH: int | None = getattr(schema.dedupe_keys.c.key.type, "length", None)


class DedupeTable(LedgerCore):
    """The dedupe keys table: claim a delivery's key once, across threads, processes and machines (a part of :class:`harness.ledger.Ledger`)."""

    def claim_dedupe(
        self, flow: str, key: str, run_id: str, *, wall_now: float, ttl: float | None
    ) -> str | None:
        """Claim ``key`` for ``run_id``; return ``None`` if claimed, else the run id holding it.

        The primary key ``(flow, key)`` arbitrates between threads, processes
        and machines: the first INSERT wins.  A claim whose ``expires_wall`` is
        before ``wall_now`` is taken over by one conditional UPDATE, so two
        contenders cannot both take it.  ``ttl=None`` claims forever.  A run
        claiming a key it already holds gets ``None``.
        """
        expires = None if ttl is None else wall_now + ttl
        k = schema.dedupe_keys.c
        key = _codec.storable(key, _DEDUPE_KEY_LENGTH)
        # The loop only repeats when the holder released the key between our
        # failed INSERT and our read; a handful of rounds is plenty.
        for _ in range(20):
            try:
                with self._write("claiming a dedupe key", reraise=(IntegrityError,)) as conn:
                    # the prepared INSERT (no statement built and compiled per claim, which
                    # cost a fifth of the claim); the primary key still arbitrates
                    conn.exec_driver_sql(
                        self._insert_sql["dedupe_keys"], (flow, key, run_id, wall_now, expires)
                    )
                return None
            except IntegrityError:
                pass
            with self._write("claiming a dedupe key") as conn:
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
                holder = conn.execute(
                    select(k.run_id).where(k.flow == flow, k.key == key)
                ).scalar()
            if holder is not None:
                return None if holder == run_id else str(holder)
        raise LedgerError(f"ledger {self.url}: dedupe key {key!r} of flow {flow!r} kept changing hands")

    def release_dedupe(self, flow: str, key: str, run_id: str) -> None:
        """Release ``key`` if ``run_id`` holds it (so a failed run can be retried)."""
        k = schema.dedupe_keys.c
        key = _codec.storable(key, _DEDUPE_KEY_LENGTH)
        with self._write("releasing a dedupe key") as conn:
            conn.execute(
                schema.dedupe_keys.delete().where(
                    k.flow == flow, k.key == key, k.run_id == run_id
                )
            )

