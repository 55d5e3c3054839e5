"""Inbox retries interrupted at any moment: the item stays actionable.

``harness inbox retry`` claims the item (status ``retried``) before it runs the
flow again, so two people cannot retry it at once, and the new run is written
when it ends.  A process killed in between (SIGKILL, a power cut) would leave
the item ``retried`` with no run: neither ``retry`` nor ``resolve`` would take it
and the work would be stranded.  So the claim records who holds it (host, pid,
wall time, in the ``inbox_action`` event), and a ``retried`` item whose retry
wrote no run is *stranded*, hence actionable again, when its holder is gone: a
process on this host that no longer runs, or a claim older than
:data:`RETRY_LEASE` seconds from another host, which this one cannot inspect.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

from sqlalchemy import Connection, select

from harness.ledger import _codec, schema
from harness.ledger.records import InboxItem

__all__ = ["RETRY_LEASE", "claim_detail", "retry_holder", "stranded"]

#: seconds after which a retry claimed on another host and never finished is stranded
RETRY_LEASE = 3600.0


def claim_detail(wall_now: float) -> dict[str, Any]:
    """What a retry claim records about its holder."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "claimed_wall": wall_now}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a killed child its parent has not reaped yet is a zombie: dead for our purpose
    with (
        contextlib.suppress(OSError, IndexError),
        open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh,
    ):
        return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def retry_holder(conn: Connection, item: InboxItem) -> dict[str, Any] | None:
    """The detail of the retry claim on ``item`` (its last ``retry`` action), if any."""
    e = schema.events.c
    rows = conn.execute(
        select(e.detail)
        .where(e.run_id == item.run_id, e.kind == "inbox_action")
        .order_by(e.seq.desc())
    ).all()
    for (detail,) in rows:
        d = _codec.loads(detail)
        if isinstance(d, dict) and d.get("item_id") == item.id and d.get("action") == "retry":
            return d
    return None


def _retry_ran(conn: Connection, item: InboxItem) -> bool:
    """Whether a run of the retry of ``item`` is in the ledger (its delivery event names the item)."""
    e = schema.events.c
    needle = f'%"inbox_item": {_codec.dumps([item.id])[1:-1]}%'
    return (
        conn.execute(
            select(e.run_id).where(e.kind == "delivery", e.run_id != item.run_id, e.detail.like(needle)).limit(1)
        ).first()
        is not None
    )


def stranded(conn: Connection, item: InboxItem, *, wall_now: float) -> bool:
    """Whether ``item`` is ``retried`` by a retry that died before writing its run."""
    if item.status != "retried" or _retry_ran(conn, item):
        return False
    holder = retry_holder(conn, item)
    if holder is None or "pid" not in holder:
        return True  # claimed by a version that recorded no holder, and no run came of it
    if holder.get("host") == socket.gethostname():
        return not _alive(int(holder["pid"]))
    return wall_now - float(holder.get("claimed_wall") or 0.0) > RETRY_LEASE
