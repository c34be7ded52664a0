"""Answer feedback: a customer's thumbs up or down on one bot answer, and the "AI accuracy" it adds up to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import Conversation, MessageFeedback, Sender
from answerdesk.chat.repository import FeedbackCounts, FeedbackRepository, MessageRepository
from answerdesk.chat.schemas import FeedbackCreate
from answerdesk.kit.errors import NotFound, ValidationFailed

MESSAGE_NOT_FOUND = "Message not found in this conversation."


class FeedbackService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.repo = FeedbackRepository(db)

    async def record(self, conversation: Conversation, body: FeedbackCreate) -> MessageFeedback:
        """Stores or replaces the feedback on one bot answer of `conversation` (which the caller may see).

        Callers lock the conversation (``for_update``), so two clicks at once cannot both insert the row."""
        message = await MessageRepository(self.db).get(conversation.organization_id, body.message_id)
        if message is None or message.conversation_id != conversation.id:
            # Another conversation's message is as unknown as a missing one.
            raise NotFound(MESSAGE_NOT_FOUND)
        if message.sender != Sender.bot:
            raise ValidationFailed(
                "Only the bot's answers can be rated.", details=[{"loc": ["body", "message_id"]}]
            )
        feedback = await self.repo.for_message(conversation.organization_id, message.id)
        if feedback is None:
            feedback = self.repo.add(
                MessageFeedback(
                    organization_id=conversation.organization_id,
                    conversation_id=conversation.id,
                    message_id=message.id,
                    helpful=body.helpful,
                )
            )
        feedback.helpful = body.helpful
        feedback.reason = None if body.helpful else body.reason
        feedback.comment = body.comment
        await self.db.flush()
        return feedback

    async def for_conversation(self, conversation: Conversation) -> dict[uuid.UUID, MessageFeedback]:
        """Each rated message's feedback, for transcripts and the widget's resumed state."""
        rows: Sequence[MessageFeedback] = await self.repo.for_conversation(
            conversation.organization_id, conversation.id
        )
        return {f.message_id: f for f in rows}

    async def counts(
        self, organization_id: uuid.UUID, *, since: datetime | None = None, until: datetime | None = None
    ) -> FeedbackCounts:
        """Rated and helpful customer answers (playground excluded): AI accuracy = helpful / rated."""
        return await self.repo.counts(organization_id, since=since, until=until)


def accuracy(counts: FeedbackCounts) -> float | None:
    """helpful / rated, or None when nothing was rated (not 0 %: there is nothing to judge yet)."""
    return counts.helpful / counts.rated if counts.rated else None
