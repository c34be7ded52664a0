"""EmbeddingBatcher: concurrent texts share model calls, each caller gets its vector or the error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from answerdesk.knowledge.embedding import Vectors
from answerdesk.knowledge.embedding.batching import EmbeddingBatcher


class CountingModel:
    """A stand-in model: a text's vector is [its length, its first letter's code]; calls are recorded."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.entered = threading.Event()  # a call is running
        self.release = threading.Event()  # calls may return
        self.release.set()

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.entered.set()
        self.release.wait(timeout=10)
        self.calls.append(list(texts))
        if "boom" in texts:
            raise RuntimeError("model failed")
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


async def test_a_lone_text_is_embedded_at_once() -> None:
    model = CountingModel()
    vector = await EmbeddingBatcher(model.embed).embed("hello")
    assert vector.tolist() == [5.0, ord("h")]
    assert model.calls == [["hello"]]


async def test_texts_arriving_during_a_call_share_the_next_one() -> None:
    model = CountingModel()
    batcher = EmbeddingBatcher(model.embed, max_batch=3)
    model.release.clear()  # the first call holds until the others have queued
    first = asyncio.create_task(batcher.embed("a"))
    assert await asyncio.to_thread(model.entered.wait, 10)
    others = [asyncio.create_task(batcher.embed(t)) for t in ("bb", "ccc", "dddd", "eeeee")]
    await asyncio.sleep(0)  # they queue
    model.release.set()
    vectors = await asyncio.gather(first, *others)

    assert [v[0] for v in vectors] == [1, 2, 3, 4, 5]  # each caller gets its own text's vector
    assert model.calls == [["a"], ["bb", "ccc", "dddd"], ["eeeee"]]


async def test_a_failed_call_fails_its_callers_and_the_next_batch_still_runs() -> None:
    model = CountingModel()
    batcher = EmbeddingBatcher(model.embed)
    model.release.clear()
    first = asyncio.create_task(batcher.embed("boom"))
    assert await asyncio.to_thread(model.entered.wait, 10)
    second = asyncio.create_task(batcher.embed("fine"))
    await asyncio.sleep(0)
    model.release.set()

    with pytest.raises(RuntimeError, match="model failed"):
        await first
    assert (await second).tolist() == [4.0, ord("f")]
