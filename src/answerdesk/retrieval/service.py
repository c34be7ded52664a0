"""Hybrid retrieval per organization: FAISS + BM25 built from the database, fused, synced by generation."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import faiss
import numpy as np
import numpy.typing as npt
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from answerdesk.kit import metrics
from answerdesk.kit.db import create_sessionmaker
from answerdesk.kit.logging import log_task_failure
from answerdesk.knowledge.chunk import split_faq
from answerdesk.knowledge.embedding import MODEL_NAME, Embedder
from answerdesk.knowledge.repository import (
    ChunkHit,
    ChunkRepository,
    ChunkRow,
    FaqQuestionRow,
    IndexStateRepository,
)
from answerdesk.retrieval.cache import ByteBoundedLRU
from answerdesk.retrieval.dense import DenseIndex, IndexKind
from answerdesk.retrieval.fusion import (
    DEFAULT_RRF_K,
    DEFAULT_WEIGHTS,
    FAQ_QUESTION_WEIGHT,
    FAQ_WEIGHTS,
    FusedHit,
    blend_faq,
    fuse_explained,
)
from answerdesk.retrieval.keyword import KeywordIndex
from answerdesk.retrieval.persist import IndexLoadError, id_checksum, remove_superseded

log = structlog.get_logger(__name__)

# How many candidates each list contributes before fusion.
CANDIDATES_PER_LIST = 50
# Memory for chunk rows (text, title, source) of recent hits, all organizations together: a search of a
# current index copy then reads none from the database (see Retriever.search). A document's title can
# change without new chunks (a new version uploaded, until it is ingested): a kept row is read again after
# ROW_CACHE_SECONDS.
ROW_CACHE_BYTES = 16 * 1024 * 1024
ROW_CACHE_SECONDS = 60.0
# Up to this many chunks, a search with the query's vector given (two dense lists and BM25) takes under
# 0.4 ms: it runs on the event loop, as reaching a worker thread costs more, and in a burst of chat messages
# a turn of the loop. Larger indexes, or a query still to embed, search in a thread so the loop keeps serving.
INLINE_SEARCH_MAX_CHUNKS = 5_000
# Below this many chunks a refresh takes well under a second, so a search waits for it and sees the change.
# Above, a search serves the previous copy instead: even a short grace period for the refresh (0.2 s was
# tried) showed up in every search made while a 100k-chunk refresh ran (p50 8 ms -> 260 ms).
DEFAULT_WAIT_BELOW = 5_000

T = TypeVar("T")
SessionOpener = Callable[[], AbstractAsyncContextManager[AsyncSession]]
BeforeSwap = Callable[[uuid.UUID, int], Awaitable[None]]


@dataclass(frozen=True)
class Retrieved:
    """A search hit with what callers need to cite it and to judge how relevant it is."""

    hit: ChunkHit
    score: float  # fused RRF score: only comparable within one query
    dense_score: float | None  # cosine similarity of query and chunk, when the dense list had it
    keyword_rank: int | None
    question_score: float | None = None  # FAQ chunks: cosine of the query and the FAQ's question alone
    coverage: float = 0.0  # IDF-weighted share of the asked words found in the chunk (0 when none given)

    @property
    def similarity(self) -> float:
        """The better of the chunk's and its FAQ question's cosine (0 when neither list had it)."""
        return max(self.dense_score or 0.0, self.question_score or 0.0)


@dataclass
class OrgIndex:
    """One organization's indexes as of ``generation``; never changed once published (updates copy)."""

    generation: int
    dense: DenseIndex
    keyword: KeywordIndex
    tags: dict[int, frozenset[str]] = field(default_factory=dict)
    built_at: float = field(default_factory=time.monotonic)
    # FAQ chunks' questions embedded on their own, keyed by chunk id: matched with no embedding at query time.
    questions: DenseIndex = field(default_factory=lambda: DenseIndex(model_name=MODEL_NAME))

    @property
    def nbytes(self) -> int:
        """Estimated memory held, for the cache budget (``ANSWERDESK_INDEX_CACHE_MB``)."""
        # Each chunk's tag set is its own frozenset (216+ bytes) in a dict slot with an int key.
        tags = sum(sys.getsizeof(t) + 48 for t in self.tags.values())
        return self.dense.nbytes + self.questions.nbytes + self.keyword.nbytes + tags

    def allowed(self, wanted: Sequence[str] | None) -> set[int] | None:
        if not wanted:
            return None
        want = {t.strip().lower() for t in wanted}
        return {cid for cid, tags in self.tags.items() if tags & want}


