"""Per-conversation message counts rolled up for fast summaries; a row is valid while its message count
matches the conversation's (messages are only ever appended), so a stale row is never read."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from answerdesk.chat.models import Conversation
from answerdesk.kit.db import Base, TenantMixin


class ConversationStat(TenantMixin, Base):
    __tablename__ = "conversation_stat"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True
    )
    # The conversation's message_count when this row was computed.
    message_count: Mapped[int] = mapped_column()
    customer_messages: Mapped[int] = mapped_column()
    staff_messages: Mapped[int] = mapped_column()
    answers_llm: Mapped[int] = mapped_column()
    answers_faq: Mapped[int] = mapped_column()
    answers_extractive: Mapped[int] = mapped_column()
    answers_fallback: Mapped[int] = mapped_column()
    answers_no_answer: Mapped[int] = mapped_column()
    answers_handoff: Mapped[int] = mapped_column()
    sentiment_negative: Mapped[int] = mapped_column()
    sentiment_neutral: Mapped[int] = mapped_column()
    sentiment_positive: Mapped[int] = mapped_column()
    first_customer_at: Mapped[datetime | None] = mapped_column()
    first_staff_at: Mapped[datetime | None] = mapped_column()


# Analytics select conversations by organization and start time; declared here, on the chat table, because
# only analytics needs it.
sa.Index("ix_conversation_org_created", Conversation.organization_id, Conversation.created_at)
