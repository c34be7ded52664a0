"""What each figure means: the SQL conditions and the sentences the dashboard and README show."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from answerdesk.chat.models import AnswerMode, Channel, Conversation, ConversationStatus

# A conversation nobody wrote in for this long has ended, whether or not anyone closed it.
IDLE_ENDS_AFTER = timedelta(hours=24)

# Bot message modes, in the order the dashboard shows them.
ANSWER_MODES: tuple[str, ...] = (
    AnswerMode.llm,
    AnswerMode.faq,
    AnswerMode.extractive,
    AnswerMode.fallback,
    AnswerMode.no_answer,
    AnswerMode.handoff,
    AnswerMode.quota,
)
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

DEFINITIONS: dict[str, str] = {
    "period": "Every figure counts the conversations started in the range (days in the organization's "
    "time zone) and the messages in them; the playground is left out unless chosen as the channel.",
    "ended": "A conversation has ended when it was closed, rated, or nobody wrote in it for 24 hours.",
    "automatic_resolution_rate": "Automatic resolution rate: of the conversations that ended, the share "
    "that ended without a handoff (the assistant offering a person, or the customer asking for one) "
    "and without any staff message.",
    "handoff_rate": "Handoff rate: the share of conversations in which the assistant offered a person "
    "or the customer asked for one.",
    "first_response": "First staff response: from the handoff (or, when staff joined without one, the "
    "customer's first message) to the first staff message; for tickets opened in the range, from the "
    "opening (or the customer's first message, if earlier) to the first staff reply. The median is shown.",
    "ai_accuracy": "AI accuracy: of the answers customers rated with a thumb in the range (any channel but "
    "the playground), the share rated helpful.",
    "csat": "CSAT: the customers' 1 to 5 star ratings of the conversations.",
    "drafts": "Ticket drafts: AI drafts written in the range and sent as written (whitespace aside), sent "
    "after staff edited them, or rejected.",
    "busiest_hours": "Busiest hours: conversations started per weekday and hour, local time.",
}


# The conditions read the conversation's own columns by default, or the same-named columns of the
# analytics roll-up (``subquery.c``), so a figure and the list behind it use one definition.


def in_channel(channel: str | None, c: Any = Conversation) -> sa.ColumnElement[bool]:
    """Conversations of one channel, or of every channel but the staff's playground."""
    if channel:
        return c.channel == channel  # type: ignore[no-any-return]
    return c.channel != Channel.playground  # type: ignore[no-any-return]


def ended(now: datetime, c: Any = Conversation) -> sa.ColumnElement[bool]:
    return sa.or_(
        c.status == ConversationStatus.closed,
        c.rating.is_not(None),
        c.last_message_at <= now - IDLE_ENDS_AFTER,
    )


def handed_off(c: Any = Conversation) -> sa.ColumnElement[bool]:
    return c.handoff_at.is_not(None)  # type: ignore[no-any-return]


def resolved_automatically(
    now: datetime, staff_messages: sa.ColumnElement[int], c: Any = Conversation
) -> sa.ColumnElement[bool]:
    """Ended, with no handoff and no staff message (``staff_messages`` counts the conversation's)."""
    return sa.and_(ended(now, c), c.handoff_at.is_(None), sa.func.coalesce(staff_messages, 0) == 0)


def first_response_start(c: Any) -> sa.ColumnElement[datetime]:
    """When a live chat's wait for staff began: the handoff, or the customer's first message when staff
    joined without one (or before it). ``c`` has handoff_at, first_staff_at and first_customer_at."""
    before_staff = sa.and_(c.handoff_at.is_not(None), c.handoff_at <= c.first_staff_at)
    return sa.case((before_staff, c.handoff_at), else_=c.first_customer_at)
