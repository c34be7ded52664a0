"""All SQL for knowledge gaps: a read model over conversations, messages and feedback, and the FAQ links.

The gap report reads the chat tables directly (one pass over a window of messages, read-only), as a report
does; it never writes them except through the chat service."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import AnswerMode, Channel, Conversation, Message, MessageFeedback, Sender
from answerdesk.gaps.models import GapResolution

# Bound parameters per IN (...) list: well under SQLite's limit, and PostgreSQL plans stay quick.
CHUNK = 500
# Bot answers without a source that say nothing about the knowledge base: a curated FAQ answer is its own
# source, and the reply sent when the plan's answers ran out was never looked up.
NOT_KNOWLEDGE_GAPS = (AnswerMode.faq, AnswerMode.quota)


@dataclass(frozen=True)
class Turn:
    """One customer or bot message of a conversation with a possible gap, without its vector."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender: str
    mode: str | None
    content: str
    created_at: datetime
    citation_count: int
    helpful: bool | None  # the customer's feedback on a bot answer, None when not rated


@dataclass(frozen=True)
class Candidate:
    conversation_id: uuid.UUID
    handoff_at: datetime | None


def _chunks(ids: Sequence[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


class GapRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def candidates(self, organization_id: uuid.UUID, since: datetime) -> list[Candidate]:
        """Customer conversations (not the playground) active since `since` where the bot fell short at least
        once: refused, answered without a source, was rated unhelpful, or a person was asked for."""
        # Uncorrelated: one pass over the window's bot messages, not one lookup per conversation.
        failed = (
            sa.select(Message.conversation_id)
            .outerjoin(MessageFeedback, MessageFeedback.message_id == Message.id)
            .where(
                Message.organization_id == organization_id,
                Message.sender == Sender.bot,
                Message.created_at >= since,
                sa.or_(
                    Message.mode.in_((AnswerMode.no_answer, AnswerMode.handoff)),
                    sa.and_(
                        Message.mode.not_in(NOT_KNOWLEDGE_GAPS),
                        sa.func.json_array_length(Message.citations) == 0,
                    ),
                    MessageFeedback.helpful.is_(False),
                ),
            )
        )
        stmt = sa.select(Conversation.id, Conversation.handoff_at).where(
            Conversation.organization_id == organization_id,
            Conversation.channel != Channel.playground,
            Conversation.last_message_at >= since,
            sa.or_(Conversation.id.in_(failed), Conversation.handoff_at >= since),
        )
        rows = (await self.db.execute(stmt.order_by(Conversation.id))).all()
        return [Candidate(row[0], row[1]) for row in rows]

    async def turns(self, organization_id: uuid.UUID, conversation_ids: Sequence[uuid.UUID]) -> list[Turn]:
        """Customer and bot messages of these conversations in order, with feedback, without vectors."""
        found: list[Turn] = []
        for chunk in _chunks(conversation_ids):
            stmt = (
                sa.select(
                    Message.id,
                    Message.conversation_id,
                    Message.seq,
                    Message.sender,
                    Message.mode,
                    Message.content,
                    Message.created_at,
                    sa.func.json_array_length(Message.citations),
                    MessageFeedback.helpful,
                )
                .outerjoin(MessageFeedback, MessageFeedback.message_id == Message.id)
                .where(
                    Message.organization_id == organization_id,
                    Message.conversation_id.in_(chunk),
                    Message.sender.in_((Sender.customer, Sender.bot)),
                )
                .order_by(Message.conversation_id, Message.seq)
            )
            found.extend(
                Turn(
                    id=row[0],
                    conversation_id=row[1],
                    seq=row[2],
                    sender=row[3],
                    mode=row[4],
                    content=row[5],
                    created_at=row[6],
                    citation_count=int(row[7] or 0),
                    helpful=row[8],
                )
                for row in (await self.db.execute(stmt)).all()
            )
        return found

    async def vectors(
        self, organization_id: uuid.UUID, message_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, bytes]:
        """The stored query vectors of these messages (old rows may have none: they are left out)."""
        found: dict[uuid.UUID, bytes] = {}
        for chunk in _chunks(message_ids):
            stmt = sa.select(Message.id, Message.query_embedding).where(
                Message.organization_id == organization_id,
                Message.id.in_(chunk),
                Message.query_embedding.is_not(None),
            )
            found.update(
                {row[0]: row[1] for row in (await self.db.execute(stmt)).all() if row[1] is not None}
            )
        return found

    async def resolutions(
        self, organization_id: uuid.UUID, message_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, GapResolution]:
        found: dict[uuid.UUID, GapResolution] = {}
        for chunk in _chunks(message_ids):
            stmt = sa.select(GapResolution).where(
                GapResolution.organization_id == organization_id, GapResolution.message_id.in_(chunk)
            )
            found.update({r.message_id: r for r in (await self.db.scalars(stmt)).all()})
        return found

    async def customer_messages(
        self, organization_id: uuid.UUID, message_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, str]]:
        """(id, text) of those of these ids that are this organization's customer messages (the rest are
        ignored)."""
        found: list[tuple[uuid.UUID, str]] = []
        for chunk in _chunks(message_ids):
            stmt = sa.select(Message.id, Message.content).where(
                Message.organization_id == organization_id,
                Message.id.in_(chunk),
                Message.sender == Sender.customer,
            )
            found.extend((mid, content) for mid, content in (await self.db.execute(stmt)).all())
        return found

    async def link(
        self,
        organization_id: uuid.UUID,
        message_ids: Iterable[uuid.UUID],
        document_id: uuid.UUID,
        user_id: uuid.UUID | None,
    ) -> None:
        """Links the questions to the FAQ written for them; a question linked before points at the new one."""
        ids = list(message_ids)
        existing = await self.resolutions(organization_id, ids)
        for message_id in ids:
            row = existing.get(message_id)
            if row is None:
                self.db.add(
                    GapResolution(
                        organization_id=organization_id,
                        message_id=message_id,
                        document_id=document_id,
                        created_by_user_id=user_id,
                    )
                )
            else:
                row.document_id = document_id
                row.created_by_user_id = user_id

    async def staff_replies(
        self, organization_id: uuid.UUID, conversation_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, int, str, datetime]]:
        """(conversation id, seq, text, sent at) of every staff message in these conversations."""
        found: list[tuple[uuid.UUID, int, str, datetime]] = []
        for chunk in _chunks(conversation_ids):
            stmt = (
                sa.select(Message.conversation_id, Message.seq, Message.content, Message.created_at)
                .where(
                    Message.organization_id == organization_id,
                    Message.conversation_id.in_(chunk),
                    Message.sender == Sender.staff,
                )
                .order_by(Message.conversation_id, Message.seq)
            )
            found.extend((row[0], row[1], row[2], row[3]) for row in (await self.db.execute(stmt)).all())
        return found

    async def customers(
        self, organization_id: uuid.UUID, conversation_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[str | None, str | None]]:
        """(name, e-mail) per conversation: the personal data to strip from a staff reply."""
        found: dict[uuid.UUID, tuple[str | None, str | None]] = {}
        for chunk in _chunks(conversation_ids):
            stmt = sa.select(Conversation.id, Conversation.customer_name, Conversation.customer_email).where(
                Conversation.organization_id == organization_id, Conversation.id.in_(chunk)
            )
            found.update({row[0]: (row[1], row[2]) for row in (await self.db.execute(stmt)).all()})
        return found
