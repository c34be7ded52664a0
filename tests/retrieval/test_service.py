"""Retriever refreshes: incremental updates equal a fresh build, and a refresh never holds searches up."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import utcnow
from answerdesk.knowledge.models import Chunk, Document
from answerdesk.knowledge.repository import IndexStateRepository
from answerdesk.retrieval.dense import IndexKind
from answerdesk.retrieval.persist import read_manifest
from answerdesk.retrieval.service import Retriever
from answerdesk.runtime import Runtime
from tests.factories import make_org

Vector = npt.NDArray[np.float32]
WORDS = (
    "dns mx record ssl certificate renew backup restore invoice refund mailbox quota spam php cron".split()
)
# Below this many chunks the index stays flat; the HNSW cases set it under the test's corpus size.
FLAT, HNSW = 10_000, 20


class Gate:
    """A ``before_swap`` hook that holds every refresh after the first until the test releases it."""

    def __init__(self) -> None:
        self.armed = False
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, organization_id: uuid.UUID, generation: int) -> None:
        if self.armed:
            self.held.set()
            await self.release.wait()


def unit(rng: np.random.Generator, n: int) -> npt.NDArray[np.float32]:
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


async def add_document(
    db: AsyncSession,
    organization_id: uuid.UUID,
    vectors: npt.NDArray[np.float32],
    *,
    tags: Sequence[str] = (),
    seed: int = 0,
) -> uuid.UUID:
    """A ready document with one chunk per vector; bumps the generation and commits, as ingestion does."""
    rng = np.random.default_rng(seed)
    doc = Document(
        organization_id=organization_id,
        title="Doc",
        source="file",
        filename=f"{uuid.uuid4().hex}.md",
        status="ready",
        chunk_count=len(vectors),
    )
    db.add(doc)
    await db.flush()
    now = utcnow()
    db.add_all(
        Chunk(
            organization_id=organization_id,
            document_id=doc.id,
            position=i,
            section="",
            text=" ".join(rng.choice(WORDS, size=12)),
            kind="text",
            token_count=12,
            content_hash=uuid.uuid4().hex,
            tags=list(tags),
            embedding=vector.astype("<f4").tobytes(),
            created_at=now,
        )
        for i, vector in enumerate(vectors)
    )
    await IndexStateRepository(db).bump(organization_id)
    await db.commit()
    return doc.id


async def delete_document(db: AsyncSession, organization_id: uuid.UUID, document_id: uuid.UUID) -> None:
    await db.execute(sa.delete(Chunk).where(Chunk.document_id == document_id))
    await db.execute(sa.delete(Document).where(Document.id == document_id))
    await IndexStateRepository(db).bump(organization_id)
    await db.commit()


async def live_ids(db: AsyncSession, organization_id: uuid.UUID) -> list[int]:
    await db.commit()  # a fresh snapshot on SQLite
    return sorted(await db.scalars(sa.select(Chunk.id).where(Chunk.organization_id == organization_id)))


def retriever(runtime: Runtime, folder: Path, **options: object) -> Retriever:
    return Retriever(folder, runtime.embedder, **options)  # type: ignore[arg-type]


async def results(
    r: Retriever, db: AsyncSession, organization_id: uuid.UUID, queries: Sequence[Vector]
) -> list[list[tuple[int, float, int | None]]]:
    """Chunk ids, rounded dense scores and BM25 ranks, with and without a tag filter, for each query."""
    found = []
    for i, vector in enumerate(queries):
        for tags in (None, ["billing"]):
            hits = await r.search(db, organization_id, WORDS[i], k=8, tags=tags, query_vector=vector)
            found.append([(h.hit.chunk_id, round(h.dense_score or 0.0, 5), h.keyword_rank) for h in hits])
    return found


@pytest.mark.parametrize("hnsw_threshold", [FLAT, HNSW], ids=["flat", "hnsw"])
async def test_incremental_refresh_gives_what_a_fresh_build_gives(
    db: AsyncSession, runtime: Runtime, tmp_path: Path, hnsw_threshold: int
) -> None:
    org = (await make_org(db)).id
    rng = np.random.default_rng(1)
    queries = list(unit(rng, 4))
    kept = await add_document(db, org, unit(rng, 30), tags=["billing"], seed=1)
    dropped = await add_document(db, org, unit(rng, 20), seed=2)
    live = retriever(runtime, tmp_path / "live", hnsw_threshold=hnsw_threshold)
    await live.index_for(db, org)

    changes = [
        ("add", lambda: add_document(db, org, unit(rng, 15), tags=["billing"], seed=3)),
        ("delete", lambda: delete_document(db, org, dropped)),
        # A re-upload: the same document's chunks replaced by new rows with other tags.
        ("re-upload", lambda: _reupload(db, org, kept, unit(rng, 25))),
    ]
    for what, change in changes:
        await change()
        index = await live.index_for(db, org)
        assert [int(i) for i in index.dense.ids()] == await live_ids(db, org), what
        assert [int(i) for i in index.keyword.ids()] == await live_ids(db, org), what
        fresh = retriever(runtime, tmp_path / f"fresh-{what}", hnsw_threshold=hnsw_threshold)
        assert await results(live, db, org, queries) == await results(fresh, db, org, queries), what
        # The refresh was persisted under the new generation: a restarted process loads it as it is.
        await live.wait_idle(org)
        folder = tmp_path / "live" / str(org)
        assert read_manifest(folder, "dense").generation == index.generation
        restarted = retriever(runtime, tmp_path / "live", hnsw_threshold=hnsw_threshold)
        assert await results(restarted, db, org, queries) == await results(fresh, db, org, queries), what
        if hnsw_threshold == HNSW and what != "add":
            # Updated in place of rebuilt: the removed chunks are tombstones in the graph it served.
            assert index.dense.kind is IndexKind.HNSW and index.dense.deleted_count > 0, what


async def _reupload(
    db: AsyncSession, organization_id: uuid.UUID, document_id: uuid.UUID, vectors: Vector
) -> None:
    await db.execute(sa.delete(Chunk).where(Chunk.document_id == document_id))
    now = utcnow()
    db.add_all(
        Chunk(
            organization_id=organization_id,
            document_id=document_id,
            position=i,
            section="Refunds",
            text=f"refund invoice {i}",
            kind="text",
            token_count=3,
            content_hash=uuid.uuid4().hex,
            tags=["billing", "new"] if i % 2 else [],
            embedding=vector.astype("<f4").tobytes(),
            created_at=now,
        )
        for i, vector in enumerate(vectors)
    )
    await IndexStateRepository(db).bump(organization_id)
    await db.commit()


async def test_search_during_a_refresh_serves_the_previous_index_then_the_new_one(
    db: AsyncSession, runtime: Runtime, tmp_path: Path
) -> None:
    org = (await make_org(db)).id
    rng = np.random.default_rng(2)
    await add_document(db, org, unit(rng, 40), seed=1)
    doomed = await add_document(db, org, unit(rng, 10), seed=2)
    gate = Gate()
    r = retriever(runtime, tmp_path, hnsw_threshold=HNSW, wait_below=0, before_swap=gate)
    await r.index_for(db, org)
    doomed_ids = set(await db.scalars(sa.select(Chunk.id).where(Chunk.document_id == doomed)))
    query = unit(rng, 1)[0]
    gate.armed = True

    await delete_document(db, org, doomed)
    needle = await add_document(db, org, query.reshape(1, -1), seed=3)
    needle_id = await db.scalar(sa.select(Chunk.id).where(Chunk.document_id == needle))

    # The first search after the change starts the refresh and answers from the previous index; so does
    # one while the refresh is held at the gate, however long that takes.
    assert len(await r.search(db, org, "dns", k=50, query_vector=query)) == 40
    await asyncio.wait_for(gate.held.wait(), timeout=30)
    found = await r.search(db, org, "dns", k=50, query_vector=query)
    assert not gate.release.is_set()
    ids = {h.hit.chunk_id for h in found}
    assert needle_id not in ids  # not indexed yet
    assert not ids & doomed_ids  # deleted chunks are never returned, even by the stale index
    assert len(ids) == 40

    gate.release.set()
    await r.wait_idle(org)
    found = await r.search(db, org, "dns", k=50, query_vector=query)
    assert found[0].hit.chunk_id == needle_id
    assert {h.hit.chunk_id for h in found} == set(await live_ids(db, org))


async def test_a_small_index_waits_for_its_refresh(
    db: AsyncSession, runtime: Runtime, tmp_path: Path
) -> None:
    org = (await make_org(db)).id
    rng = np.random.default_rng(3)
    await add_document(db, org, unit(rng, 10))
    r = retriever(runtime, tmp_path, hnsw_threshold=FLAT, wait_below=1_000)
    query = unit(rng, 1)[0]
    assert len(await r.search(db, org, "dns", k=20, query_vector=query)) == 10
    doc = await add_document(db, org, query.reshape(1, -1))
    found = await r.search(db, org, "dns", k=20, query_vector=query)
    assert found[0].hit.document_id == doc and len(found) == 11


async def test_many_deletions_compact_the_graph_after_the_update_is_served(
    db: AsyncSession, runtime: Runtime, tmp_path: Path
) -> None:
    org = (await make_org(db)).id
    rng = np.random.default_rng(4)
    await add_document(db, org, unit(rng, 40))
    doomed = await add_document(db, org, unit(rng, 30))
    r = retriever(runtime, tmp_path, hnsw_threshold=HNSW)
    await r.index_for(db, org)
    await delete_document(db, org, doomed)

    updated = await r.index_for(db, org)
    assert updated.dense.deleted_count == 30 and updated.dense.needs_rebuild
    await r.wait_idle(org)
    compacted = await r.index_for(db, org)
    assert compacted.dense.deleted_count == 0 and compacted.dense.count == 40
    assert compacted.generation == updated.generation
    query = unit(rng, 1)[0]
    fresh = retriever(runtime, tmp_path / "fresh", hnsw_threshold=HNSW)
    assert await results(r, db, org, [query]) == await results(fresh, db, org, [query])


async def test_forget_rebuilds_in_full(db: AsyncSession, runtime: Runtime, tmp_path: Path) -> None:
    org = (await make_org(db)).id
    rng = np.random.default_rng(5)
    await add_document(db, org, unit(rng, 40))
    doomed = await add_document(db, org, unit(rng, 5))
    r = retriever(runtime, tmp_path, hnsw_threshold=HNSW)
    await r.index_for(db, org)
    await delete_document(db, org, doomed)
    assert (await r.index_for(db, org)).dense.deleted_count == 5  # an update leaves tombstones

    r.forget(org)
    rebuilt = await r.index_for(db, org)
    assert rebuilt.dense.deleted_count == 0 and [int(i) for i in rebuilt.dense.ids()] == await live_ids(
        db, org
    )


async def test_a_current_copy_reads_each_chunk_row_once(
    db: AsyncSession, runtime: Runtime, tmp_path: Path
) -> None:
    org = (await make_org(db)).id
    rng = np.random.default_rng(5)
    await add_document(db, org, unit(rng, 10))
    r = retriever(runtime, tmp_path, hnsw_threshold=FLAT, wait_below=1_000)
    query = unit(rng, 1)[0]
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM chunk JOIN document" in statement:
            reads.append(statement)

    sa.event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        first = await r.search(db, org, "dns", k=5, query_vector=query)
        again = await r.search(db, org, "dns", k=5, query_vector=query)
        assert [h.hit for h in again] == [h.hit for h in first] and len(first) == 5
        assert len(reads) == 1
        # A change bumps the generation: the new copy reads its rows from the database again.
        doc = await add_document(db, org, query.reshape(1, -1))
        found = await r.search(db, org, "dns", k=5, query_vector=query)
        assert found[0].hit.document_id == doc and len(reads) == 2
    finally:
        sa.event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
