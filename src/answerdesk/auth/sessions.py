"""Where admin login sessions live: the database by default, Redis when configured (503 while it is down)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Protocol, cast

import sqlalchemy as sa
import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from answerdesk.auth.models import AuthSession
from answerdesk.kit.errors import AppError
from answerdesk.kit.outage import REDIS_DOWN

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SessionData:
    id: str  # hash of the cookie token
    user_id: uuid.UUID
    organization_id: uuid.UUID | None
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str = ""
    user_agent: str = ""


class SessionStore(Protocol):
    async def save(self, data: SessionData) -> None: ...
    async def get(self, session_id: str) -> SessionData | None: ...
    async def delete(self, session_id: str) -> None: ...
    async def delete_for_user(self, user_id: uuid.UUID, *, except_id: str | None = None) -> None: ...


class DatabaseSessionStore:
    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker

    async def save(self, data: SessionData) -> None:
        async with self._maker() as db, db.begin():
            await db.merge(AuthSession(**asdict(data)))

    async def get(self, session_id: str) -> SessionData | None:
        async with self._maker() as db:
            row = await db.get(AuthSession, session_id)
            if row is None:
                return None
            return SessionData(
                id=row.id,
                user_id=row.user_id,
                organization_id=row.organization_id,
                csrf_token=row.csrf_token,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                expires_at=row.expires_at,
                ip=row.ip,
                user_agent=row.user_agent,
            )

    async def delete(self, session_id: str) -> None:
        async with self._maker() as db, db.begin():
            await db.execute(sa.delete(AuthSession).where(AuthSession.id == session_id))

    async def delete_for_user(self, user_id: uuid.UUID, *, except_id: str | None = None) -> None:
        stmt = sa.delete(AuthSession).where(AuthSession.user_id == user_id)
        if except_id is not None:
            stmt = stmt.where(AuthSession.id != except_id)
        async with self._maker() as db, db.begin():
            await db.execute(stmt)

    async def purge_expired(self, now: datetime) -> None:
        async with self._maker() as db, db.begin():
            await db.execute(sa.delete(AuthSession).where(AuthSession.expires_at < now))


class SessionsUnavailable(AppError):
    status_code = 503
    code = "unavailable"


@contextmanager
def _redis_errors() -> Iterator[None]:
    """Fail closed while Redis is down: a session that cannot be checked (or revoked) is not trusted, and a
    login is not kept anywhere else. Staff see a 503 and sign in again once Redis is back; API keys, the
    widget and chat do not use sessions and keep working."""
    try:
        yield
    except REDIS_DOWN as exc:
        log.warning("sessions.redis_unavailable", error=f"{type(exc).__name__}: {exc}")
        raise SessionsUnavailable(
            "Staff sign-in is unavailable for a moment (the session store is unreachable); try again shortly."
        ) from None


class RedisSessionStore:
    """Sessions as JSON with a TTL; a set per user lets a password reset end them all."""

    prefix = "answerdesk:session:"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save(self, data: SessionData) -> None:
        with _redis_errors():
            await self._save(data)

    async def get(self, session_id: str) -> SessionData | None:
        with _redis_errors():
            return await self._get(session_id)

    async def delete(self, session_id: str) -> None:
        with _redis_errors():
            await self._delete(session_id)

    async def delete_for_user(self, user_id: uuid.UUID, *, except_id: str | None = None) -> None:
        with _redis_errors():
            await self._delete_for_user(user_id, except_id=except_id)

    async def _save(self, data: SessionData) -> None:
        ttl = max(1, int((data.expires_at - data.last_seen_at).total_seconds()))
        payload = json.dumps(
            {
                k: (v.isoformat() if isinstance(v, datetime) else str(v) if v is not None else None)
                for k, v in asdict(data).items()
            }
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self.prefix + data.id, payload, ex=ttl)
            pipe.sadd(f"{self.prefix}user:{data.user_id}", data.id)
            await pipe.execute()

    async def _get(self, session_id: str) -> SessionData | None:
        raw = await self._redis.get(self.prefix + session_id)
        if raw is None:
            return None
        d = json.loads(raw)
        return SessionData(
            id=d["id"],
            user_id=uuid.UUID(d["user_id"]),
            organization_id=uuid.UUID(d["organization_id"]) if d["organization_id"] else None,
            csrf_token=d["csrf_token"],
            created_at=datetime.fromisoformat(d["created_at"]),
            last_seen_at=datetime.fromisoformat(d["last_seen_at"]),
            expires_at=datetime.fromisoformat(d["expires_at"]),
            ip=d["ip"],
            user_agent=d["user_agent"],
        )

    async def _delete(self, session_id: str) -> None:
        data = await self._get(session_id)
        await self._redis.delete(self.prefix + session_id)
        if data is not None:
            await cast(Awaitable[int], self._redis.srem(f"{self.prefix}user:{data.user_id}", session_id))

    async def _delete_for_user(self, user_id: uuid.UUID, *, except_id: str | None = None) -> None:
        key = f"{self.prefix}user:{user_id}"
        ids = [
            i.decode() if isinstance(i, bytes) else str(i)
            for i in await cast(Awaitable[set[bytes]], self._redis.smembers(key))
        ]
        doomed = [i for i in ids if i != except_id]
        if doomed:
            await self._redis.delete(*(self.prefix + i for i in doomed))
            await cast(Awaitable[int], self._redis.srem(key, *doomed))


def with_seen(data: SessionData, now: datetime) -> SessionData:
    return replace(data, last_seen_at=now)
