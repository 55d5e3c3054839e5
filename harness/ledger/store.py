"""The ledger store: open by URL, write runs whole, read for the report.

INTERFACE CONTRACT (other rooms code against these signatures; keep them).

:class:`Ledger` is one class made of one part per table (``_campaigns``,
``_runs``, ``_dedupe``, ``_inbox``, ``_findings``) over the shared plumbing of
``_core`` (engine, locks, transactions), plus ``_upkeep`` (info, prune,
export).  See ``_core`` for how writes are made safe between threads,
processes and machines.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import LedgerError
from harness.ledger import migrations, schema
from harness.ledger._campaigns import CampaignTable
from harness.ledger._core import INBOX_ACTIONS, MODES
from harness.ledger._dedupe import DedupeTable
from harness.ledger._engine import (
    DEFAULT_URL,
    hide_password,
    is_memory,
    make_engine,
    parse_url,
    resolve_url,
)
from harness.ledger._findings import FindingTable
from harness.ledger._inbox import InboxTable
from harness.ledger._runs import RunTable
from harness.ledger._upkeep import Upkeep

__all__ = ["DEFAULT_URL", "INBOX_ACTIONS", "MODES", "Ledger", "resolve_url"]


class Ledger(CampaignTable, RunTable, DedupeTable, InboxTable, FindingTable, Upkeep):
    """One ledger database (SQLite file or PostgreSQL), safe to share between threads.

    Open it with :meth:`open`; close it (or use it as a context manager) to
    release its connections.  ``engine`` is the SQLAlchemy engine: only code
    inside ``harness.ledger`` may use it (the report's SQL aggregates).
    """

    @classmethod
    def open(cls, url: str | None = None, *, create: bool = True) -> Ledger:
        """Open (creating or migrating) the ledger at ``url``; LedgerError(usage=True) if bad.

        ``url`` defaults to ``$HARNESS_LEDGER_URL``, then
        :data:`DEFAULT_URL`.  A new database gets the current schema; an older
        ledger is upgraded in place (``create=False``: a missing SQLite file
        is an error instead of a new ledger); a newer one, a database that is not a
        ledger, a wrong URL or an unreachable server raise one
        :class:`~harness.errors.LedgerError` naming the URL (password hidden)
        with ``exit_code`` 2.
        """
        parsed = parse_url(resolve_url(url))
        if not create and parsed.get_backend_name() == "sqlite" and not is_memory(parsed):
            path = Path(parsed.database or "")
            if not path.exists():
                raise LedgerError(
                    f"ledger {hide_password(parsed)}: no ledger file at {str(path)!r} "
                    "(nothing has been recorded there yet); pass --ledger URL or set "
                    "$HARNESS_LEDGER_URL to the ledger you mean",
                    usage=True,
                )
        engine = make_engine(parsed)
        ledger = cls(engine, hide_password(parsed), memory=is_memory(parsed))
        try:
            # Most opens find a current ledger: check under a read snapshot so
            # that many processes opening at once do not queue for the write
            # lock; create or upgrade under the write lock (prepare re-reads).
            with ledger._read("opening", usage=True) as conn:
                found = migrations.read_version(conn)
            if found != schema.SCHEMA_VERSION:
                with ledger._write("opening", usage=True) as conn:
                    migrations.prepare(conn)
        except ValueError as exc:
            engine.dispose()
            raise LedgerError(f"ledger {ledger.url} {exc}", usage=True) from None
        except BaseException:
            engine.dispose()
            raise
        return ledger
