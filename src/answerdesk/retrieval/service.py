"""Hybrid retrieval per organization: FAISS + BM25 built from the database, fused, synced by generation."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.knowledge.embedding import MODEL_NAME, Embedder
from answerdesk.knowledge.repository import ChunkHit, ChunkRepository, ChunkRow, IndexStateRepository
from answerdesk.retrieval.dense import DenseIndex
from answerdesk.retrieval.fusion import DEFAULT_RRF_K, DEFAULT_WEIGHTS, fuse_explained
from answerdesk.retrieval.keyword import KeywordIndex
from answerdesk.retrieval.persist import IndexLoadError, id_checksum

log = structlog.get_logger(__name__)

# How many candidates each list contributes before fusion.
CANDIDATES_PER_LIST = 50


@dataclass(frozen=True)
class Retrieved:
    """A search hit with what callers need to cite it and to judge how relevant it is."""

    hit: ChunkHit
    score: float  # fused RRF score: only comparable within one query
    dense_score: float | None  # cosine similarity of query and chunk, when the dense list had it
    keyword_rank: int | None


@dataclass
class OrgIndex:
    generation: int
    dense: DenseIndex
    keyword: KeywordIndex
    tags: dict[int, frozenset[str]] = field(default_factory=dict)
    built_at: float = field(default_factory=time.monotonic)

    def allowed(self, wanted: Sequence[str] | None) -> set[int] | None:
        if not wanted:
            return None
        want = {t.strip().lower() for t in wanted}
        return {cid for cid, tags in self.tags.items() if tags & want}


class Retriever:
    """Process-wide: keeps each organization's indexes in memory and on disk under ``index_dir``.

    The database is the system of record. Each change bumps the organization's generation; before a
    search this process compares its copy's generation with the database and rebuilds when it is behind,
    so several API processes serve the same results after a change.
    """

    def __init__(
        self, index_dir: Path, embedder: Callable[[], Awaitable[Embedder]], *, hnsw_threshold: int
    ) -> None:
        # One query is far too small to share across OpenMP threads: on 2 busy cores the spin-waits cost
        # 30x (60 ms vs 2 ms for 10k vectors). Concurrency comes from parallel requests instead.
        faiss.omp_set_num_threads(1)
        self.index_dir = index_dir
        self._embedder = embedder
        self.hnsw_threshold = hnsw_threshold
        self._indexes: dict[uuid.UUID, OrgIndex] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}

    async def search(
        self,
        db: AsyncSession,
        organization_id: uuid.UUID,
        query: str,
        *,
        k: int = 5,
        tags: Sequence[str] | None = None,
    ) -> list[Retrieved]:
        index = await self.index_for(db, organization_id)
        if index.dense.count == 0:
            return []
        embedder = await self._embedder()
        allowed = index.allowed(tags)
        if allowed is not None and not allowed:
            return []

        def run() -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
            vector = embedder.embed_query(query)
            dense = index.dense.search(vector, CANDIDATES_PER_LIST, allowed_ids=allowed)
            keyword = index.keyword.search(query, CANDIDATES_PER_LIST, allowed_ids=allowed)
            return dense, keyword

        dense, keyword = await asyncio.to_thread(run)
        # Weights chosen on in-domain data (bench/retrieval_quality.py): dense 0.8 / BM25 0.2 at k=20 matches
        # dense alone on support questions and keeps BM25's lift on exact names and codes.
        fused = fuse_explained([dense, keyword], list(DEFAULT_WEIGHTS), k=DEFAULT_RRF_K, limit=k)
        dense_scores = dict(dense)
        hits = await ChunkRepository(db).hits(organization_id, [f.id for f in fused])
        return [
            Retrieved(
                hit=hits[f.id], score=f.score, dense_score=dense_scores.get(f.id), keyword_rank=f.ranks[1]
            )
            for f in fused
            if f.id in hits  # a chunk deleted since the index was built is skipped
        ]

    async def index_for(self, db: AsyncSession, organization_id: uuid.UUID) -> OrgIndex:
        generation = await IndexStateRepository(db).generation(organization_id)
        current = self._indexes.get(organization_id)
        if current is not None and current.generation == generation:
            return current
        lock = self._locks.setdefault(organization_id, asyncio.Lock())
        async with lock:
            current = self._indexes.get(organization_id)
            if current is not None and current.generation == generation:
                return current
            index = await self._load_or_build(db, organization_id, generation)
            newest = self._indexes.get(organization_id)
            if newest is None or newest.generation <= index.generation:
                self._indexes[organization_id] = index
            return index

    def forget(self, organization_id: uuid.UUID) -> None:
        """Drops this process's copy. Files need no deleting: a generation bump already makes them stale."""
        self._indexes.pop(organization_id, None)

    def _dir(self, organization_id: uuid.UUID) -> Path:
        return self.index_dir / str(organization_id)

    async def _load_or_build(self, db: AsyncSession, organization_id: uuid.UUID, generation: int) -> OrgIndex:
        chunks = ChunkRepository(db)
        keys = await chunks.index_keys(organization_id)
        ids = np.array([cid for cid, _ in keys], dtype=np.int64)
        tags = {cid: frozenset(t) for cid, t in keys}
        folder = self._dir(organization_id)
        checksum = id_checksum(ids)

        def load() -> OrgIndex:
            dense = DenseIndex.load(
                folder,
                model_name=MODEL_NAME,
                expected_generation=generation,
                expected_id_checksum=checksum,
                hnsw_threshold=self.hnsw_threshold,
            )
            keyword = KeywordIndex.load(folder, expected_generation=generation, expected_id_checksum=checksum)
            return OrgIndex(generation, dense, keyword, tags)

        def build_all_threads(rows: Sequence[ChunkRow]) -> OrgIndex:
            # Building an HNSW graph is one big job that does use every core; searches go back to one.
            faiss.omp_set_num_threads(os.cpu_count() or 1)
            try:
                return build(rows)
            finally:
                faiss.omp_set_num_threads(1)

        def build(rows: Sequence[ChunkRow]) -> OrgIndex:
            ids = np.array([r.id for r in rows], dtype=np.int64)
            vectors = (
                np.frombuffer(b"".join(r.embedding for r in rows), dtype="<f4").reshape(len(rows), -1)
                if rows
                else np.zeros((0, 384), dtype=np.float32)
            )
            dense = DenseIndex.build(ids, vectors, model_name=MODEL_NAME, hnsw_threshold=self.hnsw_threshold)
            keyword = KeywordIndex.build(
                ids, [f"{r.section}\n{r.text}" if r.section else r.text for r in rows]
            )
            try:
                dense.save(folder, generation=generation)
                keyword.save(folder, generation=generation)
            except OSError as exc:  # a full or read-only disk costs a rebuild at the next start, not a search
                log.warning("retrieval.save_failed", organization_id=str(organization_id), error=str(exc))
            return OrgIndex(generation, dense, keyword, {r.id: frozenset(r.tags) for r in rows})

        started = time.perf_counter()
        try:
            index = await asyncio.to_thread(load)
            how = "loaded"
        except IndexLoadError as exc:
            # A stale or damaged file is never trusted: rebuild from the database.
            log.info("retrieval.rebuild", organization_id=str(organization_id), reason=str(exc))
            rows = await chunks.rows_for_index(organization_id)
            index = await asyncio.to_thread(build_all_threads, rows)
            how = "built"
        log.info(
            "retrieval.index_ready",
            organization_id=str(organization_id),
            generation=generation,
            chunks=len(ids),
            how=how,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return index
