"""The `answerdesk` command: exact commands, non-zero exit with one line on bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from answerdesk.cli import app
from answerdesk.config import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ANSWERDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("ANSWERDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANSWERDESK_ENV", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_org_user_apikey_flow(cli_env: None) -> None:
    code, out, _ = run("org", "create", "Blue Hosting Ltd")
    assert code == 0 and out.strip() == "blue-hosting-ltd"
    code, out, _ = run("org", "create", "Other", "--slug", "other")
    assert code == 0 and out.strip() == "other"
    code, out, _ = run(
        "user", "create", "--org", "blue-hosting-ltd", "--email", "ops@example.com", "--role", "admin"
    )
    assert code == 0 and "password: " in out
    code, out, _ = run(
        "user",
        "create",
        "--org",
        "blue-hosting-ltd",
        "--email",
        "two@example.com",
        "--role",
        "staff",
        "--password",
        "a-strong-password-1",
    )
    assert code == 0 and "password:" not in out
    code, out, _ = run("apikey", "create", "--org", "blue-hosting-ltd", "--kind", "secret", "--name", "srv")
    assert code == 0 and out.strip().startswith("ad_sk_")
    code, out, _ = run(
        "apikey",
        "create",
        "--org",
        "blue-hosting-ltd",
        "--kind",
        "public",
        "--origin",
        "https://shop.example.com",
        "--origin",
        "http://localhost:3000",
    )
    assert code == 0 and out.strip().startswith("ad_pk_")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("user", "create", "--org", "nope", "--email", "a@example.com", "--role", "staff"),
            "No organization",
        ),
        (
            ("user", "create", "--org", "acme", "--email", "dup@example.com", "--role", "staff"),
            "already exists",
        ),
        (
            ("user", "create", "--org", "acme", "--email", "w@example.com", "--password", "weak"),
            "at least 10",
        ),
        (("user", "create", "--org", "acme", "--email", "not-an-email"), "invalid e-mail"),
        (("org", "create", "Acme"), "already exists"),
        (("org", "create", "Bad", "--slug", "Bad Slug!"), "Invalid slug"),
        (("apikey", "create", "--org", "acme", "--kind", "public"), "allowed origin"),
        (("apikey", "create", "--org", "acme", "--kind", "public", "--origin", "ftp://x"), "not an origin"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(cli_env: None, args: tuple[str, ...], message: str) -> None:
    assert run("org", "create", "Acme")[0] == 0
    assert run("user", "create", "--org", "acme", "--email", "dup@example.com")[0] == 0
    code, _, err = run(*args)
    assert code != 0
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], err


def test_demo_creates_org_once(cli_env: None) -> None:
    code, out, _ = run("demo")
    assert code == 0 and "admin@demo.example.com" in out and "password:" in out
    code, out, _ = run("demo")
    assert code == 0 and "password:   " not in out and "set-password" in out
