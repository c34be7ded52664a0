"""Settings: defaults, URL normalisation, generated secret, placeholder refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from answerdesk.config import Settings, normalise_database_url


def test_defaults_put_sqlite_in_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'answerdesk.db'}"
    assert s.redis_url is None


def test_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    first = s.secret()
    assert len(first) >= 40
    assert Settings(data_dir=tmp_path, _env_file=None).secret() == first  # type: ignore[call-arg]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_placeholder_secret_refused_outside_development(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(env="production", secret_key="changeme", data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    Settings(env="development", secret_key="changeme", data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]


def test_env_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANSWERDESK_DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("ANSWERDESK_REDIS_URL", "")
    s = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert s.database_url == "postgresql+asyncpg://u@h/db" and s.redis_url is None


def test_normalise_database_url() -> None:
    assert normalise_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalise_database_url("postgresql+asyncpg://a/b") == "postgresql+asyncpg://a/b"
