"""Rate limits and failure counters over the `limits` library (memory, or Redis when configured)."""

from __future__ import annotations

import math
import time
from typing import cast

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


class RateLimiter:
    """Moving-window limits keyed by strings such as ``login:ip:1.2.3.4``."""

    def __init__(self, redis_url: str | None = None) -> None:
        # redis-py is already our Redis client; limits would otherwise want coredis.
        if redis_url:
            url = "async+" + redis_url
            storage = storage_from_string(url, implementation="redispy", key_prefix="answerdesk-limits")
            self.storage = cast(Storage, storage)
        else:
            self.storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self.storage)

    @staticmethod
    def item(spec: str) -> RateLimitItem:
        return parse(spec)

    async def hit(self, spec: str, key: str) -> bool:
        """Count one event; False when the limit was already reached."""
        return await self._limiter.hit(parse(spec), key)

    async def blocked_for(self, spec: str, key: str) -> int:
        """Seconds until another event is allowed; 0 when it is allowed now."""
        item = parse(spec)
        if await self._limiter.test(item, key):
            return 0
        stats = await self._limiter.get_window_stats(item, key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def clear(self, spec: str, key: str) -> None:
        await self._limiter.clear(parse(spec), key)
