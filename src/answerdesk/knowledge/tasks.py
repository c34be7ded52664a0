"""Background jobs of the knowledge base: ingest one document, crawl a site or sitemap."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import httpx
import numpy as np
import structlog

from answerdesk.billing.service import BillingService
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.errors import AppError
from answerdesk.kit.jobs import JobContext, task
from answerdesk.knowledge.chunk import Chunk as ChunkDraft
from answerdesk.knowledge.chunk import split_faq
from answerdesk.knowledge.crawl import FetchFailed, fetch, filename_for, sitemap_pages, web_client
from answerdesk.knowledge.embedding import Embedder
from answerdesk.knowledge.models import Chunk, Document, DocumentStatus, SourceKind
from answerdesk.knowledge.phrasings import PhrasingService
from answerdesk.knowledge.pipeline import ChunkBudget, Prepared, prepare_faq, prepare_file
from answerdesk.knowledge.question_vectors import from_blob, question_hash, question_vector
from answerdesk.knowledge.queueing import queue_ingest
from answerdesk.knowledge.repository import (
    ChunkRepository,
    DocumentRepository,
    FaqPhrasingRepository,
    IndexStateRepository,
)
from answerdesk.knowledge.service import (
    CRAWL_TASK,
    INGEST_TASK,
    PHRASINGS_TASK,
    KnowledgeService,
    title_from_filename,
)
from answerdesk.runtime import Runtime

log = structlog.get_logger(__name__)
EMBED_BATCH = 64


@task(INGEST_TASK, timeout_seconds=1800)
async def ingest_document(ctx: JobContext, *, organization_id: str, document_id: str) -> None:
    await run_ingest(ctx.runtime, uuid.UUID(organization_id), uuid.UUID(document_id))


@task(PHRASINGS_TASK, timeout_seconds=60)
async def apply_phrasings(ctx: JobContext, *, organization_id: str, document_id: str) -> None:
    """Re-ingests an FAQ document so the phrasings learned since the last time are in its vectors."""
    async with session_scope(ctx.runtime.sessionmaker) as db:
        await PhrasingService(db, ctx.runtime).reingest(uuid.UUID(organization_id), uuid.UUID(document_id))


@task(CRAWL_TASK, timeout_seconds=1800)
async def crawl(
    ctx: JobContext, *, organization_id: str, url: str, sitemap: bool, max_pages: int, tags: list[str]
) -> None:
    await run_crawl(
        ctx.runtime, uuid.UUID(organization_id), url, sitemap=sitemap, max_pages=max_pages, tags=tags
    )


def budget_of(runtime: Runtime) -> ChunkBudget:
    s = runtime.settings
    return ChunkBudget(
        target=s.chunk_target_tokens, maximum=s.chunk_max_tokens, overlap=s.chunk_overlap_tokens
    )


async def run_ingest(runtime: Runtime, organization_id: uuid.UUID, document_id: uuid.UUID) -> DocumentStatus:
    """Extract, chunk, embed, then swap the document's chunks in one transaction.

    Until that last commit the previous chunks (if any) stay searchable; on failure they are kept and the
    document shows the reason, so nothing half-ingested is ever visible.
    """
    async with session_scope(runtime.sessionmaker) as db:
        doc = await DocumentRepository(db).get(organization_id, document_id)
        if doc is None:
            return DocumentStatus.failed  # deleted while queued: nothing to do
        doc.status, doc.progress, doc.error = DocumentStatus.processing, 5, None
        snapshot = _Snapshot(doc)
        wordings = await FaqPhrasingRepository(db).vectors(organization_id, document_id)
    try:
        prepared = await _prepare(runtime, snapshot)
        await _check_room(runtime, organization_id, document_id, len(prepared.chunks))
        await _set_progress(runtime, organization_id, document_id, 20)
        vectors = await _embed(runtime, [c.embed_text for c in prepared.chunks], organization_id, document_id)
        in_file = {question_hash(pair.question): pair.phrasings for pair in prepared.document.faqs}
        question_vectors = await _embed_questions(runtime, prepared.chunks, wordings, in_file)
    except AppError as exc:
        await _fail(runtime, organization_id, document_id, snapshot.revision, exc.message)
        return DocumentStatus.failed
    except Exception:
        log.exception("knowledge.ingest_failed", document_id=str(document_id))
        await _fail(
            runtime,
            organization_id,
            document_id,
            snapshot.revision,
            "Processing failed because of an internal error; the log has the details.",
        )
        return DocumentStatus.failed
    async with session_scope(runtime.sessionmaker) as db:
        doc = await DocumentRepository(db).get(organization_id, document_id, for_update=True)
        if doc is None or doc.revision != snapshot.revision:
            return DocumentStatus.queued  # deleted or re-queued meanwhile: the newer job does the work
        rows = [
            _chunk_row(doc, draft, vec, question_vectors.get(position))
            for position, (draft, vec) in enumerate(zip(prepared.chunks, vectors, strict=True))
        ]
        await ChunkRepository(db).replace_for_document(doc, rows)
        doc.status, doc.progress, doc.chunk_count = DocumentStatus.ready, 100, len(rows)
        doc.language = prepared.document.language
        doc.ingested_at = utcnow()
        if prepared.document.title and _title_is_placeholder(doc):
            doc.title = prepared.document.title[:300]
        await IndexStateRepository(db).bump(organization_id)
    log.info("knowledge.ingested", document_id=str(document_id), chunks=len(rows))
    return DocumentStatus.ready


async def _check_room(
    runtime: Runtime, organization_id: uuid.UUID, document_id: uuid.UUID, adding: int
) -> None:
    """The plan's knowledge limit, now that the document's size in passages is known (before embedding)."""
    async with session_scope(runtime.sessionmaker) as db:
        doc = await DocumentRepository(db).get(organization_id, document_id)
        replacing = doc.chunk_count if doc is not None else 0
        await BillingService(db, runtime.settings).check_chunks_fit(organization_id, adding, replacing)


def _title_is_placeholder(doc: Document) -> bool:
    """True while the title is only what we made up from the URL or file name, not one the user gave."""
    if doc.source == SourceKind.url:
        return doc.title == doc.url
    if doc.source == SourceKind.file and doc.filename:
        return doc.title == title_from_filename(doc.filename)
    return False


class _Snapshot:
    """What the job needs of the document after its first short transaction has closed."""

    def __init__(self, doc: Document) -> None:
        self.source, self.storage_key, self.filename = doc.source, doc.storage_key, doc.filename
        self.content_type, self.question, self.answer = doc.content_type, doc.question, doc.answer
        self.tags, self.url, self.revision = list(doc.tags or []), doc.url, doc.revision


async def _prepare(runtime: Runtime, snap: _Snapshot) -> Prepared:
    budget = budget_of(runtime)
    if snap.source == SourceKind.faq:
        return prepare_faq(snap.question or "", snap.answer or "", snap.tags, budget)
    if snap.source == SourceKind.url and snap.storage_key is None:
        async with _web_client(runtime) as client:
            page = await fetch(client, snap.url or "")
        return await asyncio.to_thread(
            prepare_file,
            page.content,
            filename=filename_for(page.url, page.content_type),
            content_type=page.content_type,
            budget=budget,
        )
    if snap.storage_key is None:
        raise FetchFailed("The document has no stored original; upload it again.")
    data = await runtime.storage.get(snap.storage_key)
    return await asyncio.to_thread(
        prepare_file,
        data,
        filename=snap.filename or snap.storage_key,
        content_type=snap.content_type,
        budget=budget,
    )


async def _embed(
    runtime: Runtime, texts: Sequence[str], organization_id: uuid.UUID, document_id: uuid.UUID
) -> np.ndarray:
    embedder: Embedder = await runtime.embedder()
    parts = []
    for start in range(0, len(texts), EMBED_BATCH):
        parts.append(await asyncio.to_thread(embedder.embed, texts[start : start + EMBED_BATCH]))
        done = min(len(texts), start + EMBED_BATCH)
        if len(texts) > EMBED_BATCH:
            await _set_progress(runtime, organization_id, document_id, 20 + int(75 * done / len(texts)))
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


async def _embed_questions(
    runtime: Runtime,
    drafts: Sequence[ChunkDraft],
    stored: dict[str, list[bytes]],
    in_file: dict[str, tuple[str, ...]],
) -> dict[int, np.ndarray]:
    """Each FAQ chunk's question vector, by position: customers' questions are matched against it.

    The question's own vector folded with its other phrasings (``question_vectors``): those given in the
    FAQ file itself (``in_file``) and those kept in the database (``stored``, staff's and learned), both
    by question hash.
    """
    questions = {
        i: qa[0] for i, draft in enumerate(drafts) if draft.kind == "faq" and (qa := split_faq(draft.text))
    }
    if not questions:
        return {}
    keys = {i: question_hash(q) for i, q in questions.items()}
    extra = [p for i in questions for p in in_file.get(keys[i], ())]
    embedder: Embedder = await runtime.embedder()
    vectors = await asyncio.to_thread(embedder.embed, [*questions.values(), *extra])
    own, given = vectors[: len(questions)], iter(vectors[len(questions) :])
    out: dict[int, np.ndarray] = {}
    for (i, key), vector in zip(keys.items(), own, strict=True):
        from_file = [next(given) for _ in in_file.get(key, ())]
        out[i] = question_vector(vector, [*from_file, *map(from_blob, stored.get(key, []))])
    return out


def _chunk_row(
    doc: Document, draft: ChunkDraft, vector: np.ndarray, question_vector: np.ndarray | None = None
) -> Chunk:
    return Chunk(
        organization_id=doc.organization_id,
        document_id=doc.id,
        position=draft.position,
        section=draft.section,
        text=draft.text,
        kind=draft.kind,
        token_count=draft.token_count,
        content_hash=draft.content_hash,
        tags=_index_tags([*(doc.tags or []), *draft.tags]),
        embedding=np.asarray(vector, dtype="<f4").tobytes(),
        question_embedding=None
        if question_vector is None
        else np.asarray(question_vector, dtype="<f4").tobytes(),
    )


def _index_tags(tags: Sequence[str]) -> list[str]:
    # Search filters compare lower-case tags; tags from a FAQ file's column arrive as typed ("Billing").
    return sorted({t.strip().lower() for t in tags if t.strip()})


def _web_client(runtime: Runtime) -> httpx.AsyncClient:
    settings = runtime.settings
    return web_client(timeout=settings.crawl_timeout_seconds, allow_private=settings.crawl_allow_private)


async def _set_progress(
    runtime: Runtime, organization_id: uuid.UUID, document_id: uuid.UUID, value: int
) -> None:
    async with session_scope(runtime.sessionmaker) as db:
        doc = await DocumentRepository(db).get(organization_id, document_id)
        if doc is not None and doc.status == DocumentStatus.processing:
            doc.progress = value


async def _fail(
    runtime: Runtime, organization_id: uuid.UUID, document_id: uuid.UUID, revision: int, reason: str
) -> None:
    async with session_scope(runtime.sessionmaker) as db:
        doc = await DocumentRepository(db).get(organization_id, document_id, for_update=True)
        if doc is not None and doc.revision == revision:
            doc.status, doc.error, doc.progress = DocumentStatus.failed, reason[:2000], 0
    log.info("knowledge.ingest_rejected", document_id=str(document_id), reason=reason)


async def run_crawl(
    runtime: Runtime,
    organization_id: uuid.UUID,
    url: str,
    *,
    sitemap: bool,
    max_pages: int,
    tags: Sequence[str],
) -> list[uuid.UUID]:
    """Turns a page, or every page of a sitemap (same host, at most max_pages), into URL documents."""
    if sitemap:
        async with _web_client(runtime) as client:
            urls = await sitemap_pages(client, url, limit=min(max_pages, runtime.settings.crawl_max_pages))
    else:
        urls = [url]
    ids: list[uuid.UUID] = []
    async with session_scope(runtime.sessionmaker) as db:
        service = KnowledgeService.of(db, runtime)
        for page_url in urls:
            doc = await service.add_url(organization_id, page_url, tags=tags)
            ids.append(doc.id)
            # The revision in the id: a job still running for an older revision must not swallow this one.
            queue_ingest(db, runtime, doc)
    return ids