class Retriever:
    """Process-wide: keeps each organization's indexes in memory and on disk under ``index_dir``.

    The database is the system of record. Each change bumps the organization's generation; before a
    search this process compares its copy's generation with the database and, when behind, refreshes
    its copy in a background task with its own database session (one task per organization at a time):

    * incrementally when it has a copy: chunk rows are immutable (a re-upload gives new ids, SQLite
      ids are never reused), so diffing the live ids against the copy's is enough. Deleted ids are
      removed (tombstones on HNSW), new ones are added from their stored embeddings, and BM25, whose
      statistics are corpus-wide, is rebuilt from the texts (seconds, not the minute an HNSW graph
      takes). Updates go to copies, so searches keep using the published copy meanwhile. When
      tombstones or growth past the HNSW threshold call for it, a compaction follows in another task
      after the updated copy is already serving;
    * in full when there is no copy (loading the saved files first if they match the database) or
      after ``forget``.

    A search waits for the refresh when the index is small (cheap) or has no copy yet (nothing else to
    serve); otherwise it starts the refresh and serves the previous copy, stale by the changes still
    being indexed (~9 s for a new document at 100,000 chunks). A chunk deleted since is never
    returned: hits are read back from the database, which drops missing ids. Several processes
    converge because each refresh lands on the database's generation.

    Published copies live in a byte-bounded LRU (``cache_bytes``, None = unbounded). An evicted
    organization has no copy: its next search loads the saved files (or rebuilds from the database
    when they are stale), as after a restart. Eviction drops only the cache's reference, so a search
    already running on that copy finishes on it; nothing else keeps a published copy alive (finished
    refresh tasks are dropped, since a task holds its result).
    """

    def __init__(
        self,
        index_dir: Path,
        embedder: Callable[[], Awaitable[Embedder]],
        *,
        hnsw_threshold: int,
        wait_below: int = DEFAULT_WAIT_BELOW,
        before_swap: BeforeSwap | None = None,
        cache_bytes: int | None = None,
    ) -> None:
        """``before_swap(organization_id, generation)`` is awaited just before a refresh publishes."""
        # One query is far too small to share across OpenMP threads: on 2 busy cores the spin-waits cost
        # 30x (60 ms vs 2 ms for 10k vectors). Concurrency comes from parallel requests instead.
        faiss.omp_set_num_threads(1)
        self.index_dir = index_dir
        self._embedder = embedder
        self.hnsw_threshold = hnsw_threshold
        self.wait_below = wait_below
        self._before_swap = before_swap
        self._indexes: ByteBoundedLRU[uuid.UUID, OrgIndex] = ByteBoundedLRU(cache_bytes, _index_bytes)
        self._refreshing: dict[uuid.UUID, asyncio.Task[OrgIndex]] = {}
        self._compacting: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._full_wanted: set[uuid.UUID] = set()
        self._save_locks: dict[uuid.UUID, asyncio.Lock] = {}
        # (organization, chunk id) -> (time.monotonic() until which it is kept, row)
        self._rows: ByteBoundedLRU[tuple[uuid.UUID, int], tuple[float, ChunkHit]] = ByteBoundedLRU(
            ROW_CACHE_BYTES, _row_bytes
        )

    async def search(
        self,
        db: AsyncSession,
        organization_id: uuid.UUID,
        query: str,
        *,
        k: int = 5,
        tags: Sequence[str] | None = None,
        query_vector: npt.NDArray[np.float32] | None = None,
        words: Sequence[str] = (),
        generation: int | None = None,
    ) -> list[Retrieved]:
        """Top ``k`` chunks for ``query``; a given ``query_vector`` (normalised embedding) is used as is.

        An FAQ chunk's meaning score blends its question's cosine with its own (``blend_faq``): a short
        question matches a short FAQ question far more closely than the whole entry. ``words``
        (the query's content words, as ``tokenize`` makes them) are looked up in each hit for ``coverage``.
        ``generation``: the organization's index generation if the caller has just read it (``generation``).
        """
        if generation is None:
            generation = await IndexStateRepository(db).generation(organization_id)
        index = await self._serving_index(db, organization_id, generation)
        if index.dense.count == 0:
            return []
        allowed = index.allowed(tags)
        if allowed is not None and not allowed:
            return []
        embedder = await self._embedder() if query_vector is None else None

        Lists = tuple[list[tuple[int, float]], list[tuple[int, float]], list[tuple[int, float]]]

        def run() -> tuple[Lists, list[FusedHit], dict[int, float]]:
            vector = query_vector
            if vector is None:
                assert embedder is not None
                vector = embedder.embed_query(query)
            dense = index.dense.search(vector, CANDIDATES_PER_LIST, allowed_ids=allowed)
            questions = index.questions.search(vector, CANDIDATES_PER_LIST, allowed_ids=allowed)
            seen = {cid for cid, _ in dense}
            if unseen := [cid for cid, _ in questions if cid not in seen]:
                # Found by its question only: its entry's own cosine is needed for the blend (exact lookup).
                dense = [*dense, *index.dense.search(vector, len(unseen), allowed_ids=unseen)]
            keyword = index.keyword.search(query, CANDIDATES_PER_LIST, allowed_ids=allowed)
            # Weights chosen on in-domain data (bench/retrieval_quality.py): meaning 0.8 / BM25 0.2 at k=20
            # matches dense alone on support questions and keeps BM25's lift on exact names and codes;
            # FAQ entries, matched by their curated question, take keywords at a trace (FAQ_WEIGHTS).
            fused = fuse_explained(
                [blend_faq(dense, questions, FAQ_QUESTION_WEIGHT), keyword],
                list(DEFAULT_WEIGHTS),
                k=DEFAULT_RRF_K,
                limit=k,
                item_weights={cid: FAQ_WEIGHTS for cid, _ in (*dense, *keyword) if cid in index.questions},
            )
            coverage = index.keyword.coverage(words, [f.id for f in fused]) if words else {}
            return (dense, questions, keyword), fused, coverage

        # OpenMP's thread count is per thread: the thread that runs this must be set to one too.
        if index.dense.count <= INLINE_SEARCH_MAX_CHUNKS and query_vector is not None:
            (dense, questions, _), fused, coverage = _with_omp_threads(1, run)
        else:
            (dense, questions, _), fused, coverage = await asyncio.to_thread(_with_omp_threads, 1, run)
        dense_scores, question_scores = dict(dense), dict(questions)
        ids = [f.id for f in fused]
        # A copy at the database's generation returns only chunks that exist (every change to them bumps
        # it), and a chunk's row never changes (new text is a new chunk): rows read once serve later
        # searches. A copy behind (a large index being refreshed) reads them, so chunks deleted since are
        # dropped.
        current = index.generation == generation
        hits = self._known_rows(organization_id, ids) if current else None
        if hits is None:
            hits = await ChunkRepository(db).hits(organization_id, ids)
            if current:
                until = time.monotonic() + ROW_CACHE_SECONDS
                for cid, hit in hits.items():
                    self._rows.put((organization_id, cid), (until, hit))
        return [
            Retrieved(
                hit=hits[f.id],
                score=f.score,
                dense_score=dense_scores.get(f.id),
                keyword_rank=f.ranks[1],
                question_score=question_scores.get(f.id),
                coverage=coverage.get(f.id, 0.0),
            )
            for f in fused
            if f.id in hits  # a chunk deleted since the index was built is skipped
        ]

    async def generation(self, db: AsyncSession, organization_id: uuid.UUID) -> int:
        """The organization's index generation in the database: what a search would compare its copy with."""
        return await IndexStateRepository(db).generation(organization_id)

    async def index_for(self, db: AsyncSession, organization_id: uuid.UUID) -> OrgIndex:
        """The index at the database's current generation, waiting for a refresh when this copy is behind."""
        generation = await IndexStateRepository(db).generation(organization_id)
        return await self._current(db, organization_id, generation)

    def forget(self, organization_id: uuid.UUID) -> None:
        """Makes the next refresh rebuild from the database in full rather than update this copy.

        The copy keeps serving meanwhile (a search of a small index waits for the rebuild). Files need
        no deleting: the generation bump that comes with a reindex makes them stale.
        """
        self._full_wanted.add(organization_id)

    async def purge_superseded(self, organization_id: uuid.UUID) -> None:
        """Deletes the organization's superseded snapshots from disk now (they are otherwise kept a minute
        for readers): after an erasure, the words erased must not stay in any file (nor in kept rows)."""
        self._forget_rows(organization_id)
        await asyncio.to_thread(remove_superseded, self._dir(organization_id))

    def _known_rows(self, organization_id: uuid.UUID, chunk_ids: Sequence[int]) -> dict[int, ChunkHit] | None:
        """The kept rows of these chunks if all are kept, else None."""
        found: dict[int, ChunkHit] = {}
        now = time.monotonic()
        for cid in chunk_ids:
            kept = self._rows.get((organization_id, cid))
            if kept is None or kept[0] <= now:
                return None
            found[cid] = kept[1]
        return found

    def _forget_rows(self, organization_id: uuid.UUID) -> None:
        for key in self._rows.keys():  # noqa: SIM118 - a copied list, not a dict: discarding is safe
            if key[0] == organization_id:
                self._rows.discard(key)

    async def drop(self, organization_id: uuid.UUID) -> None:
        """Forgets a deleted organization: its copy in memory, its running work and its files on disk.

        Refreshes and compactions are cancelled first so that none saves a snapshot after the folder is gone.
        """
        running = (self._refreshing.pop(organization_id, None), self._compacting.pop(organization_id, None))
        tasks = [t for t in running if t is not None]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._indexes.discard(organization_id)
        self._forget_rows(organization_id)
        self._full_wanted.discard(organization_id)
        lock = self._save_locks.pop(organization_id, None)
        if lock is not None:
            async with lock:  # a save already writing finishes before its folder is removed
                pass
        await asyncio.to_thread(shutil.rmtree, self._dir(organization_id), ignore_errors=True)

    def holds(self, organization_id: uuid.UUID) -> bool:
        """Whether this process keeps a copy of the organization's index in memory."""
        return organization_id in self._indexes

    async def wait_idle(self, organization_id: uuid.UUID) -> None:
        """Until no refresh or compaction of this organization is running (tests, benchmarks, shutdown)."""
        tasks = (self._refreshing.get(organization_id), self._compacting.get(organization_id))
        while pending := [t for t in tasks if t is not None and not t.done()]:
            await asyncio.wait(pending)
            tasks = (self._refreshing.get(organization_id), self._compacting.get(organization_id))

    def _fresh(self, organization_id: uuid.UUID, index: OrgIndex | None, generation: int) -> bool:
        return (
            index is not None and index.generation >= generation and organization_id not in self._full_wanted
        )

    async def _serving_index(self, db: AsyncSession, organization_id: uuid.UUID, generation: int) -> OrgIndex:
        current = self._indexes.get(organization_id)
        if self._fresh(organization_id, current, generation):
            assert current is not None
            return current
        if current is None or current.dense.count < self.wait_below or not _detachable(db):
            return await self._current(db, organization_id, generation)
        self._refresh(db, organization_id)
        return current

    async def _current(self, db: AsyncSession, organization_id: uuid.UUID, generation: int) -> OrgIndex:
        # A refresh already running may have read an older generation than ours: then start the next one.
        while True:
            current = self._indexes.get(organization_id)
            if self._fresh(organization_id, current, generation):
                assert current is not None
                return current
            # The refresh's own result, not the cache: under memory pressure it may be evicted already.
            refreshed = await asyncio.shield(self._refresh(db, organization_id))
            if self._fresh(organization_id, refreshed, generation):
                return refreshed

    def _refresh(self, db: AsyncSession, organization_id: uuid.UUID) -> asyncio.Task[OrgIndex]:
        """The organization's running refresh, or a new one."""
        task = self._refreshing.get(organization_id)
        if task is not None and not task.done():
            return task
        if _detachable(db):
            opener: SessionOpener = create_sessionmaker(_engine(db))
        else:  # bound to one connection: the caller waits for the refresh, so its session may be shared
            opener = _borrowed(db)
        task = asyncio.get_running_loop().create_task(
            self._run_refresh(organization_id, opener, writable=_detachable(db))
        )
        self._refreshing[organization_id] = task
        task.add_done_callback(lambda t: self._refresh_done(t, organization_id))
        return task

    def _refresh_done(self, task: asyncio.Task[OrgIndex], organization_id: uuid.UUID) -> None:
        # A finished task holds its index: kept here, it would outlive the copy's eviction from the cache.
        if self._refreshing.get(organization_id) is task:
            del self._refreshing[organization_id]
        log_task_failure(task, "retrieval.refresh_failed", organization_id=str(organization_id))

    async def _run_refresh(
        self, organization_id: uuid.UUID, open_session: SessionOpener, *, writable: bool = False
    ) -> OrgIndex:
        """``writable``: the sessions are this refresh's own, so it may store FAQ question vectors it made."""
        full = organization_id in self._full_wanted
        self._full_wanted.discard(organization_id)
        current = self._indexes.peek(organization_id)
        started = time.perf_counter()
        try:
            if current is None or full:
                index, how = await self._load_or_build(open_session, organization_id, full=full)
            else:
                index, how = await self._update(open_session, organization_id, current)
            index.questions = await self._questions(open_session, organization_id, writable=writable)
        except BaseException:
            if full:
                self._full_wanted.add(organization_id)
            raise
        metrics.INDEX_REFRESHES.labels(how).inc()
        if self._before_swap is not None:
            await self._before_swap(organization_id, index.generation)
        self._publish(organization_id, index)
        log.info(
            "retrieval.index_ready",
            organization_id=str(organization_id),
            generation=index.generation,
            chunks=index.dense.count,
            how=how,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        if how != "loaded":
            await self._save(organization_id, index)
        if index.dense.needs_rebuild and not self._compacting.get(organization_id):
            task = asyncio.get_running_loop().create_task(self._compact(organization_id, index))
            self._compacting[organization_id] = task
            task.add_done_callback(lambda t: self._compaction_done(t, organization_id))
        return index

    async def _questions(
        self, open_session: SessionOpener, organization_id: uuid.UUID, *, writable: bool
    ) -> DenseIndex:
        """The FAQ-question index, read from the database (FAQ chunks only: small next to the chunks).

        FAQ chunks ingested before chunks carried a question vector get one here, once: it is embedded
        and, when this refresh has its own session, stored, so the next build only reads it.
        """
        async with open_session() as db:
            rows = await ChunkRepository(db).faq_questions(organization_id)
        missing = [(r, qa[0]) for r in rows if r.question_embedding is None and (qa := split_faq(r.text))]
        made: dict[int, bytes] = {}
        if missing:
            embedder = await self._embedder()
            vectors = await asyncio.to_thread(embedder.embed, [question for _, question in missing])
            made = {
                r.id: np.asarray(v, dtype="<f4").tobytes() for (r, _), v in zip(missing, vectors, strict=True)
            }
            if writable:
                async with open_session() as db:
                    await ChunkRepository(db).set_question_embeddings(organization_id, made)
                    await db.commit()
            log.info(
                "retrieval.faq_questions_backfilled",
                organization_id=str(organization_id),
                count=len(made),
                stored=writable,
            )
        return await asyncio.to_thread(_question_index, rows, made)

    def _publish(self, organization_id: uuid.UUID, index: OrgIndex) -> None:
        newest = self._indexes.peek(organization_id)
        if newest is None or newest.generation <= index.generation:
            self._indexes.put(organization_id, index)

    async def _load_or_build(
        self, open_session: SessionOpener, organization_id: uuid.UUID, *, full: bool
    ) -> tuple[OrgIndex, str]:
        async with open_session() as db:
            generation = await IndexStateRepository(db).generation(organization_id)
            keys = await ChunkRepository(db).index_keys(organization_id)
        if not full:
            checksum = id_checksum(np.array([cid for cid, _ in keys], dtype=np.int64))
            tags = {cid: frozenset(t) for cid, t in keys}
            try:
                return await asyncio.to_thread(
                    self._load, organization_id, generation, checksum, tags
                ), "loaded"
            except IndexLoadError as exc:
                # A stale or damaged file is never trusted: rebuild from the database.
                log.info("retrieval.rebuild", organization_id=str(organization_id), reason=str(exc))
        async with open_session() as db:
            generation = await IndexStateRepository(db).generation(organization_id)
            rows = await ChunkRepository(db).rows_for_index(organization_id)
        # Nothing is served until this is done (or the caller asked for it), so every core may help.
        index = await asyncio.to_thread(_with_omp_threads, os.cpu_count() or 1, self._build, rows, generation)
        return index, "built"

    def _load(
        self, organization_id: uuid.UUID, generation: int, checksum: str, tags: dict[int, frozenset[str]]
    ) -> OrgIndex:
        folder = self._dir(organization_id)
        dense = DenseIndex.load(
            folder,
            model_name=MODEL_NAME,
            expected_generation=generation,
            expected_id_checksum=checksum,
            hnsw_threshold=self.hnsw_threshold,
        )
        keyword = KeywordIndex.load(folder, expected_generation=generation, expected_id_checksum=checksum)
        return OrgIndex(generation, dense, keyword, tags)

    def _build(self, rows: Sequence[ChunkRow], generation: int) -> OrgIndex:
        ids = np.array([r.id for r in rows], dtype=np.int64)
        dense = DenseIndex.build(
            ids, _vectors(rows), model_name=MODEL_NAME, hnsw_threshold=self.hnsw_threshold
        )
        return OrgIndex(generation, dense, _keyword(rows), _tags(rows))

    async def _update(
        self, open_session: SessionOpener, organization_id: uuid.UUID, current: OrgIndex
    ) -> tuple[OrgIndex, str]:
        indexed = current.dense.ids()
        rows: Sequence[ChunkRow] | None = None
        async with open_session() as db:
            generation = await IndexStateRepository(db).generation(organization_id)
            keys = await ChunkRepository(db).index_keys(organization_id)
            live = np.array([cid for cid, _ in keys], dtype=np.int64)
            added = np.setdiff1d(live, indexed, assume_unique=True)
            keyword = current.keyword.copy()
            keyword.remove(np.setdiff1d(indexed, live, assume_unique=True))
            if len(added) or keyword.needs_rebuild:
                # BM25 takes new texts only by a rebuild from all of them; one read keeps ids and rows in step
                rows = await ChunkRepository(db).rows_for_index(organization_id)
        tags = {cid: frozenset(t) for cid, t in keys}

        def apply() -> OrgIndex:
            dense = current.dense.copy()
            if rows is None:
                dense.remove(np.setdiff1d(indexed, live, assume_unique=True))
                return OrgIndex(generation, dense, keyword, tags)
            row_ids = np.array([r.id for r in rows], dtype=np.int64)
            dense.remove(np.setdiff1d(indexed, row_ids, assume_unique=True))
            new_rows = [r for r in rows if r.id not in dense]
            dense.add([r.id for r in new_rows], _vectors(new_rows))
            return OrgIndex(generation, dense, _keyword(rows), _tags(rows))

        # Searches keep running meanwhile: leave them the other core.
        return await asyncio.to_thread(_with_omp_threads, 1, apply), "updated"

    async def _compact(self, organization_id: uuid.UUID, index: OrgIndex) -> None:
        """Rebuilds a dense index with many tombstones (or past the HNSW threshold) from its own vectors."""
        started = time.perf_counter()
        reason = index.dense.rebuild_reason
        dense = await asyncio.to_thread(_with_omp_threads, 1, index.dense.rebuild)
        if self._indexes.peek(organization_id) is not index:
            # Superseded while compacting (the newer copy compacts in its turn if it needs to), or evicted.
            return
        compacted = OrgIndex(index.generation, dense, index.keyword, index.tags, questions=index.questions)
        self._indexes.put(organization_id, compacted)
        log.info(
            "retrieval.index_compacted",
            organization_id=str(organization_id),
            generation=index.generation,
            reason=reason,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        await self._save(organization_id, compacted)

    def _compaction_done(self, task: asyncio.Task[None], organization_id: uuid.UUID) -> None:
        if self._compacting.get(organization_id) is task:
            del self._compacting[organization_id]
        log_task_failure(task, "retrieval.compaction_failed", organization_id=str(organization_id))

    async def _save(self, organization_id: uuid.UUID, index: OrgIndex) -> None:
        # Refreshes and compactions of one organization may overlap; its folder takes one writer at a time.
        async with self._save_locks.setdefault(organization_id, asyncio.Lock()):
            newest = self._indexes.peek(organization_id)
            if newest is not None and newest is not index:
                return  # a newer copy is saved by its own refresh
            # Evicted before its save ran: still saved, so the reload that follows finds current files.
            folder = self._dir(organization_id)
            try:
                await asyncio.to_thread(index.dense.save, folder, generation=index.generation)
                await asyncio.to_thread(index.keyword.save, folder, generation=index.generation)
            except OSError as exc:  # a full or read-only disk costs a rebuild at the next start, not a search
                log.warning("retrieval.save_failed", organization_id=str(organization_id), error=str(exc))

    def _dir(self, organization_id: uuid.UUID) -> Path:
        return self.index_dir / str(organization_id)


def _index_bytes(index: OrgIndex) -> int:
    return index.nbytes


def _row_bytes(kept: tuple[float, ChunkHit]) -> int:
    # The strings' characters (ASCII mostly) plus the objects and the map's entry.
    hit = kept[1]
    return len(hit.text) + len(hit.title) + len(hit.source) + len(hit.section) + 400


def _detachable(db: AsyncSession) -> bool:
    """Whether a refresh can open its own sessions, and so outlive the request that started it."""
    return isinstance(db.bind, AsyncEngine)


def _engine(db: AsyncSession) -> AsyncEngine:
    assert isinstance(db.bind, AsyncEngine)
    return db.bind


def _borrowed(db: AsyncSession) -> SessionOpener:
    @asynccontextmanager
    async def opener() -> AsyncIterator[AsyncSession]:
        yield db

    return opener


def _with_omp_threads(threads: int, fn: Callable[..., T], *args: object) -> T:
    # OpenMP's thread count is per calling thread, so this leaves concurrent searches at one.
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        return fn(*args)
    finally:
        faiss.omp_set_num_threads(before)


def _vectors(rows: Sequence[ChunkRow]) -> npt.NDArray[np.float32]:
    if not rows:
        return np.zeros((0, 384), dtype=np.float32)
    return np.frombuffer(b"".join(r.embedding for r in rows), dtype="<f4").reshape(len(rows), -1)


def _question_index(rows: Sequence[FaqQuestionRow], made: dict[int, bytes]) -> DenseIndex:
    blobs = [(r.id, r.question_embedding or made.get(r.id)) for r in rows]
    present = [(cid, blob) for cid, blob in blobs if blob]
    vectors = (
        np.frombuffer(b"".join(blob for _, blob in present), dtype="<f4").reshape(len(present), -1)
        if present
        else np.zeros((0, 384), dtype=np.float32)
    )
    # Exact search: an organization has far fewer FAQ entries than chunks.
    return DenseIndex.build([cid for cid, _ in present], vectors, model_name=MODEL_NAME, kind=IndexKind.FLAT)


def _keyword(rows: Sequence[ChunkRow]) -> KeywordIndex:
    return KeywordIndex.build(
        [r.id for r in rows], [f"{r.section}\n{r.text}" if r.section else r.text for r in rows]
    )


def _tags(rows: Sequence[ChunkRow]) -> dict[int, frozenset[str]]:
    return {r.id: frozenset(r.tags) for r in rows}
