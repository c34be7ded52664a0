"""The retriever's byte-bounded index cache: eviction by bytes, reload from files, hot organizations stay."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from answerdesk.knowledge.embedding import Embedder
from answerdesk.retrieval.cache import ByteBoundedLRU
from answerdesk.retrieval.service import Retriever
from answerdesk.runtime import Runtime
from tests.factories import make_org
from tests.retrieval.test_service import FLAT, add_document, results, retriever, unit


def test_lru_evicts_least_recently_used_past_the_budget() -> None:
    cache: ByteBoundedLRU[str, bytes] = ByteBoundedLRU(100, len)
    cache.put("a", b"x" * 40)
    cache.put("b", b"x" * 40)
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.put("c", b"x" * 40)
    assert cache.keys() == ["a", "c"] and cache.bytes == 80 and cache.evictions == 1
    cache.put("a", b"x" * 10)  # replacing re-counts the size
    assert cache.bytes == 50
    assert cache.peek("c") is not None and cache.keys() == ["c", "a"]  # peek does not touch


def test_lru_keeps_one_value_larger_than_the_budget() -> None:
    cache: ByteBoundedLRU[str, bytes] = ByteBoundedLRU(10, len)
    cache.put("a", b"x" * 5)
    cache.put("big", b"x" * 50)
    assert cache.keys() == ["big"] and cache.bytes == 50


def test_lru_unbounded_never_evicts() -> None:
    cache: ByteBoundedLRU[int, bytes] = ByteBoundedLRU(None, len)
    for i in range(100):
        cache.put(i, b"x" * 1000)
    assert len(cache) == 100 and cache.evictions == 0
    with pytest.raises(ValueError):
        ByteBoundedLRU(-1, len)


async def _orgs(db: AsyncSession, count: int, chunks: int) -> list[uuid.UUID]:
    rng = np.random.default_rng(11)
    orgs = []
    for i in range(count):
        org = (await make_org(db)).id
        await add_document(db, org, unit(rng, chunks), tags=["billing"] if i % 2 else [], seed=i)
        orgs.append(org)
    return orgs


async def test_indexes_past_the_budget_are_evicted_and_reload_from_files_with_the_same_hits(
    db: AsyncSession, runtime: Runtime, tmp_path: Path
) -> None:
    orgs = await _orgs(db, 4, 60)
    queries = list(unit(np.random.default_rng(12), 3))
    unbounded = retriever(runtime, tmp_path / "a", hnsw_threshold=FLAT)
    before = {org: await results(unbounded, db, org, queries) for org in orgs}
    one = (await unbounded.index_for(db, orgs[0])).nbytes
    assert 60 * 384 * 4 < one < 60 * 384 * 4 * 3  # vectors dominate; BM25 and tags add the rest

    # Room for two indexes: each new one evicts the least recently used.
    bounded = retriever(runtime, tmp_path / "a", hnsw_threshold=FLAT, cache_bytes=int(one * 2.5))
    for org in orgs:
        await bounded.index_for(db, org)
        await bounded.wait_idle(org)
    cache = bounded._indexes
    assert cache.keys() == orgs[2:] and cache.bytes <= int(one * 2.5) and cache.evictions == 2

    with capture_logs() as logs:
        assert await results(bounded, db, orgs[0], queries) == before[orgs[0]]
    ready = [e for e in logs if e["event"] == "retrieval.index_ready"]
    assert [(e["organization_id"], e["how"]) for e in ready] == [(str(orgs[0]), "loaded")]
    assert cache.keys() == [orgs[3], orgs[0]]
    for org in orgs:
        assert await results(bounded, db, org, queries) == before[org]


async def test_an_evicted_index_without_files_is_rebuilt_from_the_database(
    db: AsyncSession, runtime: Runtime, tmp_path: Path
) -> None:
    orgs = await _orgs(db, 2, 40)
    query = unit(np.random.default_rng(13), 1)
    reference = await results(retriever(runtime, tmp_path / "ref", hnsw_threshold=FLAT), db, orgs[0], query)
    r = retriever(runtime, tmp_path / "b", hnsw_threshold=FLAT, cache_bytes=1)
    await r.index_for(db, orgs[0])
    await r.wait_idle(orgs[0])
    await r.index_for(db, orgs[1])
    assert r._indexes.keys() == [orgs[1]]
    for path in (tmp_path / "b" / str(orgs[0])).rglob("*"):
        if path.is_file():
            path.write_bytes(b"damaged")
    with capture_logs() as logs:
        assert await results(r, db, orgs[0], query) == reference
    assert [e["how"] for e in logs if e["event"] == "retrieval.index_ready"] == ["built"]


async def test_a_hot_organization_stays_cached_while_others_cycle(
    db: AsyncSession, runtime: Runtime, tmp_path: Path
) -> None:
    hot, *others = await _orgs(db, 5, 30)
    query = unit(np.random.default_rng(14), 1)[0]
    r = retriever(runtime, tmp_path, hnsw_threshold=FLAT)
    one = (await r.index_for(db, hot)).nbytes
    r._indexes.max_bytes = int(one * 2.5)  # the hot one and one other
    for org in others * 2:
        await r.search(db, hot, "dns", query_vector=query)
        await r.search(db, org, "dns", query_vector=query)
        await r.wait_idle(org)
    assert hot in r._indexes and r._indexes.evictions >= 6


async def test_a_search_running_on_an_evicted_index_finishes_on_it(
    db: AsyncSession, runtime: Runtime, tmp_path: Path
) -> None:
    orgs = await _orgs(db, 2, 50)
    reference = await retriever(runtime, tmp_path / "ref", hnsw_threshold=FLAT).search(
        db, orgs[0], "dns backup", k=10
    )
    entered, release = asyncio.Event(), asyncio.Event()
    blocking = False

    async def embedder() -> Embedder:
        # Searches ask for the embedder after taking their index: hold the first one there.
        if blocking:
            entered.set()
            await release.wait()
        return await runtime.embedder()

    r = Retriever(tmp_path / "c", embedder, hnsw_threshold=FLAT, cache_bytes=1)
    await r.index_for(db, orgs[0])
    held = r._indexes.peek(orgs[0])
    blocking = True
    search = asyncio.create_task(r.search(db, orgs[0], "dns backup", k=10))
    await asyncio.wait_for(entered.wait(), timeout=30)
    blocking = False
    await r.index_for(db, orgs[1])  # evicts orgs[0] while its search holds the index
    assert orgs[0] not in r._indexes and held is not None
    release.set()
    found = await asyncio.wait_for(search, timeout=60)
    assert [h.hit.chunk_id for h in found] == [h.hit.chunk_id for h in reference]
    assert len(found) == 10
