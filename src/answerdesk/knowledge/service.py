"""Knowledge management: accept uploads, FAQ entries and URL imports; list, delete and reindex documents."""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.billing.service import BillingService
from answerdesk.integrations.storage import ObjectStorage
from answerdesk.kit.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from answerdesk.knowledge.extract import SUPPORTED_EXTENSIONS, UnsupportedFileType
from answerdesk.knowledge.models import Document, DocumentStatus, SourceKind
from answerdesk.knowledge.question_vectors import question_hash
from answerdesk.knowledge.repository import (
    ChunkRepository,
    DocumentRepository,
    FaqPhrasingRepository,
    IndexStateRepository,
)

if TYPE_CHECKING:  # runtime builds the retriever, which imports this package's repository
    from answerdesk.runtime import Runtime

INGEST_TASK = "knowledge.ingest"
CRAWL_TASK = "knowledge.crawl"
PHRASINGS_TASK = "knowledge.apply_phrasings"


def storage_key(organization_id: uuid.UUID, document_id: uuid.UUID, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"org/{organization_id}/documents/{document_id}/original{suffix}"


def title_from_filename(filename: str) -> str:
    stem = PurePosixPath(filename).stem.replace("_", " ").replace("-", " ").strip()
    return (stem[:1].upper() + stem[1:]) if stem else filename


def _size(n: int) -> str:
    # Rounded units would print a file one byte over the limit as the same size as the limit.
    return f"{n / 1_048_576:.1f} MB" if n >= 10 * 1_048_576 else f"{n} bytes"


# The document's filename and content_type columns.
MAX_FILENAME_CHARS = 300
MAX_CONTENT_TYPE_CHARS = 200


class ChunkLimit(Protocol):
    """The plan's knowledge limit (billing.BillingService); raises when the knowledge base is full."""

    async def check_chunks(self, organization_id: uuid.UUID) -> None: ...


class KnowledgeService:
    """Owns the document lifecycle; the heavy work (extract, chunk, embed) runs in the ingest job."""

    def __init__(
        self,
        db: AsyncSession,
        storage: ObjectStorage,
        *,
        max_upload_bytes: int,
        chunk_limit: ChunkLimit | None = None,
    ) -> None:
        self.db = db
        # The plan's knowledge limit, checked before a new document is accepted (None: not limited).
        self.chunk_limit = chunk_limit
        self.storage = storage
        self.max_upload_bytes = max_upload_bytes
        self.documents = DocumentRepository(db)
        self.chunks = ChunkRepository(db)
        self.index_state = IndexStateRepository(db)

    @classmethod
    def of(cls, db: AsyncSession, runtime: Runtime) -> KnowledgeService:
        """The service as every caller (API, admin, CLI, jobs) builds it: the runtime's storage and limit."""
        return cls(
            db,
            runtime.storage,
            max_upload_bytes=runtime.settings.max_upload_bytes,
            chunk_limit=BillingService(db, runtime.settings),
        )

    async def upload(
        self,
        organization_id: uuid.UUID,
        *,
        filename: str,
        data: bytes,
        content_type: str | None = None,
        title: str | None = None,
        tags: Sequence[str] = (),
    ) -> Document:
        """Stores the original and queues ingestion. Re-uploading a file name replaces that document."""
        filename = PurePosixPath(filename.replace("\\", "/")).name.strip() or "upload"
        if len(data) > self.max_upload_bytes:
            raise PayloadTooLarge(
                f"{filename} is {_size(len(data))}; the limit is {_size(self.max_upload_bytes)}."
            )
        if not data.strip():
            raise ValidationFailed(f"{filename} is empty.", code="empty_document")
        if len(filename) > MAX_FILENAME_CHARS:
            raise ValidationFailed(
                f"The file name is longer than {MAX_FILENAME_CHARS} characters; rename the file.",
                code="filename_too_long",
            )
        suffix = PurePosixPath(filename).suffix.lower()
        if suffix not in SUPPORTED_EXTENSIONS:
            raise UnsupportedFileType(
                f"Unsupported file type {suffix or '(none)'} for {filename}; supported: "
                + ", ".join(sorted(SUPPORTED_EXTENSIONS))
            )
        doc = await self.documents.by_filename(organization_id, filename)
        if doc is None:
            await self._check_room(organization_id)
            doc = self.documents.add(
                Document(
                    id=uuid.uuid4(),
                    organization_id=organization_id,
                    source=SourceKind.file,
                    filename=filename,
                    title=(title or "").strip() or title_from_filename(filename),
                )
            )
        elif title:
            doc.title = title.strip()
        # What the client declares is a hint: an implausible one is replaced by the guess from the name.
        declared = content_type if content_type and len(content_type) <= MAX_CONTENT_TYPE_CHARS else None
        doc.content_type = declared or mimetypes.guess_type(filename)[0]
        doc.size_bytes = len(data)
        doc.tags = list(tags)
        doc.storage_key = storage_key(organization_id, doc.id, filename)
        self.mark_queued(doc)
        await self.db.flush()
        # The original is written before the commit; a failed commit leaves an orphan file, never a
        # document row without its file.
        await self.storage.put(doc.storage_key, data, content_type=doc.content_type)
        return doc

    async def create_faq(
        self, organization_id: uuid.UUID, question: str, answer: str, tags: Sequence[str] = ()
    ) -> Document:
        await self._check_room(organization_id)
        doc = self.documents.add(
            Document(
                organization_id=organization_id,
                source=SourceKind.faq,
                title=question.strip()[:300],
                question=question.strip(),
                answer=answer.strip(),
                tags=list(tags),
                size_bytes=len(question.encode()) + len(answer.encode()),
            )
        )
        self.mark_queued(doc)
        await self.db.flush()
        return doc

    async def update_faq(
        self,
        organization_id: uuid.UUID,
        document_id: uuid.UUID,
        question: str,
        answer: str,
        tags: Sequence[str] = (),
    ) -> Document:
        doc = await self.get(organization_id, document_id)
        if doc.source != SourceKind.faq:
            raise Conflict("Only FAQ entries can be edited here; upload a new version of the file instead.")
        doc.question, doc.answer, doc.tags = question.strip(), answer.strip(), list(tags)
        doc.title = doc.question[:300]
        # The entry's other phrasings stay with it when its question is reworded.
        await FaqPhrasingRepository(self.db).rekey(organization_id, doc.id, question_hash(doc.question))
        self.mark_queued(doc)
        await self.db.flush()
        return doc

    async def add_url(
        self, organization_id: uuid.UUID, url: str, *, title: str | None = None, tags: Sequence[str] = ()
    ) -> Document:
        """A web page to fetch and ingest; an existing document for the same URL is refreshed."""
        doc = await self.documents.by_url(organization_id, url)
        if doc is None:
            await self._check_room(organization_id)
            doc = self.documents.add(
                Document(
                    id=uuid.uuid4(),
                    organization_id=organization_id,
                    source=SourceKind.url,
                    url=url,
                    title=(title or url)[:300],
                )
            )
        doc.tags = list(tags)
        self.mark_queued(doc)
        await self.db.flush()
        return doc

    async def _check_room(self, organization_id: uuid.UUID) -> None:
        """A new document needs room under the plan's knowledge limit (replacing one does not)."""
        if self.chunk_limit is not None:
            await self.chunk_limit.check_chunks(organization_id)

    async def get(self, organization_id: uuid.UUID, document_id: uuid.UUID) -> Document:
        doc = await self.documents.get(organization_id, document_id)
        if doc is None:
            raise NotFound("Document not found.")
        return doc

    async def list(self, organization_id: uuid.UUID, **filters: str | None) -> Sequence[Document]:
        return await self.documents.list(organization_id, **filters)  # type: ignore[arg-type]

    async def delete(self, organization_id: uuid.UUID, document_id: uuid.UUID) -> None:
        """Removes the original, the chunks and (through the generation bump) the vectors."""
        # Locks in the ingest job's order (document, chunks, index state); any other order deadlocks
        # against a job finishing this document on PostgreSQL.
        doc = await self.documents.get(organization_id, document_id, for_update=True)
        if doc is None:
            raise NotFound("Document not found.")
        key = doc.storage_key
        await self.documents.delete(doc)
        await self.db.flush()
        await self.index_state.bump(organization_id)
        if key:
            await self.storage.delete(key)

    async def request_reindex(self, organization_id: uuid.UUID) -> int:
        """Makes every process rebuild this organization's indexes from the database."""
        await self.index_state.bump(organization_id)
        return await self.chunks.count(organization_id)

    async def status_counts(self, organization_id: uuid.UUID) -> dict[str, int]:
        return await self.documents.count_by_status(organization_id)

    def mark_queued(self, doc: Document) -> None:
        """Marks the document for (re-)ingestion; the caller enqueues the job (``queue_ingest``)."""
        doc.status = DocumentStatus.queued
        doc.progress = 0
        doc.error = None
        doc.revision = (doc.revision or 0) + 1
