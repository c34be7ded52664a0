"""Conversations and tickets with known outcomes, stored as rows at chosen times."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import Channel, Conversation, ConversationStatus, Message, MessageFeedback, Sender
from answerdesk.tickets.models import Author, Draft, DraftStatus, Ticket, TicketMessage, TicketSource

Step = tuple[str, int, str | None]  # (sender, seconds after the start, mode for bot / sentiment for customer)


async def add_conversation(
    db: AsyncSession,
    org_id: uuid.UUID,
    started: datetime,
    steps: list[Step],
    *,
    channel: str = Channel.widget,
    status: str = ConversationStatus.bot,
    rating: int | None = None,
    handoff_after: int | None = None,
) -> Conversation:
    c = Conversation(
        id=uuid.uuid4(),
        organization_id=org_id,
        channel=channel,
        token_hash=uuid.uuid4().hex,
        status=status,
        rating=rating,
        handoff_at=started + timedelta(seconds=handoff_after) if handoff_after is not None else None,
        message_count=len(steps),
        created_at=started,
        last_message_at=started + timedelta(seconds=steps[-1][1]) if steps else started,
        # As if nothing happened since the last message: old enough for the roll-up to take.
        updated_at=started + timedelta(seconds=steps[-1][1]) if steps else started,
        closed_at=started + timedelta(hours=1) if status == ConversationStatus.closed else None,
    )
    db.add(c)
    await db.flush()  # no ORM relationship orders the inserts
    for seq, (sender, after, extra) in enumerate(steps, start=1):
        db.add(
            Message(
                organization_id=org_id,
                conversation_id=c.id,
                seq=seq,
                sender=sender,
                content=f"{sender} {seq}",
                mode=extra if sender == Sender.bot else None,
                sentiment_label=extra if sender == Sender.customer else None,
                created_at=started + timedelta(seconds=after),
            )
        )
    await db.flush()
    return c


async def add_feedback(db: AsyncSession, conversation: Conversation, helpful: bool) -> MessageFeedback:
    """A thumb on the conversation's first bot answer."""
    answer = await db.scalar(
        sa.select(Message).where(Message.conversation_id == conversation.id, Message.sender == Sender.bot)
    )
    assert answer is not None
    feedback = MessageFeedback(
        organization_id=conversation.organization_id,
        conversation_id=conversation.id,
        message_id=answer.id,
        helpful=helpful,
    )
    db.add(feedback)
    return feedback


async def add_ticket(
    db: AsyncSession,
    org_id: uuid.UUID,
    opened: datetime,
    *,
    staff_reply_after: int | None = None,
    drafts: tuple[tuple[str, str | None], ...] = (),
) -> Ticket:
    t = Ticket(
        id=uuid.uuid4(),
        organization_id=org_id,
        source=TicketSource.native,
        external_id=uuid.uuid4().hex[:12],
        subject="Help",
        status="open",
        opened_at=opened,
        created_at=opened,
    )
    db.add(t)
    await db.flush()
    db.add(
        TicketMessage(
            organization_id=org_id, ticket_id=t.id, author=Author.customer, content="Hi", created_at=opened
        )
    )
    if staff_reply_after is not None:
        db.add(
            TicketMessage(
                organization_id=org_id,
                ticket_id=t.id,
                author=Author.staff,
                content="Hello",
                created_at=opened + timedelta(seconds=staff_reply_after),
            )
        )
    for status, final in drafts:
        db.add(
            Draft(
                organization_id=org_id,
                ticket_id=t.id,
                status=status,
                text="Draft text",
                final_text=final,
                mode="llm",
                created_at=opened + timedelta(minutes=1),
            )
        )
    return t


__all__ = ["DraftStatus", "add_conversation", "add_ticket"]
