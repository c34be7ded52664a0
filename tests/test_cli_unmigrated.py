"""CLI commands on a database that was never migrated, or cannot be reached: one line, exit code 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from answerdesk.cli import app
from answerdesk.config import get_settings
from tests.conftest import MODEL_CACHE

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("ANSWERDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("ANSWERDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANSWERDESK_ENV", "test")
    monkeypatch.setenv("ANSWERDESK_MODEL_CACHE_DIR", str(MODEL_CACHE))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_org_create_on_a_never_migrated_database_says_to_migrate(env: pytest.MonkeyPatch) -> None:
    for args in (["org", "create", "Blue Hosting"], ["org", "list"], ["kb", "list", "--org", "x"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert (
            result.stderr.strip() == "error: the database has no tables yet: run `answerdesk migrate` first"
        )
        assert result.exception is None or isinstance(result.exception, SystemExit)

    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["org", "create", "Blue Hosting"])
    assert result.exit_code == 0 and result.stdout.strip() == "blue-hosting"


def test_an_unreachable_database_is_one_line(env: pytest.MonkeyPatch) -> None:
    # Port 18699 is in this suite's range and nothing listens there.
    env.setenv("ANSWERDESK_DATABASE_URL", "postgresql://nobody@127.0.0.1:18699/none")
    get_settings.cache_clear()
    result = runner.invoke(app, ["org", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach the database: ")
    assert len(result.stderr.strip().splitlines()) == 1
