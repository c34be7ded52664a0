"""Tickets (WHMCS-synced or native), their threads, AI drafts, and each organization's WHMCS connection."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from answerdesk.kit.db import Base, CreatedAtMixin, IdMixin, TenantMixin, utcnow


class TicketSource(enum.StrEnum):
    whmcs = "whmcs"
    native = "native"


class NativeStatus(enum.StrEnum):
    open = "open"
    in_progress = "in_progress"
    waiting_for_customer = "waiting_for_customer"
    resolved = "resolved"
    closed = "closed"


class Priority(enum.StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


PRIORITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "urgent": 3}


class Author(enum.StrEnum):
    customer = "customer"
    staff = "staff"
    note = "note"  # internal, never shown to the customer
    system = "system"


class DraftStatus(enum.StrEnum):
    draft = "draft"
    sending = "sending"  # approved and committed; the post to WHMCS may or may not have happened
    sent = "sent"
    rejected = "rejected"
    superseded = "superseded"  # replaced by a regenerated draft or a newer customer message
    failed = "failed"  # not delivered; the staff text is kept and approving again retries safely


class WhmcsConnection(IdMixin, TenantMixin, CreatedAtMixin, Base):
    """One WHMCS installation per organization; credentials are sealed (see tickets.crypto)."""

    __tablename__ = "whmcs_connection"
    __table_args__ = (sa.UniqueConstraint("organization_id"),)

    url: Mapped[str] = mapped_column(sa.String(500))
    # The identifier is not a secret on its own, but it names the credential: sealed too.
    identifier_sealed: Mapped[str | None] = mapped_column(sa.Text, default=None)
    secret_sealed: Mapped[str | None] = mapped_column(sa.Text, default=None)
    legacy_username: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    # MD5 of the legacy admin password: what the API wants, and unusable to log in to WHMCS itself.
    legacy_password_md5_sealed: Mapped[str | None] = mapped_column(sa.Text, default=None)
    accesskey_sealed: Mapped[str | None] = mapped_column(sa.Text, default=None)
    credential_hint: Mapped[str] = mapped_column(sa.String(40), default="")
    default_admin_username: Mapped[str] = mapped_column(sa.String(200), default="")
    # Answerdesk user e-mail → WHMCS admin username the approved replies are attributed to.
    admin_usernames: Mapped[dict[str, Any]] = mapped_column(default=dict)
    watched_department_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    ticket_status: Mapped[str] = mapped_column(sa.String(64), default="Awaiting Reply")
    poll_interval_minutes: Mapped[int] = mapped_column(default=5)
    # WHMCS writes dates in its server's local time without a zone: this names that zone (IANA).
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    timeout_seconds: Mapped[float] = mapped_column(sa.Float, default=20.0)
    enabled: Mapped[bool] = mapped_column(default=True)
    auto_update_ticket: Mapped[bool] = mapped_column(default=False)
    save_approved_as_faq: Mapped[bool] = mapped_column(default=False)
    # Category → minimum confidence for sending a draft without review; empty: never (the default).
    auto_send: Mapped[dict[str, Any]] = mapped_column(default=dict)
    departments: Mapped[dict[str, Any]] = mapped_column(default=dict)  # "id" → name, from WHMCS
    sync_cursor: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, default=None)
    last_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    last_sync_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    last_sync_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_test_at: Mapped[datetime | None] = mapped_column(default=None)
    last_test_ok: Mapped[bool | None] = mapped_column(default=None)
    last_test_message: Mapped[str | None] = mapped_column(sa.Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Ticket(IdMixin, TenantMixin, CreatedAtMixin, Base):
    __tablename__ = "ticket"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "source", "external_id"),
        sa.Index("ix_ticket_org_awaiting", "organization_id", "awaiting_reply"),
    )

    source: Mapped[str] = mapped_column(sa.String(16))
    external_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    tid: Mapped[str] = mapped_column(sa.String(32), default="")
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    status: Mapped[str] = mapped_column(sa.String(64), index=True)
    priority: Mapped[str] = mapped_column(sa.String(16), default=Priority.medium)
    external_priority: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    department_id: Mapped[int | None] = mapped_column(default=None)
    department: Mapped[str] = mapped_column(sa.String(200), default="")
    category: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    classification: Mapped[dict[str, Any]] = mapped_column(default=dict)  # why: category/priority reasons
    client_name: Mapped[str] = mapped_column(sa.String(200), default="")
    client_email: Mapped[str] = mapped_column(sa.String(320), default="")
    external_client_id: Mapped[int | None] = mapped_column(default=None)
    client_context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    awaiting_reply: Mapped[bool] = mapped_column(default=False)
    last_customer_message_at: Mapped[datetime | None] = mapped_column(default=None)
    last_message_at: Mapped[datetime | None] = mapped_column(default=None)
    sentiment_label: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    sentiment_score: Mapped[float | None] = mapped_column(sa.Float, default=None)
    frustrated: Mapped[bool] = mapped_column(default=False)
    # The customer's language (ISO 639-1), detected from their latest messages when a draft is written.
    language: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    urgency_score: Mapped[float] = mapped_column(sa.Float, default=0.0)
    # What GetTickets said last time (status, priority, department, last reply): unchanged → no GetTicket.
    external_fingerprint: Mapped[str] = mapped_column(sa.String(64), default="")
    opened_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set while a draft is being written in the background (with the staff's instruction, if any).
    drafting_since: Mapped[datetime | None] = mapped_column(default=None)
    drafting_instruction: Mapped[str | None] = mapped_column(sa.Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TicketMessage(IdMixin, TenantMixin, CreatedAtMixin, Base):
    __tablename__ = "ticket_message"
    __table_args__ = (
        sa.UniqueConstraint("ticket_id", "external_id"),
        # The recovery job looks for notes stuck "pending"; most rows have no push status at all.
        sa.Index("ix_ticket_message_push_status", "push_status"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(sa.String(16))
    author_name: Mapped[str] = mapped_column(sa.String(200), default="")
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    # "r<replyid>" or "n<noteid>" for WHMCS; None for native messages.
    external_id: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    content: Mapped[str] = mapped_column(sa.Text)
    # Notes on WHMCS tickets are pushed with AddTicketNote: "pending", "sent" or "failed"; None = local only.
    push_status: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    push_error: Mapped[str | None] = mapped_column(sa.Text, default=None)


class Draft(IdMixin, TenantMixin, CreatedAtMixin, Base):
    """An AI (or manual) reply and its review: original text beside the staff's final text."""

    __tablename__ = "ticket_draft"

    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=DraftStatus.draft, index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    final_text: Mapped[str | None] = mapped_column(sa.Text, default=None)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    trace: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confidence: Mapped[float] = mapped_column(sa.Float, default=0.0)
    mode: Mapped[str] = mapped_column(sa.String(16))
    model: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    prompt_tokens: Mapped[int | None] = mapped_column(default=None)
    completion_tokens: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[int | None] = mapped_column(default=None)
    instruction: Mapped[str | None] = mapped_column(sa.Text, default=None)
    answers_message_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    approved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    approved_by: Mapped[str | None] = mapped_column(sa.String(320), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    admin_username: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    set_status: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    send_attempts: Mapped[int] = mapped_column(default=0)
    # Highest WHMCS reply id known before posting: a matching staff reply above it is ours.
    baseline_reply_id: Mapped[int | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    posted_reply_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApprovedReply(IdMixin, TenantMixin, CreatedAtMixin, Base):
    """A reply staff approved and sent, remembered (personal data stripped) as an example for new drafts.

    Outlives its ticket: the texts are stripped, so the memory stays when the ticket is deleted.
    """

    __tablename__ = "approved_reply"
    __table_args__ = (sa.UniqueConstraint("draft_id"),)

    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("ticket.id", ondelete="SET NULL"), default=None
    )
    draft_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("ticket_draft.id", ondelete="SET NULL"), default=None
    )
    question: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str] = mapped_column(sa.Text)
    # True when staff changed the draft before sending it, or wrote the reply themselves.
    edited: Mapped[bool] = mapped_column(default=False)
    category: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    # MiniLM vector of the stripped question: float32 little-endian, L2-normalised.
    embedding: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # The FAQ made from this reply's group (the suggestion was taken): no longer suggested.
    faq_document_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
