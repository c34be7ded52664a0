"""The analytics roll-up: one row per conversation with its outcome fields and message counts, and the
instant up to which every conversation's row is current (changes after it are counted live)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from answerdesk.chat.models import Conversation
from answerdesk.kit.db import Base, TenantMixin


class ConversationStat(TenantMixin, Base):
    __tablename__ = "conversation_stat"
    __table_args__ = (
        sa.Index("ix_conversation_stat_org_started", "organization_id", "started_at"),
        sa.Index("ix_conversation_stat_org_bucket", "organization_id", "bucket"),
        sa.Index("ix_conversation_stat_org_settled", "organization_id", "settled", "started_at"),
    )

    # No foreign key on purpose: a deleted conversation leaves its row for the roll-up job to find, take out
    # of the quarter-hour sums and delete (a cascade would leave the sums counting it).
    conversation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The UTC quarter hour the conversation started in (see period.BUCKET_SECONDS).
    bucket: Mapped[int] = mapped_column()
    # Ended for good when rolled up (closed, rated or idle for a day): counted in ConversationBucket.
    settled: Mapped[bool] = mapped_column()
    # Copies of the conversation's columns the figures read (started_at is its created_at).
    started_at: Mapped[datetime] = mapped_column()
    channel: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    rating: Mapped[int | None] = mapped_column()
    handoff_at: Mapped[datetime | None] = mapped_column()
    last_message_at: Mapped[datetime] = mapped_column()
    message_count: Mapped[int] = mapped_column()
    customer_messages: Mapped[int] = mapped_column()
    staff_messages: Mapped[int] = mapped_column()
    answers_llm: Mapped[int] = mapped_column()
    answers_faq: Mapped[int] = mapped_column()
    answers_extractive: Mapped[int] = mapped_column()
    answers_fallback: Mapped[int] = mapped_column()
    answers_no_answer: Mapped[int] = mapped_column()
    answers_handoff: Mapped[int] = mapped_column()
    answers_quota: Mapped[int] = mapped_column()
    sentiment_negative: Mapped[int] = mapped_column()
    sentiment_neutral: Mapped[int] = mapped_column()
    sentiment_positive: Mapped[int] = mapped_column()
    first_customer_at: Mapped[datetime | None] = mapped_column()
    first_staff_at: Mapped[datetime | None] = mapped_column()


class ConversationBucket(Base):
    """Sums over the settled roll-up rows of one organization, UTC quarter hour and channel: a summary adds
    a few thousand of these instead of every conversation. Kept equal to those sums in the same transaction
    that changes the rows."""

    __tablename__ = "conversation_bucket"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    bucket: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    conversations: Mapped[int] = mapped_column()
    customer_messages: Mapped[int] = mapped_column()
    answers_llm: Mapped[int] = mapped_column()
    answers_faq: Mapped[int] = mapped_column()
    answers_extractive: Mapped[int] = mapped_column()
    answers_fallback: Mapped[int] = mapped_column()
    answers_no_answer: Mapped[int] = mapped_column()
    answers_handoff: Mapped[int] = mapped_column()
    answers_quota: Mapped[int] = mapped_column()
    handoffs: Mapped[int] = mapped_column()
    staff_replied: Mapped[int] = mapped_column()
    ended: Mapped[int] = mapped_column()
    resolved: Mapped[int] = mapped_column()
    ratings: Mapped[int] = mapped_column()
    rating_sum: Mapped[int] = mapped_column()
    rating_1: Mapped[int] = mapped_column()
    rating_2: Mapped[int] = mapped_column()
    rating_3: Mapped[int] = mapped_column()
    rating_4: Mapped[int] = mapped_column()
    rating_5: Mapped[int] = mapped_column()
    sentiment_negative: Mapped[int] = mapped_column()
    sentiment_neutral: Mapped[int] = mapped_column()
    sentiment_positive: Mapped[int] = mapped_column()


class RollupState(Base):
    """A single row: every conversation last updated before ``rolled_through`` has a current roll-up row."""

    __tablename__ = "analytics_rollup"

    id: Mapped[int] = mapped_column(primary_key=True)
    rolled_through: Mapped[datetime] = mapped_column()


# Analytics select conversations by organization and start or update time; declared here, on the chat
# table, because only analytics needs them.
sa.Index("ix_conversation_org_created", Conversation.organization_id, Conversation.created_at)
sa.Index("ix_conversation_org_updated", Conversation.organization_id, Conversation.updated_at)
