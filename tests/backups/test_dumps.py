"""The PostgreSQL side of dumps without a server: libpq settings from our URL, finding pg_dump."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from answerdesk.backups.dumps import libpq_env, pg_tool
from answerdesk.backups.errors import DumpToolMissing


def test_the_asyncpg_url_becomes_libpq_environment_without_the_password_in_argv() -> None:
    env = libpq_env("postgresql+asyncpg://support:s%40cret@db.internal:6432/answerdesk?ssl=require")
    assert env == {
        "PGHOST": "db.internal",
        "PGPORT": "6432",
        "PGUSER": "support",
        "PGPASSWORD": "s@cret",
        "PGDATABASE": "answerdesk",
        "PGSSLMODE": "require",
    }
    assert libpq_env("postgresql+asyncpg://u@/answerdesk?host=/run/postgresql&ssl=true") == {
        "PGHOST": "/run/postgresql",
        "PGUSER": "u",
        "PGDATABASE": "answerdesk",
        "PGSSLMODE": "require",
    }


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs a PostgreSQL client on PATH")
def test_a_client_older_than_the_server_is_refused_with_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(DumpToolMissing, match=r"pg_dump 99 or newer .* postgresql-client-99") as caught:
        pg_tool("pg_dump", 99, root=tmp_path)
    assert "found" in caught.value.message  # says which (older) client it saw
    assert pg_tool("pg_dump", 9, root=tmp_path) == shutil.which("pg_dump")


def test_debian_version_folders_are_preferred(tmp_path: Path) -> None:
    folder = tmp_path / "16" / "bin"
    folder.mkdir(parents=True)
    tool = folder / "pg_dump"
    tool.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 16.4'\n")
    tool.chmod(0o755)
    assert pg_tool("pg_dump", 16, root=tmp_path) == str(tool)
    assert pg_tool("pg_dump", 15, root=tmp_path) == str(tool)  # a newer client dumps an older server
