"""Backup test fixtures: empty databases to restore into, and a fresh instance on one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from answerdesk.runtime import Runtime
from tests.conftest import POSTGRES_ADMIN_URL, TEST_DATABASE, _pg_admin, make_settings


@pytest.fixture
def new_database(database_url: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes databases created empty (no schema), like the one an operator restores into."""
    made: list[str] = []

    def make() -> str:
        name = f"answerdesk_restore_{uuid.uuid4().hex[:10]}"
        if TEST_DATABASE != "postgres":
            return f"sqlite+aiosqlite:///{tmp_path / name / 'answerdesk.db'}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        made.append(name)
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)

    yield make
    for name in made:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_database(new_database: Callable[[], str]) -> str:
    return new_database()


@pytest.fixture
async def target(empty_database: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A fresh instance: the empty database and its own data folder (files, indexes)."""
    runtime = Runtime.build(make_settings(empty_database, tmp_path / "restored"))
    try:
        yield runtime
    finally:
        await runtime.close()
