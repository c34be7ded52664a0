"""Database plumbing: declarative base, portable column types, engine and sessions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, QueryableAttribute, mapped_column

from answerdesk.kit.errors import AppError, ValidationFailed

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: sa.JSON, list[str]: sa.JSON}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)


class CreatedAtMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TenantMixin:
    """Marks a tenant-owned table: every row belongs to one organization."""

    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        # At most 30 connections per process, as before (10 + 20 overflow), but all kept once opened: under a
        # burst of chat messages the overflow ones were closed and reopened between its phases (~60 TCP + TLS
        # handshakes, new server backends and statements prepared again per 100 messages).
        kwargs.update(pool_size=30, max_overflow=0, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed during a write; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class DatabaseUnavailable(AppError):
    status_code = 503
    code = "unavailable"


# Connection-level failures of asyncpg (a restart, a stop, a server still starting up).
_DISCONNECTS = frozenset(
    {"CannotConnectNowError", "ConnectionDoesNotExistError", "AdminShutdownError", "ConnectionFailureError"}
)


# Text PostgreSQL cannot store (a NUL character): bad input, whichever field carried it.
_UNSTORABLE_TEXT = frozenset({"CharacterNotInRepertoireError", "UntranslatableCharacterError"})


def _chain(exc: BaseException) -> list[BaseException]:
    """The error, what SQLAlchemy wraps and what the driver wraps."""
    found: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(found) < 5:
        found.append(seen)
        seen = getattr(seen, "orig", None) or seen.__cause__
    return found


def is_disconnect(exc: BaseException) -> bool:
    """True when the database could not be reached (as opposed to a query that failed)."""
    return any(
        isinstance(e, OSError)
        or type(e).__name__ in _DISCONNECTS
        or (isinstance(e, sa.exc.DBAPIError) and e.connection_invalidated)
        for e in _chain(exc)
    )


def is_unstorable_text(exc: BaseException) -> bool:
    return any(type(e).__name__ in _UNSTORABLE_TEXT for e in _chain(exc))


@asynccontextmanager
async def session_scope(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed once at the end, rolled back on error.

    A database that cannot be reached is a DatabaseUnavailable (503) rather than a driver error; the pool
    replaces dead connections (pre-ping), so the next unit of work after a restart succeeds."""
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException as exc:
            try:
                await session.rollback()
            except Exception as rollback_error:
                if not is_disconnect(rollback_error):
                    raise
            if isinstance(exc, Exception) and is_disconnect(exc):
                raise DatabaseUnavailable(
                    "The database is unavailable for a moment; try again shortly."
                ) from exc
            if isinstance(exc, Exception) and is_unstorable_text(exc):
                raise ValidationFailed("Text may not contain NUL characters (\\u0000).") from exc
            raise


def contains(column: QueryableAttribute[Any] | sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    """Case-insensitive "contains" on both databases; ``%`` and ``_`` in ``text`` are literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
