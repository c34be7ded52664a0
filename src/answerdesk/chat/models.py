"""Conversations with customers and the messages in them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from answerdesk.kit.db import Base, CreatedAtMixin, IdMixin, TenantMixin, utcnow


class Channel(enum.StrEnum):
    widget = "widget"
    api = "api"
    playground = "playground"
    ticket = "ticket"


class ConversationStatus(enum.StrEnum):
    bot = "bot"  # the bot answers
    human = "human"  # staff have taken over; the bot stays silent
    closed = "closed"


class Sender(enum.StrEnum):
    customer = "customer"
    bot = "bot"
    staff = "staff"
    system = "system"
    note = "note"  # an internal note between staff: never shown or sent to the customer


class AnswerMode(enum.StrEnum):
    """How a bot message was produced; shown in the admin and used in analytics."""

    llm = "llm"  # written by the model from retrieved passages
    faq = "faq"  # a curated FAQ answer returned as written, no model call
    extractive = "extractive"  # quoted passages: no model configured
    fallback = "fallback"  # quoted passages or a handoff because the model failed
    no_answer = "no_answer"  # nothing relevant in the knowledge base: says so, offers a human
    handoff = "handoff"  # the customer asked for a person


class Conversation(IdMixin, TenantMixin, CreatedAtMixin, Base):
    __tablename__ = "conversation"
    __table_args__ = (sa.Index("ix_conversation_org_last_message", "organization_id", "last_message_at"),)

    channel: Mapped[str] = mapped_column(sa.String(16))
    # SHA-256 of the visitor's resume token: the token itself is shown once, to the visitor.
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    customer_name: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    customer_email: Mapped[str | None] = mapped_column(sa.String(320), default=None)
    customer_phone: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    status: Mapped[str] = mapped_column(sa.String(16), default=ConversationStatus.bot, index=True)
    assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    rating: Mapped[int | None] = mapped_column(default=None)
    rating_comment: Mapped[str | None] = mapped_column(sa.Text, default=None)
    # Set when the bot offered a human (no answer, frustration, explicit request); cleared by nobody.
    handoff_at: Mapped[datetime | None] = mapped_column(default=None)
    message_count: Mapped[int] = mapped_column(default=0)
    last_sentiment: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    frustrated: Mapped[bool] = mapped_column(default=False)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The customer asked for a person and nobody has taken over yet; cleared on take-over, hand-back, close.
    waiting_since: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The highest message seq each side has seen: "seen" ticks, and staff's unread counts.
    customer_seen_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    staff_seen_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    # ISO 639-1 code of the customer's language, detected from their messages (None until detected).
    language: Mapped[str | None] = mapped_column(sa.String(8), default=None)


class Message(IdMixin, TenantMixin, CreatedAtMixin, Base):
    __tablename__ = "message"
    # seq orders a conversation's messages and lets a reconnecting client ask for "everything after n".
    __table_args__ = (sa.UniqueConstraint("conversation_id", "seq"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversation.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column()
    sender: Mapped[str] = mapped_column(sa.String(16))
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    content: Mapped[str] = mapped_column(sa.Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    suggestions: Mapped[list[str]] = mapped_column(default=list)
    mode: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    model: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    prompt_tokens: Mapped[int | None] = mapped_column(default=None)
    completion_tokens: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[int | None] = mapped_column(default=None)
    sentiment_score: Mapped[float | None] = mapped_column(default=None)
    sentiment_label: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    frustrated: Mapped[bool] = mapped_column(default=False)
    # Customer messages: the detected ISO 639-1 language code (None when too short to tell).
    language: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    # Retrieval trace of a bot message (standalone query, passages and scores) for the playground and audits.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Customer messages the bot answered: the search query's vector (float32, L2-normalised), kept so that
    # knowledge gaps can be grouped by meaning without embedding every question again.
    query_embedding: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)


class FeedbackReason(enum.StrEnum):
    """Why a customer marked an answer unhelpful (optional, "down" only)."""

    wrong = "wrong"
    not_asked = "not_asked"  # "not what I asked"
    outdated = "outdated"


class MessageFeedback(IdMixin, TenantMixin, CreatedAtMixin, Base):
    """A thumbs up or down on one bot answer; the visitor may change it, so one row per message."""

    __tablename__ = "message_feedback"
    __table_args__ = (sa.Index("ix_message_feedback_org_created", "organization_id", "created_at"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversation.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("message.id", ondelete="CASCADE"), unique=True
    )
    helpful: Mapped[bool] = mapped_column()
    reason: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    comment: Mapped[str | None] = mapped_column(sa.Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
