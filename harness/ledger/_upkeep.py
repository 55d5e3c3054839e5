"""Looking after the ledger as a whole: its size and counts, pruning, CSV export."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, text

from harness._shared.redact import redact_text
from harness.errors import LedgerError
from harness.ledger import migrations, schema
from harness.ledger._core import LedgerCore
from harness.ledger.records import (
    LedgerInfo,
)

#: first characters that make a spreadsheet evaluate a cell (OWASP "CSV injection")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A cell as exported: text redacted, and defused when a spreadsheet would run it."""
    if not isinstance(value, str):
        return value
    value = redact_text(value)
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


class Upkeep(LedgerCore):
    """Looking after the ledger as a whole: its size and counts, pruning, CSV export (a part of :class:`harness.ledger.Ledger`)."""

    def _size_bytes(self, conn: Connection) -> int | None:
        if self.backend == "postgresql":
            value = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            return int(value) if value is not None else None
        if self._memory:
            return None
        database = self.engine.url.database or ""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            path = Path(database + suffix)
            if path.exists():
                total += path.stat().st_size
        return total

    def info(self) -> LedgerInfo:
        """Size, counts, date range of runs and schema version."""
        r = schema.runs.c
        with self._read("reading ledger info") as conn:
            version = migrations.read_version(conn) or schema.SCHEMA_VERSION
            runs, first, last = conn.execute(
                select(func.count(), func.min(r.wall_started), func.max(r.wall_ended))
            ).one()

            def count(table: Any, *where: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)

            return LedgerInfo(
                url=self.url,
                schema_version=version,
                size_bytes=self._size_bytes(conn),
                runs=int(runs or 0),
                events=count(schema.events),
                campaigns=count(schema.campaigns),
                findings=count(schema.findings),
                inbox_open=count(schema.inbox_items, schema.inbox_items.c.status == "open"),
                first_wall=first,
                last_wall=last,
                flows=tuple(conn.execute(select(r.flow).distinct().order_by(r.flow)).scalars()),
            )

    def prune(self, *, older_than: float, wall_now: float) -> int:
        """Delete everything older than ``older_than`` seconds before ``wall_now``.

        Removes runs started before the cutoff with their events and inbox
        items, findings, flow changes and dedupe claims made before it, and
        campaigns that ended before it and have nothing left.  One transaction.
        Returns the number of runs deleted.
        """
        if older_than < 0:
            raise LedgerError(f"prune: older_than must be >= 0 seconds: {older_than}", usage=True)
        cutoff = wall_now - older_than
        r, c = schema.runs.c, schema.campaigns.c
        old_runs = select(r.id).where(r.wall_started < cutoff)
        with self._write("pruning") as conn:
            conn.execute(schema.events.delete().where(schema.events.c.run_id.in_(old_runs)))
            conn.execute(
                schema.inbox_items.delete().where(schema.inbox_items.c.run_id.in_(old_runs))
            )
            deleted = conn.execute(schema.runs.delete().where(r.wall_started < cutoff)).rowcount
            conn.execute(schema.findings.delete().where(schema.findings.c.wall_created < cutoff))
            conn.execute(
                schema.flow_changes.delete().where(schema.flow_changes.c.wall_at < cutoff)
            )
            conn.execute(
                schema.dedupe_keys.delete().where(schema.dedupe_keys.c.claimed_wall < cutoff)
            )
            conn.execute(
                schema.campaigns.delete().where(
                    func.coalesce(c.wall_ended, c.wall_started) < cutoff,
                    ~select(r.id).where(r.campaign_id == c.id).exists(),
                    ~select(schema.findings.c.id)
                    .where(schema.findings.c.campaign_id == c.id)
                    .exists(),
                )
            )
        return int(deleted or 0)

    def export_csv(self, directory: Path) -> list[Path]:
        """Write one ``<table>.csv`` per table (header row first) into ``directory``.

        Rows are streamed, so the export of a large ledger needs little memory.
        Every text cell is redacted (the rules of :mod:`harness._shared.redact`) and
        defused: a cell a spreadsheet would run as a formula (``=``, ``+``,
        ``-``, ``@``, tab, carriage return first) gets a leading ``'``.  Each
        file is written beside its name and renamed when whole; a failure
        leaves no partial file.  Returns the files written, in dependency order.
        """
        directory = Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"cannot create export directory {str(directory)!r}: {exc.strerror}", usage=True
            ) from None
        written: list[Path] = []
        with self._read("exporting") as conn:
            for table in schema.metadata.sorted_tables:
                path = directory / f"{table.name}.csv"
                partial = directory / f".{table.name}.csv.partial"
                order = list(table.primary_key.columns)
                result = conn.execution_options(yield_per=10000).execute(
                    select(table).order_by(*order)
                )
                try:
                    with partial.open("w", newline="", encoding="utf-8") as fh:
                        writer = csv.writer(fh)
                        writer.writerow([column.name for column in table.columns])
                        for part in result.partitions():
                            writer.writerows([_csv_cell(v) for v in row] for row in part)
                    partial.replace(path)
                except OSError as exc:
                    partial.unlink(missing_ok=True)
                    raise LedgerError(
                        f"cannot write {str(path)!r}: {exc.strerror or exc}", usage=False
                    ) from None
                except BaseException:
                    partial.unlink(missing_ok=True)
                    raise
                written.append(path)
        return written

