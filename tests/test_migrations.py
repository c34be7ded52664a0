"""Migrations: up from empty on this run's database, down and up again, and agreement with the models."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from answerdesk.kit.db import create_engine
from answerdesk.kit.migrate import alembic_config, head_revision, upgrade_to_head
from answerdesk.models import Base


def _diff(database_url: str) -> list[object]:
    async def run() -> list[object]:
        engine = create_engine(database_url)

        def compare(conn: Connection) -> list[object]:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))

        async with engine.connect() as conn:
            diff = await conn.run_sync(compare)
        await engine.dispose()
        return diff

    return asyncio.run(run())


def _revision(database_url: str) -> str | None:
    async def run() -> str | None:
        engine = create_engine(database_url)
        async with engine.connect() as conn:
            rev = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        await engine.dispose()
        return rev

    return asyncio.run(run())


def test_models_and_migrations_agree(database_url: str) -> None:
    assert _revision(database_url) == head_revision()
    assert _diff(database_url) == []


def test_downgrade_to_base_and_up_again(tmp_path: object, database_url: str) -> None:
    # A separate database so the shared one stays intact for the other tests.
    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path}/roundtrip.db"  # type: ignore[str-bytes-safe]
        upgrade_to_head(url)
        command.downgrade(alembic_config(url), "base")
        assert _revision(url) is None
        upgrade_to_head(url)
        assert _revision(url) == head_revision() and _diff(url) == []
    else:
        from tests.conftest import POSTGRES_ADMIN_URL, _pg_admin

        name = "answerdesk_test_roundtrip_" + str(abs(hash(database_url)))[:8]
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        url = (
            POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            + "/"
            + name
        )
        try:
            upgrade_to_head(url)
            command.downgrade(alembic_config(url), "base")
            assert _revision(url) is None
            upgrade_to_head(url)
            assert _revision(url) == head_revision() and _diff(url) == []
        finally:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
