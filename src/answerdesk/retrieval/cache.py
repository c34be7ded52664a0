"""A least-recently-used map bounded by bytes: which organizations' indexes a process keeps in memory."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteBoundedLRU(Generic[K, V]):
    """Values with an estimated size; putting one evicts the least recently used others past ``max_bytes``.

    ``max_bytes=None`` never evicts. The value just put is never evicted by its own put, so one value
    larger than the budget is still kept (alone) rather than thrashed. Eviction only drops this map's
    reference: a caller still holding the value (a search running on it) keeps it alive until done.
    Not thread-safe; the retriever uses it from the event loop only.
    """

    def __init__(self, max_bytes: int | None, size_of: Callable[[V], int]) -> None:
        if max_bytes is not None and max_bytes < 0:
            raise ValueError("max_bytes must be >= 0 or None")
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self.evictions = 0

    def get(self, key: K) -> V | None:
        """The value, marked as most recently used; None when absent or evicted."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def peek(self, key: K) -> V | None:
        """The value without marking it used (bookkeeping checks, not searches)."""
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def put(self, key: K, value: V) -> None:
        """Store (or replace) ``key`` as most recently used, then evict others while over budget."""
        size = self._size_of(value)
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        self._entries[key] = (value, size)
        self._bytes += size
        if self.max_bytes is None:
            return
        while self._bytes > self.max_bytes and len(self._entries) > 1:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._bytes -= evicted
            self.evictions += 1

    def discard(self, key: K) -> None:
        """Drop ``key`` if present (its organization was deleted)."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[1]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """Sum of the estimated sizes of the values held."""
        return self._bytes

    def keys(self) -> list[K]:
        """Least recently used first."""
        return list(self._entries)
