"""Embeddings of single texts asked for by concurrent requests, computed together in one model call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from answerdesk.knowledge.embedding.base import Vectors


class EmbeddingBatcher:
    """Embeds one text per caller. While a model call runs (in a worker thread), texts that arrive wait and
    go together in the next call: a burst of chat messages costs a few model calls instead of one each (a
    batch of 32 short texts costs ~1 ms of CPU per text, one at a time ~2 ms, bench/chat_concurrency.py).
    A caller that finds the model idle starts at once: nothing waits on a timer."""

    def __init__(self, embed: Callable[[Sequence[str]], Vectors], *, max_batch: int = 64) -> None:
        self._embed = embed
        self._max_batch = max_batch
        self._waiting: list[tuple[str, asyncio.Future[Vectors]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def embed(self, text: str) -> Vectors:
        """Shape (dim,): the text's vector."""
        future: asyncio.Future[Vectors] = asyncio.get_running_loop().create_future()
        self._waiting.append((text, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                vectors = await asyncio.to_thread(self._embed, [text for text, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), vector in zip(batch, vectors, strict=True):
                if not future.done():  # the caller may have gone (a cancelled request)
                    future.set_result(vector)
