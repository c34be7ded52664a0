"""Consistent database dumps and their restore: SQLite's online backup API, PostgreSQL's pg_dump/pg_restore.

Both take a snapshot while the application keeps running. SQLite copies the pages under one read
transaction; PostgreSQL exports the snapshot of a repeatable-read transaction, counts rows and lists
the originals in it, and runs pg_dump on that very snapshot, so the manifest describes the dump exactly.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from answerdesk.backups import repository
from answerdesk.backups.errors import ArchiveDamaged, BackupError, DumpToolMissing

T = TypeVar("T")
PG_BIN_ROOT = Path("/usr/lib/postgresql")  # Debian/Ubuntu keep one folder per client major version
_VERSION = re.compile(r"\)\s*(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Snapshot:
    """What the dump holds, read from the same snapshot as the dump itself."""

    table_counts: dict[str, int]
    alembic_revision: str | None
    original_keys: list[str]
    server_version: str | None = None


def _read_snapshot(conn: Connection) -> Snapshot:
    return Snapshot(
        repository.table_counts(conn), repository.alembic_revision(conn), repository.original_keys(conn)
    )


# --- SQLite ---------------------------------------------------------------------------------


def sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"Cannot back up the SQLite database {database!r}: it must be a file")
    return Path(database)


def sqlite_dump(source: Path, target: Path) -> Snapshot:
    """Copy a live SQLite database into ``target`` (one self-contained file) and describe the copy."""
    if not source.is_file():
        raise BackupError(f"The SQLite database {source} does not exist")
    src = sqlite3.connect(str(source), timeout=30)
    try:
        dst = sqlite3.connect(str(target))
        try:
            # All pages in one step: one read transaction, so writers committing meanwhile are not
            # half in the copy (a stepped backup restarts whenever another connection writes).
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # no -wal file beside the archived copy
        finally:
            dst.close()
    finally:
        src.close()
    return read_sqlite(target)


def read_sqlite(path: Path) -> Snapshot:
    """Check a SQLite file's integrity and describe it; raises ``ArchiveDamaged`` if it is not sound."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            check = conn.scalar(sa.text("PRAGMA quick_check"))
            if check != "ok":
                raise ArchiveDamaged(f"The archived SQLite database fails its integrity check: {check}")
            return _read_snapshot(conn)
    except sa.exc.DatabaseError as exc:
        raise ArchiveDamaged(f"The archived SQLite database cannot be read: {exc.orig}") from exc
    finally:
        engine.dispose()


