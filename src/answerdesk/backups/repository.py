"""SQL a backup reads: tables and their row counts, the schema revision, the originals' storage keys.

Written against a plain (sync) Connection so the same queries read a SQLite copy, the PostgreSQL
snapshot a dump is taken from, and a restored database. Tables are named rather than imported from
other domains' models: a backup reads the database as it is, whatever the revision.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

ALEMBIC_TABLE = "alembic_version"
_document = sa.table("document", sa.column("storage_key", sa.String))
_organization = sa.table("organization", sa.column("id", sa.Uuid), sa.column("slug", sa.String))


def table_names(conn: Connection) -> list[str]:
    """The application's tables (Alembic's own excluded), sorted."""
    return sorted(n for n in sa.inspect(conn).get_table_names() if n != ALEMBIC_TABLE)


def table_counts(conn: Connection) -> dict[str, int]:
    counts = {}
    for name in table_names(conn):
        counts[name] = int(conn.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) or 0)
    return counts


def alembic_revision(conn: Connection) -> str | None:
    if ALEMBIC_TABLE not in sa.inspect(conn).get_table_names():
        return None
    return conn.scalar(sa.select(sa.column("version_num")).select_from(sa.table(ALEMBIC_TABLE)))


def original_keys(conn: Connection) -> list[str]:
    stmt = sa.select(_document.c.storage_key).where(_document.c.storage_key.is_not(None))
    return sorted({str(k) for k in conn.scalars(stmt)})


def organization_count(conn: Connection) -> int:
    """Organizations in the database; 0 when it has no schema yet."""
    if "organization" not in sa.inspect(conn).get_table_names():
        return 0
    return int(conn.scalar(sa.select(sa.func.count()).select_from(_organization)) or 0)


def organization_ids(conn: Connection) -> list[uuid.UUID]:
    return list(conn.scalars(sa.select(_organization.c.id).order_by(_organization.c.slug)))


def drop_tables_except(conn: Connection, keep: set[str]) -> None:
    """Every table of the current schema not in ``keep`` (PostgreSQL, before pg_restore --clean)."""
    names = [n for n in sa.inspect(conn).get_table_names() if n not in keep]
    if names:
        conn.execute(sa.text("DROP TABLE " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
