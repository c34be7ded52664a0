"""Who is around: members of a group seen within a time-to-live, in memory or in Redis across processes."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from answerdesk.kit.outage import REDIS_DOWN, RedisOutage

REDIS_PREFIX = "answerdesk:presence:"


class Presence:
    """`touch` marks a member present for `ttl` seconds; `count` says how many members are present now.

    While Redis is unreachable, this process's own record answers (one logged warning); Redis again after.
    """

    def __init__(self, redis: Redis | None = None, prefix: str = REDIS_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._local: dict[str, dict[str, float]] = {}
        self._outage = RedisOutage("presence")

    async def touch(self, group: str, member: str, ttl: float) -> None:
        # Wall-clock time, because the expiries in Redis are compared by every process.
        until = time.time() + ttl
        # Kept locally too, so an outage starts from what this process has seen.
        self._local.setdefault(group, {})[member] = until
        self._prune(group)
        if self._redis is None or not self._outage.use_redis():
            return
        key = self._prefix + group
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(key, {member: until})
                pipe.zremrangebyscore(key, "-inf", time.time())
                pipe.expire(key, max(1, int(ttl) + 1))
                await pipe.execute()
        except REDIS_DOWN as exc:
            self._outage.failed(exc)
        else:
            self._outage.succeeded()

    async def leave(self, group: str, member: str) -> None:
        self._local.get(group, {}).pop(member, None)
        if self._redis is None or not self._outage.use_redis():
            return
        try:
            await self._redis.zrem(self._prefix + group, member)
        except REDIS_DOWN as exc:
            self._outage.failed(exc)
        else:
            self._outage.succeeded()

    async def count(self, group: str) -> int:
        now = time.time()
        if self._redis is not None and self._outage.use_redis():
            try:
                found = int(await self._redis.zcount(self._prefix + group, f"({now}", "+inf"))
            except REDIS_DOWN as exc:
                self._outage.failed(exc)
            else:
                self._outage.succeeded()
                return found
        return len(self._prune(group))

    async def members(self, group: str) -> set[str]:
        """The members present now (for counting people rather than their tabs or connections)."""
        now = time.time()
        if self._redis is not None and self._outage.use_redis():
            try:
                found = await self._redis.zrangebyscore(self._prefix + group, f"({now}", "+inf")
            except REDIS_DOWN as exc:
                self._outage.failed(exc)
            else:
                self._outage.succeeded()
                return {m.decode() if isinstance(m, bytes) else str(m) for m in found}
        return set(self._prune(group))

    def _prune(self, group: str) -> dict[str, float]:
        now = time.time()
        members = self._local.get(group, {})
        for member in [m for m, until in members.items() if until <= now]:
            del members[member]
        return members
