"""Redis outages: a component switches to its local fallback with one warning, and back when Redis returns."""

from __future__ import annotations

import time

import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

# What a stopped, restarting or unreachable Redis raises (redis-py wraps most; sockets may not be).
REDIS_DOWN: tuple[type[BaseException], ...] = (RedisError, OSError)
RETRY_SECONDS = 2.0


class RedisOutage:
    """Tracks one component's view of Redis. While it is down, `use_redis()` says no (so requests do not each
    wait for a refused connection) except for one try every `retry_seconds`."""

    def __init__(self, component: str, retry_seconds: float = RETRY_SECONDS) -> None:
        self.component = component
        self.retry_seconds = retry_seconds
        self.down_since: float | None = None
        self._next_try = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def use_redis(self) -> bool:
        if self.down_since is None:
            return True
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + self.retry_seconds
        return True

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._next_try = now + self.retry_seconds
        if self.down_since is None:
            self.down_since = now
            log.warning(
                f"{self.component}.redis_unavailable", error=f"{type(exc).__name__}: {exc}", fallback="local"
            )

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.warning(
                f"{self.component}.redis_recovered", seconds_down=round(time.monotonic() - self.down_since, 1)
            )
            self.down_since = None
