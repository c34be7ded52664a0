"""Database plumbing: declarative base, portable column types, engine and sessions."""

from __future__ import annotations

import functools
import uuid
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    QueryableAttribute,
    make_transient_to_detached,
    mapped_column,
)

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


ModelT = TypeVar("ModelT", bound=Base)


async def returning_one(
    db: AsyncSession,
    stmt: sa.Insert | sa.Update,
    model: type[ModelT],
    params: Mapping[str, Any] | None = None,
) -> ModelT | None:
    """Runs an ``INSERT``/``UPDATE`` that returns every column of ``model``'s table (``.returning(*table.c)``)
    for one row, in the session's transaction, and gives that row as a detached instance (None: no row).

    For a chat message's hot statements: loading the row as an ORM entity cost more CPU than running the
    statement (bench/chat_statements.py, PostgreSQL: counting a message 1.0 -> 0.7-0.9 ms with the statement
    built once). Detached: changing the instance writes nothing."""
    row = (await (await db.connection()).execute(stmt, params)).one_or_none()
    return None if row is None else detached(model, row._mapping)


def detached(model: type[ModelT], row: Mapping[Any, Any], prefix: str = "") -> ModelT:
    """A ``model`` instance from a Core row holding every column of its table (each labelled ``prefix`` +
    its name), detached: as if loaded by a session that has closed, without the ORM's loading."""
    instance = model(**{attr: row[prefix + column] for column, attr in _attributes_by_column(model).items()})
    make_transient_to_detached(instance)
    return instance


async def insert_built(db: AsyncSession, instance: ModelT) -> ModelT:
    """INSERTs ``instance`` at once with a Core statement in the session's transaction, and makes it detached.

    The instance must be built whole: its primary key and every column whose default is not None set by its
    constructor (a column left unset is written and read as None; one with another default is refused). For a
    chat message's hot path: the ORM's unit of work added ~0.5-0.7 ms of CPU to each stored message
    (bench/chat_statements.py). Detached: changing the instance afterwards writes nothing."""
    if db.new:  # what it refers to may still wait for a flush
        await db.flush()
    model = type(instance)
    state = sa.inspect(instance).dict
    values: dict[str, Any] = {}
    for column, attr in _attributes_by_column(model).items():
        if attr not in state:  # detached, an unset attribute would be loaded from the database: set it
            if column not in _none_by_default(model):
                raise TypeError(f"insert_built: {model.__name__}.{attr} has a default; set it")
            setattr(instance, attr, None)
        values[column] = state[attr]
    await (await db.connection()).execute(_insert_statement(model), values)
    make_transient_to_detached(instance)
    return instance


@functools.cache
def _none_by_default(model: type[Base]) -> frozenset[str]:
    """The columns of ``model``'s table written as NULL when left unset."""
    return frozenset(
        column.key
        for column in model.__table__.columns
        if column.server_default is None
        and (column.default is None or (column.default.is_scalar and column.default.arg is None))
    )


@functools.cache
def _insert_statement(model: type[Base]) -> sa.Insert:
    return sa.insert(model.__table__)  # type: ignore[arg-type]


@functools.cache
def _attributes_by_column(model: type[Base]) -> dict[str, str]:
    return {prop.columns[0].key: prop.key for prop in sa.inspect(model).column_attrs}


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
        kwargs.update(pool_size=30, max_overflow=0)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine.sync_engine, "checkout", _replace_if_closed)
    return engine


def _replace_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server closed (a restart, a stop, a failover) is replaced before use, and so
    is every connection opened before it: they died together.

    Instead of ``pool_pre_ping``, which on asyncpg costs three round trips per checkout (BEGIN, a query,
    ROLLBACK) and, under a burst, three turns of a busy event loop each: 9 of the ~20 a chat message made.
    The driver learns of a closed socket without a query, as the event loop reads its end."""
    connection = getattr(dbapi_connection, "_connection", None)
    if connection is not None and connection.is_closed():
        raise sa.exc.InvalidatePoolError("the database closed this connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed during a write; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


_autocommit_makers: weakref.WeakKeyDictionary[
    async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]
] = weakref.WeakKeyDictionary()


def autocommit_sessions(maker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions on the same pool in which every statement commits by itself (no BEGIN or COMMIT is sent).

    For a row many requests write, such as an organization's answer counter: a write holds the row's lock
    only while the database runs it. In a transaction it holds it until our COMMIT arrives, a round trip
    later, and under a burst each of those waits for a turn of a busy event loop: every writer queued
    behind the previous one's (with 100 messages at once, ~1 s on 2 cores)."""
    derived = _autocommit_makers.get(maker)
    if derived is None:
        engine = maker.kw["bind"]
        derived = create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
        _autocommit_makers[maker] = derived
    return derived


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
    replaces dead connections (``_replace_if_closed``), so the next unit of work after a restart succeeds."""
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
