"""Other ways customers ask an FAQ question ("phrasings"): typed by staff, learned from answers a customer
rated helpful, or taken from the knowledge-gap questions an entry was written for.

They change the question's vector at ingestion (``question_vectors``), so adding or removing one
re-ingests the FAQ's document (one FAQ entry: two embeddings; an FAQ file: its entries): at once for what
staff do, ``phrasing_delay_seconds`` later for what is learned, so that one re-ingestion takes in every
rating of a busy entry. A learned phrasing keeps the customer's message id, so erasing that customer removes
it (privacy.service) and re-ingests the document.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.errors import NotFound
from answerdesk.kit.jobs import enqueue_after_commit
from answerdesk.knowledge.chunk import split_faq
from answerdesk.knowledge.models import Document, FaqPhrasing, PhrasingSource
from answerdesk.knowledge.question_vectors import (
    MAX_PER_QUESTION,
    clean_phrasings,
    from_blob,
    question_hash,
    to_blob,
)
from answerdesk.knowledge.queueing import queue_ingest
from answerdesk.knowledge.repository import ChunkRepository, DocumentRepository, FaqPhrasingRepository
from answerdesk.knowledge.schemas import FaqCreate
from answerdesk.knowledge.service import PHRASINGS_TASK, KnowledgeService
from answerdesk.tickets.privacy import strip_personal_data

if TYPE_CHECKING:
    from answerdesk.runtime import Runtime

# A phrasing at least this close to the question's vector, or to one already kept, adds nothing.
NOVELTY_COSINE = 0.95


class PhrasingService:
    def __init__(self, db: AsyncSession, runtime: Runtime) -> None:
        self.db = db
        self.runtime = runtime
        self.repo = FaqPhrasingRepository(db)

    async def for_document(self, organization_id: uuid.UUID, document_id: uuid.UUID) -> Sequence[FaqPhrasing]:
        # A 404 for a document that is not theirs.
        await KnowledgeService.of(self.db, self.runtime).get(organization_id, document_id)
        return await self.repo.for_document(organization_id, document_id)

    async def by_question(
        self, organization_id: uuid.UUID, document_id: uuid.UUID
    ) -> list[tuple[str | None, list[FaqPhrasing]]]:
        """The document's phrasings grouped under its FAQ questions, in the document's order; phrasings of a
        question the document no longer has come last, under None."""
        kept = await self.for_document(organization_id, document_id)
        questions = [
            qa[0]
            for text in await ChunkRepository(self.db).texts_of_document(organization_id, document_id, "faq")
            if (qa := split_faq(text))
        ]
        groups: dict[str | None, list[FaqPhrasing]] = {}
        by_hash = {question_hash(q): q for q in questions}
        for p in kept:
            groups.setdefault(by_hash.get(p.question_hash), []).append(p)
        ordered: list[tuple[str | None, list[FaqPhrasing]]] = [
            (q, groups[q]) for q in questions if q in groups
        ]
        if None in groups:
            ordered.append((None, groups[None]))
        return ordered

    async def counts(self, organization_id: uuid.UUID) -> dict[uuid.UUID, int]:
        return await self.repo.counts(organization_id)

    async def save_faq(
        self, organization_id: uuid.UUID, body: FaqCreate, document_id: uuid.UUID | None = None
    ) -> Document:
        """Creates the FAQ entry (or updates ``document_id``) with the phrasings staff gave (None keeps
        theirs); the caller queues its ingestion."""
        knowledge = KnowledgeService.of(self.db, self.runtime)
        if document_id is None:
            doc = await knowledge.create_faq(organization_id, body.question, body.answer, body.tags)
        else:
            doc = await knowledge.update_faq(
                organization_id, document_id, body.question, body.answer, body.tags
            )
        if body.phrasings is not None:
            await self.set_staff(doc, body.phrasings)
        return doc

    async def set_staff(self, doc: Document, texts: Sequence[str]) -> None:
        """Replaces the staff-written phrasings of a single FAQ entry (kept as typed); caller re-ingests."""
        await self.repo.delete_by_source(doc.organization_id, doc.id, PhrasingSource.staff)
        items = [(t, None) for t in texts]
        await self._store(
            doc.organization_id, doc.id, question_hash(doc.question or ""), items, PhrasingSource.staff
        )

    async def add_to_entry(
        self, doc: Document, questions: Sequence[tuple[uuid.UUID, str]], *, source: PhrasingSource
    ) -> list[FaqPhrasing]:
        """Customers' questions (message id, text) as phrasings of a new single FAQ entry; the caller
        ingests it."""
        items = [(text, mid) for mid, text in questions]
        key = question_hash(doc.question or "")
        return await self._store(doc.organization_id, doc.id, key, items, source, learned=True)

    async def add(
        self,
        organization_id: uuid.UUID,
        chunk_id: int,
        texts: Sequence[str],
        *,
        source: PhrasingSource,
        message_id: uuid.UUID | None = None,
    ) -> list[FaqPhrasing]:
        """New phrasings of an FAQ chunk's question, then its document re-ingested. Returns what was kept
        (nothing for a chunk that is gone or is not an FAQ entry; see ``_store`` for what is skipped)."""
        chunks = ChunkRepository(self.db)
        hit = (await chunks.hits(organization_id, [chunk_id])).get(chunk_id)
        qa = split_faq(hit.text) if hit is not None and hit.kind == "faq" else None
        if hit is None or qa is None:
            return []
        anchor = await chunks.question_vector(organization_id, chunk_id)
        kept = await self._store(
            organization_id,
            hit.document_id,
            question_hash(qa[0]),
            [(t, message_id) for t in texts],
            source,
            learned=True,
            anchor=anchor,
        )
        if kept:
            self.reingest_soon(organization_id, hit.document_id)
        return kept

    async def _store(
        self,
        organization_id: uuid.UUID,
        document_id: uuid.UUID,
        key: str,
        items: Sequence[tuple[str, uuid.UUID | None]],
        source: PhrasingSource,
        *,
        learned: bool = False,
        anchor: bytes | None = None,
    ) -> list[FaqPhrasing]:
        """Embeds and stores phrasings (text, message id) of the question ``key``.

        Customers' words (``learned``) have personal data stripped before they are embedded, and are
        skipped when too close to the question (``anchor``) or to a phrasing already kept, or past
        ``MAX_PER_QUESTION``. Staff's are kept as typed.
        """
        texts: dict[str, uuid.UUID | None] = {}
        for text, message_id in items:
            for clean in clean_phrasings([strip_personal_data(text) if learned else text]):
                if clean.lower() not in {t.lower() for t in texts}:
                    texts[clean] = message_id
        if not texts:
            return []
        stored = (await self.repo.vectors(organization_id, document_id)).get(key, []) if learned else []
        room = MAX_PER_QUESTION - len(stored)
        known = [from_blob(b) for b in stored] + ([from_blob(anchor)] if anchor is not None else [])
        embedder = await self.runtime.embedder()
        vectors = await asyncio.to_thread(embedder.embed, list(texts))
        kept: list[FaqPhrasing] = []
        for (text, message_id), vector in zip(texts.items(), vectors, strict=True):
            if learned and len(kept) >= room:
                break
            if learned and known and float(np.max(np.stack(known) @ vector)) >= NOVELTY_COSINE:
                continue
            known.append(vector)
            kept.append(
                self.repo.add(
                    FaqPhrasing(
                        organization_id=organization_id,
                        document_id=document_id,
                        question_hash=key,
                        text=text,
                        source=source,
                        message_id=message_id,
                        embedding=to_blob(vector),
                    )
                )
            )
        await self.db.flush()
        return kept

    async def remove(
        self, organization_id: uuid.UUID, document_id: uuid.UUID, phrasing_id: uuid.UUID
    ) -> None:
        phrasing = await self.repo.get(organization_id, document_id, phrasing_id)
        if phrasing is None:
            raise NotFound("Phrasing not found on this FAQ entry.")
        await self.repo.delete(phrasing)
        await self.db.flush()
        await self.reingest(organization_id, document_id)

    async def forget_learned(self, organization_id: uuid.UUID, message_id: uuid.UUID) -> None:
        """Removes what was learned from one customer message (its answer is no longer rated helpful)."""
        documents = await self.repo.delete_learned_from(organization_id, message_id)
        for document_id in sorted(documents):
            self.reingest_soon(organization_id, document_id)

    def reingest_soon(self, organization_id: uuid.UUID, document_id: uuid.UUID) -> None:
        """Re-ingests the document ``phrasing_delay_seconds`` after this commits; what is learned meanwhile
        joins the same job (one job id per document while it waits). One learned while that job is running
        is stored but waits for the document's next ingestion (the next phrasing learned, or any edit)."""
        enqueue_after_commit(
            self.db,
            self.runtime.jobs,
            PHRASINGS_TASK,
            job_id=f"phrasings:{document_id}",
            defer_seconds=self.runtime.settings.phrasing_delay_seconds,
            organization_id=str(organization_id),
            document_id=str(document_id),
        )

    async def reingest(self, organization_id: uuid.UUID, document_id: uuid.UUID) -> None:
        """Queues the document again so its FAQ question vectors take the phrasings in (after commit)."""
        doc = await DocumentRepository(self.db).get(organization_id, document_id)
        if doc is None:
            return
        KnowledgeService.of(self.db, self.runtime).mark_queued(doc)
        await self.db.flush()
        queue_ingest(self.db, self.runtime, doc)
