"""All SQL for documents, chunks and index generations; always scoped by organization."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import utcnow
from answerdesk.knowledge.models import Chunk, Document, DocumentStatus, FaqPhrasing, IndexState

# Rows read per slice when reading a whole knowledge base, so other requests run in between.
STREAM_ROWS = 2000


@dataclass(frozen=True)
class ChunkRow:
    """What the retriever needs of a chunk to build its indexes."""

    id: int
    text: str
    section: str
    tags: list[str]
    embedding: bytes
    kind: str = "text"
    question_embedding: bytes | None = None  # FAQ chunks: the question's own vector (None if not made yet)


@dataclass(frozen=True)
class FaqQuestionRow:
    """An FAQ chunk's id, its ``Q: …\\nA: …`` text and its question vector, if ingestion stored one."""

    id: int
    text: str
    question_embedding: bytes | None


@dataclass(frozen=True)
class ChunkHit:
    chunk_id: int
    document_id: uuid.UUID
    title: str
    source: str
    section: str
    text: str
    kind: str


class DocumentRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, doc: Document) -> Document:
        self.db.add(doc)
        return doc

    async def get(
        self, organization_id: uuid.UUID, document_id: uuid.UUID, *, for_update: bool = False
    ) -> Document | None:
        stmt = sa.select(Document).where(
            Document.organization_id == organization_id, Document.id == document_id
        )
        # Row lock on PostgreSQL (SQLite serialises writers anyway) so a re-queue cannot interleave.
        return await self.db.scalar(stmt.with_for_update() if for_update else stmt)

    async def list(
        self,
        organization_id: uuid.UUID,
        *,
        source: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        query: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> Sequence[Document]:
        stmt = sa.select(Document).where(Document.organization_id == organization_id)
        if source:
            stmt = stmt.where(Document.source == source)
        if status:
            stmt = stmt.where(Document.status == status)
        if query:
            stmt = stmt.where(sa.func.lower(Document.title).contains(query.lower()))
        stmt = stmt.order_by(Document.created_at.desc()).limit(limit).offset(offset)
        rows = (await self.db.scalars(stmt)).all()
        # Tags live in a JSON list; filtering in Python keeps one portable query for SQLite and PostgreSQL.
        return [d for d in rows if tag in (d.tags or [])] if tag else rows

    async def by_filename(self, organization_id: uuid.UUID, filename: str) -> Document | None:
        return await self.db.scalar(
            sa.select(Document)
            .where(
                Document.organization_id == organization_id,
                Document.filename == filename,
                Document.source == "file",
            )
            .order_by(Document.created_at.desc())
            .limit(1)
        )

    async def by_url(self, organization_id: uuid.UUID, url: str) -> Document | None:
        return await self.db.scalar(
            sa.select(Document)
            .where(Document.organization_id == organization_id, Document.url == url)
            .limit(1)
        )

    async def delete(self, doc: Document) -> None:
        await self.db.execute(sa.delete(Chunk).where(Chunk.document_id == doc.id))
        await self.db.delete(doc)

    async def count_by_status(self, organization_id: uuid.UUID) -> dict[str, int]:
        rows = await self.db.execute(
            sa.select(Document.status, sa.func.count())
            .where(Document.organization_id == organization_id)
            .group_by(Document.status)
        )
        return {status: int(n) for status, n in rows.all()}

    async def chunks_by_language(self, organization_id: uuid.UUID) -> dict[str, int]:
        """Chunks of ready documents per detected language (documents of unknown language left out)."""
        rows = await self.db.execute(
            sa.select(Document.language, sa.func.sum(Document.chunk_count))
            .where(
                Document.organization_id == organization_id,
                Document.status == DocumentStatus.ready,
                Document.language.is_not(None),
            )
            .group_by(Document.language)
        )
        return {str(language): int(n or 0) for language, n in rows.all()}


class ChunkRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def replace_for_document(self, doc: Document, chunks: Sequence[Chunk]) -> None:
        """Old chunks out, new ones in, inside the caller's transaction: readers see one or the other."""
        await self.db.execute(sa.delete(Chunk).where(Chunk.document_id == doc.id))
        self.db.add_all(chunks)
        await self.db.flush()

    async def rows_for_index(self, organization_id: uuid.UUID) -> Sequence[ChunkRow]:
        stmt = (
            sa.select(
                Chunk.id,
                Chunk.text,
                Chunk.section,
                Chunk.tags,
                Chunk.embedding,
                Chunk.kind,
                Chunk.question_embedding,
            )
            .where(Chunk.organization_id == organization_id)
            .order_by(Chunk.id)
        )
        rows: list[ChunkRow] = []
        # Streamed in slices: 100k rows turned into objects at once hold the event loop for a second.
        async for part in (await self.db.stream(stmt)).partitions(STREAM_ROWS):
            rows.extend(
                ChunkRow(
                    id=r[0],
                    text=r[1],
                    section=r[2],
                    tags=list(r[3] or []),
                    embedding=r[4],
                    kind=r[5],
                    question_embedding=r[6],
                )
                for r in part
            )
        return rows

    async def faq_questions(self, organization_id: uuid.UUID) -> list[FaqQuestionRow]:
        """The organization's FAQ chunks with their question vectors, for the FAQ-question index."""
        stmt = (
            sa.select(Chunk.id, Chunk.text, Chunk.question_embedding)
            .where(Chunk.organization_id == organization_id, Chunk.kind == "faq")
            .order_by(Chunk.id)
        )
        rows: list[FaqQuestionRow] = []
        async for part in (await self.db.stream(stmt)).partitions(STREAM_ROWS):
            rows.extend(FaqQuestionRow(id=r[0], text=r[1], question_embedding=r[2]) for r in part)
        return rows

    async def texts_of_document(
        self, organization_id: uuid.UUID, document_id: uuid.UUID, kind: str
    ) -> list[str]:
        """The texts of a document's chunks of one kind, in order."""
        result = await self.db.scalars(
            sa.select(Chunk.text)
            .where(
                Chunk.organization_id == organization_id, Chunk.document_id == document_id, Chunk.kind == kind
            )
            .order_by(Chunk.position)
        )
        return list(result.all())

    async def question_vector(self, organization_id: uuid.UUID, chunk_id: int) -> bytes | None:
        """An FAQ chunk's stored question vector (its question with the wordings it was ingested with)."""
        return await self.db.scalar(
            sa.select(Chunk.question_embedding).where(
                Chunk.organization_id == organization_id, Chunk.id == chunk_id
            )
        )

    async def set_question_embeddings(self, organization_id: uuid.UUID, vectors: dict[int, bytes]) -> None:
        """Stores question vectors computed for FAQ chunks ingested before chunks carried them."""
        for chunk_id, blob in vectors.items():
            await self.db.execute(
                sa.update(Chunk)
                .where(
                    Chunk.organization_id == organization_id,
                    Chunk.id == chunk_id,
                    Chunk.question_embedding.is_(None),
                )
                .values(question_embedding=blob)
            )

    async def index_keys(self, organization_id: uuid.UUID) -> list[tuple[int, list[str]]]:
        """Chunk ids and tags only: enough to verify an index file without reading every embedding."""
        stmt = (
            sa.select(Chunk.id, Chunk.tags).where(Chunk.organization_id == organization_id).order_by(Chunk.id)
        )
        keys: list[tuple[int, list[str]]] = []
        async for part in (await self.db.stream(stmt)).partitions(STREAM_ROWS):
            keys.extend((r[0], list(r[1] or [])) for r in part)
        return keys

    async def hits(self, organization_id: uuid.UUID, chunk_ids: Sequence[int]) -> dict[int, ChunkHit]:
        if not chunk_ids:
            return {}
        result = await self.db.execute(
            sa.select(
                Chunk.id,
                Chunk.document_id,
                Document.title,
                Document.filename,
                Document.url,
                Document.source,
                Chunk.section,
                Chunk.text,
                Chunk.kind,
            )
            .join(Document, Document.id == Chunk.document_id)
            .where(Chunk.organization_id == organization_id, Chunk.id.in_(list(chunk_ids)))
        )
        hits: dict[int, ChunkHit] = {}
        for cid, doc_id, title, filename, url, source, section, text, kind in result.all():
            origin = url or filename or ("FAQ" if source == "faq" else "")
            hits[cid] = ChunkHit(
                chunk_id=cid,
                document_id=doc_id,
                title=title,
                source=origin,
                section=section,
                text=text,
                kind=kind,
            )
        return hits

    async def count(self, organization_id: uuid.UUID) -> int:
        return int(
            await self.db.scalar(
                sa.select(sa.func.count()).select_from(Chunk).where(Chunk.organization_id == organization_id)
            )
            or 0
        )


_GENERATION = sa.select(IndexState.generation).where(
    IndexState.organization_id == sa.bindparam("wanted_organization", type_=sa.Uuid())
)


class IndexStateRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def generation(self, organization_id: uuid.UUID) -> int:
        # Read for every chat message: a statement built once, on the session's connection (see
        # kit.db.returning_one).
        connection = await self.db.connection()
        value = await connection.scalar(_GENERATION, {"wanted_organization": organization_id})
        return int(value or 0)

    async def bump(self, organization_id: uuid.UUID) -> None:
        """Atomic increment, so concurrent writers (two ingest jobs) never lose a bump."""
        dialect = self.db.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await self.db.execute(
            insert(IndexState)
            .values(organization_id=organization_id, generation=0, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["organization_id"])
        )
        await self.db.execute(
            sa.update(IndexState)
            .where(IndexState.organization_id == organization_id)
            .values(generation=IndexState.generation + 1, updated_at=utcnow())
        )


class FaqPhrasingRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, phrasing: FaqPhrasing) -> FaqPhrasing:
        self.db.add(phrasing)
        return phrasing

    async def for_document(self, organization_id: uuid.UUID, document_id: uuid.UUID) -> Sequence[FaqPhrasing]:
        result = await self.db.execute(
            sa.select(FaqPhrasing)
            .where(FaqPhrasing.organization_id == organization_id, FaqPhrasing.document_id == document_id)
            .order_by(FaqPhrasing.created_at, FaqPhrasing.id)
        )
        return result.scalars().all()

    async def vectors(self, organization_id: uuid.UUID, document_id: uuid.UUID) -> dict[str, list[bytes]]:
        """The document's phrasing vectors by FAQ question hash (what ingestion folds in)."""
        result = await self.db.execute(
            sa.select(FaqPhrasing.question_hash, FaqPhrasing.embedding)
            .where(FaqPhrasing.organization_id == organization_id, FaqPhrasing.document_id == document_id)
            .order_by(FaqPhrasing.created_at, FaqPhrasing.id)
        )
        out: dict[str, list[bytes]] = {}
        for question_hash, blob in result.all():
            out.setdefault(question_hash, []).append(blob)
        return out

    async def get(
        self, organization_id: uuid.UUID, document_id: uuid.UUID, phrasing_id: uuid.UUID
    ) -> FaqPhrasing | None:
        result = await self.db.execute(
            sa.select(FaqPhrasing).where(
                FaqPhrasing.organization_id == organization_id,
                FaqPhrasing.document_id == document_id,
                FaqPhrasing.id == phrasing_id,
            )
        )
        return result.scalar_one_or_none()

    async def delete(self, phrasing: FaqPhrasing) -> None:
        await self.db.delete(phrasing)

    async def delete_by_source(self, organization_id: uuid.UUID, document_id: uuid.UUID, source: str) -> None:
        await self.db.execute(
            sa.delete(FaqPhrasing).where(
                FaqPhrasing.organization_id == organization_id,
                FaqPhrasing.document_id == document_id,
                FaqPhrasing.source == source,
            )
        )

    async def counts(self, organization_id: uuid.UUID) -> dict[uuid.UUID, int]:
        """Phrasings per document of the organization (for the knowledge list)."""
        result = await self.db.execute(
            sa.select(FaqPhrasing.document_id, sa.func.count())
            .where(FaqPhrasing.organization_id == organization_id)
            .group_by(FaqPhrasing.document_id)
        )
        return {doc_id: int(n) for doc_id, n in result.all()}

    async def delete_learned_from(self, organization_id: uuid.UUID, message_id: uuid.UUID) -> set[uuid.UUID]:
        """Deletes the phrasings learned from one message; returns the documents they belonged to."""
        result = await self.db.execute(
            sa.delete(FaqPhrasing)
            .where(
                FaqPhrasing.organization_id == organization_id,
                FaqPhrasing.message_id == message_id,
                FaqPhrasing.source == "learned",
            )
            .returning(FaqPhrasing.document_id)
        )
        return set(result.scalars().all())

    async def rekey(self, organization_id: uuid.UUID, document_id: uuid.UUID, question_hash: str) -> None:
        """Moves every phrasing of a single-entry FAQ document to its (edited) question."""
        await self.db.execute(
            sa.update(FaqPhrasing)
            .where(FaqPhrasing.organization_id == organization_id, FaqPhrasing.document_id == document_id)
            .values(question_hash=question_hash)
            .execution_options(synchronize_session=False)
        )

    async def documents_of_messages(
        self, organization_id: uuid.UUID, message_ids: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Documents holding wordings learned from these messages (an erasure re-ingests them)."""
        if not message_ids:
            return set()
        result = await self.db.execute(
            sa.select(FaqPhrasing.document_id)
            .where(FaqPhrasing.organization_id == organization_id, FaqPhrasing.message_id.in_(message_ids))
            .distinct()
        )
        return set(result.scalars().all())
