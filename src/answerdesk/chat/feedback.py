"""Answer feedback: a customer's thumbs up or down on one bot answer, and the "AI accuracy" it adds up to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import AnswerMode, Conversation, Message, MessageFeedback, Sender
from answerdesk.chat.repository import FeedbackCounts, FeedbackRepository, MessageRepository
from answerdesk.chat.schemas import FeedbackCreate
from answerdesk.kit.errors import NotFound, ValidationFailed
from answerdesk.knowledge.models import PhrasingSource
from answerdesk.knowledge.phrasings import PhrasingService
from answerdesk.knowledge.repository import ChunkRepository, DocumentRepository

if TYPE_CHECKING:
    from answerdesk.runtime import Runtime

MESSAGE_NOT_FOUND = "Message not found in this conversation."
# Answers grounded in the knowledge base: one rated helpful teaches its FAQ entry the customer's wording.
LEARNING_MODES = frozenset({AnswerMode.llm, AnswerMode.faq, AnswerMode.extractive})


class FeedbackService:
    def __init__(self, db: AsyncSession, runtime: Runtime | None = None) -> None:
        """With ``runtime``, answers rated helpful teach their FAQ entry (``knowledge.phrasings``)."""
        self.db = db
        self.runtime = runtime
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
        await self._learn(conversation, message, helpful=body.helpful)
        return feedback

    async def _learn(self, conversation: Conversation, answer: Message, *, helpful: bool) -> None:
        """A helpful answer from an FAQ entry keeps the customer's question as another way to ask it; a
        rating changed to unhelpful takes that back."""
        if self.runtime is None:
            return
        phrasings = PhrasingService(self.db, self.runtime)
        question = await MessageRepository(self.db).question_before(
            conversation.organization_id, conversation.id, answer.seq
        )
        if question is None:
            return
        if not helpful:
            await phrasings.forget_learned(conversation.organization_id, question.id)
            return
        if answer.mode not in LEARNING_MODES:
            return
        cited = [c["chunk_id"] for c in answer.citations if isinstance(c.get("chunk_id"), int)]
        hits = await ChunkRepository(self.db).hits(conversation.organization_id, cited)
        faq = next((cid for cid in cited if cid in hits and hits[cid].kind == "faq"), None)
        if faq is None:
            return
        # The search query: a follow-up made standalone, or translated into the knowledge base's language.
        query = (answer.details or {}).get("query")
        text = query if isinstance(query, str) and query.strip() else question.content
        if text == question.content and question.language:
            document = await DocumentRepository(self.db).get(
                conversation.organization_id, hits[faq].document_id
            )
            if document is not None and document.language and document.language != question.language:
                return  # asked in another language: its vector would pull the question away from its own
        await phrasings.add(
            conversation.organization_id,
            faq,
            [text],
            source=PhrasingSource.learned,
            message_id=question.id,
        )

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
