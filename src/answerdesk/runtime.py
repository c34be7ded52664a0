"""The process-wide objects built once at start-up and shared by requests, jobs and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from answerdesk.auth.sessions import DatabaseSessionStore, RedisSessionStore, SessionStore
from answerdesk.config import Settings
from answerdesk.kit.db import create_engine, create_sessionmaker
from answerdesk.kit.ratelimit import RateLimiter


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    limiter: RateLimiter
    session_store: SessionStore
    redis: Redis | None = None
    secret: str = field(default="", repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.database_url)
        maker = create_sessionmaker(engine)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        store: SessionStore = RedisSessionStore(redis) if redis else DatabaseSessionStore(maker)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=maker,
            limiter=RateLimiter(settings.redis_url),
            session_store=store,
            redis=redis,
            secret=settings.secret(),
        )

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
