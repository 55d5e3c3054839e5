"""Schema versions and the steps that upgrade an older ledger in place.

The version lives in ``harness_meta`` under ``schema_version``.  Opening a
ledger runs :func:`prepare` in one write transaction (SQLite: ``BEGIN
IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock), so several
processes opening the same new or old ledger at once create or upgrade it
exactly once; DDL is transactional on both backends, so a failed upgrade
leaves the old version intact.

History:

* **1**: the first release: no ``runs.duplicate_effects`` (escaped duplicate
  effects were not measured) and no ``flow_changes`` table.
* **2**: adds ``runs.duplicate_effects`` (NULL for old runs: no ground truth)
  and ``flow_changes``; adds the ``ix_runs_wall`` index for window reads.
* **3**: adds ``run_queue``, the write-ahead record of production runs
  (accepted, running under a lease, waiting for their next attempt); older
  runs were written only when they finished, so nothing needs converting.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, select, text

from harness.ledger import schema

__all__ = ["MIGRATIONS", "prepare", "read_version"]

#: an arbitrary constant naming the harness's schema lock in pg_advisory_xact_lock
_PG_LOCK_ID = 0x6861726E  # "harn"


def _v1_to_v2(conn: Connection) -> None:
    columns = {c["name"] for c in inspect(conn).get_columns("runs")}
    if "duplicate_effects" not in columns:
        conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN duplicate_effects INTEGER")
    schema.flow_changes.create(conn, checkfirst=True)


def _v2_to_v3(conn: Connection) -> None:
    schema.run_queue.create(conn, checkfirst=True)


#: ``MIGRATIONS[v]`` upgrades a ledger from version ``v`` to ``v + 1``
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}


def read_version(conn: Connection) -> int | None:
    """The schema version stored in the ledger, ``None`` for an empty database."""
    tables = set(inspect(conn).get_table_names())
    if schema.meta.name not in tables:
        known = tables & set(schema.metadata.tables)
        if not tables:
            return None
        if known:
            raise ValueError(
                f"has ledger tables ({', '.join(sorted(known))}) but no {schema.meta.name} table"
            )
        raise ValueError(
            f"is not a harness ledger (it has other tables: {', '.join(sorted(tables)[:5])})"
        )
    value = conn.execute(
        select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
    ).scalar()
    if value is None:
        raise ValueError(f"has no schema_version row in {schema.meta.name}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"has a schema_version that is not a number: {value!r}") from None


def _write_version(conn: Connection, version: int) -> None:
    updated = conn.execute(
        schema.meta.update()
        .where(schema.meta.c.key == "schema_version")
        .values(value=str(version))
    ).rowcount
    if not updated:
        conn.execute(schema.meta.insert().values(key="schema_version", value=str(version)))


def _ensure_indexes(conn: Connection) -> None:
    for table in schema.metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def prepare(conn: Connection) -> tuple[int | None, int]:
    """Create or upgrade the schema inside the caller's write transaction.

    Returns ``(version found, version now)``; ``version found`` is ``None`` for
    a new ledger.  Raises :class:`ValueError` with a description (completed by
    the caller with the URL) when the database is not a ledger or is newer than
    :data:`~harness.ledger.schema.SCHEMA_VERSION`.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
    found = read_version(conn)
    if found is None:
        schema.metadata.create_all(conn)
        _write_version(conn, schema.SCHEMA_VERSION)
        return None, schema.SCHEMA_VERSION
    if found > schema.SCHEMA_VERSION:
        raise ValueError(
            f"has schema version {found}, newer than this harness understands "
            f"({schema.SCHEMA_VERSION}): upgrade harness (pip install -U harness) "
            "or point --ledger at another database"
        )
    if found < 1:
        raise ValueError(f"has an invalid schema version {found}")
    version = found
    while version < schema.SCHEMA_VERSION:
        MIGRATIONS[version](conn)
        version += 1
    if found != version:
        _write_version(conn, version)
        _ensure_indexes(conn)
    return found, version
