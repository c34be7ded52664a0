"""Documents, their chunks with embeddings (the system of record), and each organization's index version."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from answerdesk.kit.db import Base, CreatedAtMixin, IdMixin, TenantMixin, utcnow


class SourceKind(enum.StrEnum):
    file = "file"
    url = "url"
    faq = "faq"


class DocumentStatus(enum.StrEnum):
    queued = "queued"
    processing = "processing"
    ready = "ready"
    failed = "failed"


class Document(IdMixin, TenantMixin, CreatedAtMixin, Base):
    __tablename__ = "document"

    title: Mapped[str] = mapped_column(sa.String(300))
    source: Mapped[str] = mapped_column(sa.String(16))
    filename: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    url: Mapped[str | None] = mapped_column(sa.String(2000), default=None)
    content_type: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    size_bytes: Mapped[int] = mapped_column(default=0)
    storage_key: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    question: Mapped[str | None] = mapped_column(sa.Text, default=None)
    answer: Mapped[str | None] = mapped_column(sa.Text, default=None)
    tags: Mapped[list[str]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    status: Mapped[str] = mapped_column(sa.String(16), default=DocumentStatus.queued, index=True)
    progress: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    chunk_count: Mapped[int] = mapped_column(default=0)
    # Bumped each time the document is queued; a job whose revision is no longer current discards its work.
    revision: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    ingested_at: Mapped[datetime | None] = mapped_column(default=None)


class Chunk(TenantMixin, Base):
    """One retrievable passage. Its integer id is also its id in the FAISS and BM25 indexes."""

    __tablename__ = "chunk"
    # Never reuse a deleted chunk's id on SQLite: ids are also FAISS/BM25 ids in indexes still being read.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    document_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("document.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    section: Mapped[str] = mapped_column(sa.Text, default="")
    text: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.String(8), default="text")
    token_count: Mapped[int] = mapped_column(default=0)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    tags: Mapped[list[str]] = mapped_column(default=list)
    embedding: Mapped[bytes] = mapped_column(sa.LargeBinary)  # float32 little-endian, L2-normalised
    # FAQ chunks only: the vector of the question alone, matched against customers' questions.
    question_embedding: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PhrasingSource(enum.StrEnum):
    staff = "staff"  # typed by staff on the FAQ entry
    learned = "learned"  # a customer's question its answer was rated helpful for
    gap = "gap"  # a knowledge-gap question the entry was written for


class FaqPhrasing(IdMixin, TenantMixin, CreatedAtMixin, Base):
    """Another way customers ask one FAQ question: folded into the question's vector at ingestion.

    One MiniLM vector per wording cannot tell near-synonym questions apart ("check my invoice" / "get my
    invoice"); a few real wordings per entry can (bench/faq_matching.py). Keyed by the FAQ question's
    text within its document, so a re-uploaded FAQ file keeps the wordings of the questions it still has.
    """

    __tablename__ = "faq_phrasing"
    __table_args__ = (sa.Index("ix_faq_phrasing_document_question", "document_id", "question_hash"),)

    document_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("document.id", ondelete="CASCADE"))
    question_hash: Mapped[str] = mapped_column(sa.String(64))  # sha256 of the FAQ question's text
    text: Mapped[str] = mapped_column(sa.String(500))
    source: Mapped[str] = mapped_column(sa.String(16))
    # The customer's message a learned wording came from: an erasure of that customer removes it.
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("message.id", ondelete="SET NULL"), default=None, index=True
    )
    embedding: Mapped[bytes] = mapped_column(sa.LargeBinary)  # float32 little-endian, L2-normalised


class IndexState(Base):
    """Bumped on every change to an organization's chunks; each process rebuilds when its copy is older."""

    __tablename__ = "index_state"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
