"""Concurrent calls for the same key share one run of the work (a "single flight").

For reads that many requests make at once and whose answer is the same for all of them: a burst of chat
messages to one organization reads its organization, plan and index generation once per round trip
instead of once per message. A caller that arrives while a run is under way gets that run's result, which
is as fresh as if the caller had arrived a moment earlier; a caller that arrives after it ended starts a
new run, so nothing is cached beyond the run itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedCalls(Generic[K, V]):
    """Per-key runs of ``work`` that concurrent callers join. Keep one per process and event loop."""

    def __init__(self) -> None:
        self._running: dict[K, asyncio.Task[V]] = {}

    async def run(self, key: K, work: Callable[[], Awaitable[V]]) -> V:
        """``work()``'s result, from the run under way for ``key`` when there is one.

        A caller cancelled while it waits leaves the run going for the others; the run's error reaches
        every caller that joined it.
        """
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(work())
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: every caller may have left before it ended
