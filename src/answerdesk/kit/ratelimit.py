"""Rate limits and failure counters over the `limits` library (memory, or Redis when configured)."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from answerdesk.kit.outage import RedisOutage

T = TypeVar("T")
REDIS_CONNECT_TIMEOUT = 2.0


class RateLimiter:
    """Moving-window limits keyed by strings such as ``login:ip:1.2.3.4``.

    With Redis, limits are shared by every process. While Redis is unreachable each process counts in memory
    instead (limits still hold, per process) with one logged warning, and goes back to Redis when it returns.
    """

    def __init__(self, redis_url: str | None = None) -> None:
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._redis: MovingWindowRateLimiter | None = None
        self._outage = RedisOutage("ratelimit")
        if redis_url:
            # redis-py is already our Redis client; limits would otherwise want coredis.
            storage = storage_from_string(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix="answerdesk-limits",
                wrap_exceptions=True,
                socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
            )
            self.storage = cast(Storage, storage)
            self._redis = MovingWindowRateLimiter(self.storage)
        else:
            self.storage = self._memory.storage

    @property
    def degraded(self) -> bool:
        """True while Redis is configured but unreachable (counting in memory)."""
        return self._outage.down

    async def _run(self, call: Callable[[MovingWindowRateLimiter], Awaitable[T]]) -> T:
        if self._redis is not None and self._outage.use_redis():
            try:
                result = await call(self._redis)
            except StorageError as exc:
                self._outage.failed(exc.storage_error)
            else:
                self._outage.succeeded()
                return result
        return await call(self._memory)

    @staticmethod
    def item(spec: str) -> RateLimitItem:
        return parse(spec)

    async def hit(self, spec: str, key: str) -> bool:
        """Count one event; False when the limit was already reached."""
        return await self._run(lambda limiter: limiter.hit(parse(spec), key))

    async def blocked_for(self, spec: str, key: str) -> int:
        """Seconds until another event is allowed; 0 when it is allowed now."""
        item = parse(spec)

        async def check(limiter: MovingWindowRateLimiter) -> int:
            if await limiter.test(item, key):
                return 0
            stats = await limiter.get_window_stats(item, key)
            return max(1, math.ceil(stats.reset_time - time.time()))

        return await self._run(check)

    async def clear(self, spec: str, key: str) -> None:
        await self._run(lambda limiter: limiter.clear(parse(spec), key))
