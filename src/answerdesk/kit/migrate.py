"""Running Alembic from code (CLI, make run, tests) and checking the schema is at head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The database's migration; None when it was never migrated (no tables yet)."""
    return MigrationContext.configure(connection).get_current_revision()


def is_at_head(connection: Connection) -> bool:
    current = current_revision(connection)
    return current is not None and current == head_revision()


def schema_problem(current: str | None) -> str | None:
    """What to tell an operator whose database is not at the migration this version expects."""
    if current is None:
        return "the database has no tables yet: run `answerdesk migrate` first"
    head = head_revision()
    if current != head:
        return f"the database is at migration {current}, this version needs {head}: run `answerdesk migrate`"
    return None
