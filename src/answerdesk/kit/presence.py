"""Who is around: members of a group seen within a time-to-live, in memory or in Redis across processes."""

from __future__ import annotations

import time

from redis.asyncio import Redis

REDIS_PREFIX = "answerdesk:presence:"


class Presence:
    """`touch` marks a member present for `ttl` seconds; `count` says how many members are present now."""

    def __init__(self, redis: Redis | None = None, prefix: str = REDIS_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._local: dict[str, dict[str, float]] = {}

    async def touch(self, group: str, member: str, ttl: float) -> None:
        # Wall-clock time, because the expiries in Redis are compared by every process.
        until = time.time() + ttl
        if self._redis is None:
            self._local.setdefault(group, {})[member] = until
            return
        key = self._prefix + group
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {member: until})
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.expire(key, max(1, int(ttl) + 1))
            await pipe.execute()

    async def leave(self, group: str, member: str) -> None:
        if self._redis is None:
            self._local.get(group, {}).pop(member, None)
            return
        await self._redis.zrem(self._prefix + group, member)

    async def count(self, group: str) -> int:
        now = time.time()
        if self._redis is None:
            members = self._local.get(group, {})
            for member in [m for m, until in members.items() if until <= now]:
                del members[member]
            return len(members)
        return int(await self._redis.zcount(self._prefix + group, f"({now}", "+inf"))