def sqlite_restore(copy: Path, target: Path) -> None:
    """Replace ``target``'s contents with ``copy``'s in one transaction (created if missing)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(str(copy))
    try:
        dst = sqlite3.connect(str(target), timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


# --- PostgreSQL -----------------------------------------------------------------------------


def libpq_env(database_url: str) -> dict[str, str]:
    """The connection as libpq environment variables (PGHOST, PGPASSWORD...): no password in argv.

    The application's URL is SQLAlchemy's (``postgresql+asyncpg://``, asyncpg's ``ssl=`` option);
    pg_dump and pg_restore speak libpq, which spells TLS ``sslmode``.
    """
    url = make_url(database_url)
    env: dict[str, str] = {}
    query = {k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()}
    for var, value in (
        ("PGHOST", url.host or query.get("host")),
        ("PGPORT", str(url.port) if url.port else query.get("port")),
        ("PGUSER", url.username or query.get("user")),
        ("PGPASSWORD", url.password or query.get("password")),
        ("PGDATABASE", url.database),
        ("PGSSLMODE", _sslmode(query.get("sslmode") or query.get("ssl"))),
        ("PGSSLROOTCERT", query.get("sslrootcert")),
        ("PGCONNECT_TIMEOUT", query.get("connect_timeout")),
    ):
        if value:
            env[var] = str(value)
    return env


def _sslmode(value: str | None) -> str | None:
    if value is None:
        return None
    return {"true": "require", "1": "require", "false": "disable", "0": "disable"}.get(value.lower(), value)


def pg_tool(name: str, server_major: int, *, root: Path = PG_BIN_ROOT) -> str:
    """The path of ``pg_dump``/``pg_restore`` of the server's major version or newer.

    Prefers Debian's per-version folders, then PATH. An older client refuses to dump a newer server.
    """
    candidates = [root / str(server_major) / "bin" / name]
    if root.is_dir():
        newer = sorted(
            (p for p in root.iterdir() if p.name.isdigit() and int(p.name) > server_major),
            key=lambda p: int(p.name),
        )
        candidates += [p / "bin" / name for p in newer]
    found: list[str] = []
    on_path = shutil.which(name)
    for path in [*map(str, candidates), *([on_path] if on_path else [])]:
        major = _tool_major(path)
        if major is None:
            continue
        found.append(f"{path} ({major})")
        if major >= server_major:
            return path
    seen = "; found " + ", ".join(found) if found else ""
    raise DumpToolMissing(
        f"{name} {server_major} or newer is needed for this PostgreSQL {server_major} server{seen}. "
        f"Install the client (Debian: apt-get install postgresql-client-{server_major}) or put it on PATH."
    )


def _tool_major(path: str) -> int | None:
    try:
        # The path is one of the candidates above (a fixed folder or PATH), never user input.
        out = subprocess.run(  # noqa: S603
            [path, "--version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out.stdout)
    return int(match.group(1)) if match else None


async def pg_server_major(engine: AsyncEngine) -> tuple[int, str]:
    async with engine.connect() as conn:
        number = int(await conn.scalar(sa.text("SHOW server_version_num")) or 0)
        version = str(await conn.scalar(sa.text("SHOW server_version")))
    return number // 10000, version


async def pg_dump(engine: AsyncEngine, database_url: str, target: Path) -> Snapshot:
    """pg_dump (custom format) of the snapshot the manifest's counts and keys are read from."""
    major, version = await pg_server_major(engine)
    tool = await asyncio.to_thread(pg_tool, "pg_dump", major)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            # First statement: the transaction's snapshot is taken here, then exported to pg_dump.
            snapshot_id = str(await conn.scalar(sa.text("SELECT pg_export_snapshot()")))
            snapshot = await conn.run_sync(_read_snapshot)
            # The transaction stays open while pg_dump runs: an exported snapshot lives as long as it.
            await _run(
                [
                    tool,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot_id}",
                    f"--file={target}",
                ],
                libpq_env(database_url),
                "pg_dump",
            )
    return Snapshot(snapshot.table_counts, snapshot.alembic_revision, snapshot.original_keys, version)


async def pg_restore(engine: AsyncEngine, database_url: str, dump: Path, tables: set[str]) -> None:
    """Replace the database's tables with the dump's (``tables``) in one transaction.

    ``--clean`` drops the dump's tables inside pg_restore's transaction, so a failed restore leaves
    them as they were. Other tables (a newer migration run on the target) would collide with the
    migrations run after the restore: they go first.
    """
    major, _ = await pg_server_major(engine)
    tool = await asyncio.to_thread(pg_tool, "pg_restore", major)
    env = libpq_env(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(repository.drop_tables_except, tables | {repository.ALEMBIC_TABLE})
    await _run(
        [
            tool,
            "--single-transaction",
            "--exit-on-error",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            f"--dbname={env.pop('PGDATABASE', '')}",
            str(dump),
        ],
        env,
        "pg_restore",
    )


async def run_sync_on(engine: AsyncEngine, fn: Callable[[Connection], T]) -> T:
    async with engine.connect() as conn:
        return await conn.run_sync(fn)


async def _run(argv: list[str], env: Mapping[str, str], what: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip().splitlines()
        raise BackupError(f"{what} failed (exit {process.returncode}): " + " / ".join(message[-5:]))
