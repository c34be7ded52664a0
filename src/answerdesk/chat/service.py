"""Conversations: start, resume with a token, accept a customer message and answer it through the pipeline."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.answers.pipeline import AnswerEvent, AnswerPipeline, AnswerRequest, AnswerResult
from answerdesk.answers.prompt import Turn
from answerdesk.answers.settings import ai_settings_of
from answerdesk.auth.service import Principal
from answerdesk.billing.service import AnswerQuota, BillingService, QuotaPeriod, Reservation
from answerdesk.chat import announce
from answerdesk.chat.feedback import FeedbackService
from answerdesk.chat.models import (
    AnswerMode,
    Channel,
    Conversation,
    ConversationStatus,
    Message,
    MessageFeedback,
    Sender,
)
from answerdesk.chat.repository import ConversationFilter, ConversationRepository, MessageRepository
from answerdesk.chat.schemas import (
    ConversationCreate,
    ConversationRead,
    CustomerIn,
    FeedbackRead,
    MessageRead,
    ReplyRead,
)
from answerdesk.integrations.llm import TokenDelta
from answerdesk.kit import metrics
from answerdesk.kit.db import autocommit_sessions, session_scope, utcnow
from answerdesk.kit.errors import Conflict, NotFound, ValidationFailed
from answerdesk.kit.events import EventBus
from answerdesk.kit.logging import log_task_failure
from answerdesk.kit.security import hash_token, new_token, tokens_equal
from answerdesk.languages.detect import detect_language
from answerdesk.runtime import OrganizationRead, Runtime
from answerdesk.sentiment import SentimentResult
from answerdesk.tenants.service import org_language

log = structlog.get_logger(__name__)

# Recent turns the pipeline sees: enough for follow-ups, small enough to keep prompts cheap.
HISTORY_MESSAGES = 8
NOT_FOUND = "Conversation not found."


@dataclass(frozen=True)
class AcceptedMessage:
    """A stored customer message and everything needed to answer it, outside any DB session."""

    conversation_id: uuid.UUID
    organization_id: uuid.UUID
    customer_message: MessageRead
    answer: AnswerRequest | None  # None: staff handle this conversation, the bot stays silent
    frustrated: bool
    # Where its AI answer is counted, just before it is written (None: no AI answer asked for: staff, a
    # handoff).
    quota: QuotaPeriod | None = None


@dataclass(frozen=True)
class Reply:
    """What the API returns for one customer message (and the SSE ``done`` event carries)."""

    read: ReplyRead
    result: AnswerResult | None


ReplyEvent = TokenDelta | Reply


def channel_for(principal: Principal) -> Channel:
    return Channel.widget if principal.kind == "public" else Channel.api


class ChatService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # -- conversations --------------------------------------------------------------------------------

    async def start(
        self, db: AsyncSession, organization_id: uuid.UUID, body: ConversationCreate, channel: Channel
    ) -> tuple[Conversation, str]:
        token = new_token()
        customer = body.customer or CustomerIn()
        conversation = ConversationRepository(db).add(
            Conversation(
                organization_id=organization_id,
                channel=channel,
                token_hash=hash_token(token),
                customer_name=customer.name,
                customer_email=str(customer.email) if customer.email else None,
                customer_phone=customer.phone,
                status=ConversationStatus.bot,
                # The widget's language (the visitor's browser or the site's choice) until they write.
                language=body.language,
            )
        )
        await db.flush()
        return conversation, token

    async def get(
        self,
        db: AsyncSession,
        principal: Principal,
        conversation_id: uuid.UUID,
        token: str | None,
        *,
        for_update: bool = False,
    ) -> Conversation:
        """A conversation the caller may see. Public keys need its token; a wrong token is a 404 too."""
        conversation = await ConversationRepository(db).get(
            principal.organization_id, conversation_id, for_update=for_update
        )
        if conversation is None:
            raise NotFound(NOT_FOUND)
        check_token(principal, conversation, token)
        return conversation

    async def messages(
        self, db: AsyncSession, conversation: Conversation, *, after_seq: int = 0, include_notes: bool = False
    ) -> Sequence[Message]:
        """The stored messages (with their retrieval traces, for staff views) after ``after_seq``; internal
        notes only when asked for, so no customer-facing read can include them by accident."""
        return await MessageRepository(db).for_conversation(
            conversation.organization_id,
            conversation.id,
            after_seq=after_seq,
            exclude_senders=() if include_notes else (Sender.note,),
        )

    async def read(
        self, db: AsyncSession, conversation: Conversation, *, after_seq: int = 0, include_notes: bool = False
    ) -> ConversationRead:
        return conversation_read(
            conversation,
            await self.messages(db, conversation, after_seq=after_seq, include_notes=include_notes),
            feedback=await FeedbackService(db).for_conversation(conversation),
        )

    async def list(
        self,
        db: AsyncSession,
        organization_id: uuid.UUID,
        where: ConversationFilter,
        *,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Conversation], int]:
        repo = ConversationRepository(db)
        return await repo.list(organization_id, where, limit=limit, offset=offset), await repo.count(
            organization_id, where
        )

    async def remember_query_vectors(
        self, db: AsyncSession, organization_id: uuid.UUID, vectors: Mapping[uuid.UUID, bytes]
    ) -> None:
        """Stores vectors made later for customer messages answered before vectors were kept."""
        repo = MessageRepository(db)
        for message_id, blob in vectors.items():
            await repo.set_query_embedding(organization_id, message_id, blob)

    # -- messages -------------------------------------------------------------------------------------

    def check_content(self, content: str) -> str:
        text = content.strip()
        if not text:
            raise ValidationFailed("The message is empty.", details=[{"loc": ["body", "content"]}])
        limit = self.runtime.settings.max_message_chars
        if len(text) > limit:
            raise ValidationFailed(
                f"The message is too long: {len(text)} characters, at most {limit}.",
                details=[{"loc": ["body", "content"], "max_length": limit}],
            )
        return text

    async def _organization(self, db: AsyncSession, organization_id: uuid.UUID) -> OrganizationRead:
        """The organization with its plan (for the quota) and the index generation the answer's search
        compares its copy with, read before the conversation is locked (on SQLite, before the write lock).

        A request that holds no connection yet (its API key was cached) reads them in statements that commit
        by themselves: it holds a connection only while they run. In its own session it would keep that
        connection while the message is embedded, and a burst ran the pool dry on that wait. A request that
        already holds one (its key was read) reads in it: none may wait for a second connection while it
        holds one, or a burst of them takes the whole pool and waits for each other until the pool's
        timeout. Requests of one organization that read at the same time share one read
        (``Runtime.organization_reads``): in a burst, most messages then run no statement of their own."""
        if db.in_transaction():
            return await self._read_organization(db, organization_id)
        return await self.runtime.organization_reads.run(
            organization_id, lambda: self._read_organization_alone(organization_id)
        )

    async def _read_organization_alone(self, organization_id: uuid.UUID) -> OrganizationRead:
        async with session_scope(autocommit_sessions(self.runtime.sessionmaker)) as own:
            return await self._read_organization(own, organization_id)

    async def _read_organization(self, db: AsyncSession, organization_id: uuid.UUID) -> OrganizationRead:
        org, plan = await BillingService(db, self.runtime.settings).organization_and_plan(organization_id)
        return org, plan, await self.runtime.retriever.generation(db, org.id)

    async def accept(
        self,
        db: AsyncSession,
        principal: Principal,
        conversation_id: uuid.UUID,
        token: str | None,
        content: str,
    ) -> AcceptedMessage:
        """Stores the customer's message in the caller's session; commit it before answering, so it is never
        lost whatever happens to the answer, and no connection is held while the answer is written."""
        text = self.check_content(content)
        analyzer = await self.runtime.sentiment()
        # At once, as each mostly waits (on a model thread or the database): the embedding, which serves the
        # sentiment model and, when the question needs no rewriting, the search (concurrent messages share
        # model calls), and what the answer needs of the organization.
        embedded, (org, plan, generation) = await asyncio.gather(
            (await self.runtime.query_embeddings()).embed(text),
            self._organization(db, principal.organization_id),
        )
        # On the event loop: ~0.03 ms for a chat message, 0.7 ms at the longest (4,000 characters), where a
        # worker thread costs more to reach, and in a burst a turn of the loop.
        language = detect_language(text)
        vector = embedded[None, :]
        sentiment = analyzer.analyze_embedded([text], vector)[0]
        # The message is counted first (which locks the conversation), in the statement that reads it; a
        # wrong token or a closed conversation then fails the request, which rolls the count back.
        conversation = await ConversationRepository(db).count_message(
            principal.organization_id,
            conversation_id,
            at=utcnow(),
            open_only=True,
            # "ok", "thanks" or an order number tell nothing: the conversation keeps the language it had.
            language=language,
            sentiment=(sentiment.label, sentiment.frustrated),
        )
        if conversation is None:
            if (await self.get(db, principal, conversation_id, token)).status == ConversationStatus.closed:
                raise Conflict("This conversation is closed. Start a new one to ask something else.")
            raise NotFound(NOT_FOUND)  # not closed after all: it was reopened in between
        check_token(principal, conversation, token)
        seq = conversation.message_count
        history = (
            await MessageRepository(db).recent(
                conversation.organization_id, conversation.id, HISTORY_MESSAGES, before_seq=seq
            )
            if seq > 1  # the conversation's first message has no history to read
            else []
        )
        message = await store_counted_message(
            db,
            conversation,
            Sender.customer,
            text,
            sentiment=sentiment,
            language=language,
            # Knowledge gaps group questions by their search query's vector: most questions are searched as
            # asked, so it is stored with the question (the answer replaces it when the query was rewritten).
            query_embedding=vector_bytes(vector[0]),
            events=self.runtime.events,
        )
        answer = None
        quota = None
        if conversation.status == ConversationStatus.bot:
            if not sentiment.wants_human:  # a handoff, not an AI answer
                quota = self._quota().period_of(org, plan)
            answer = AnswerRequest(
                organization_id=org.id,
                organization_name=org.name,
                question=text,
                history=turns_of(history),
                ai=ai_settings_of(org.settings),
                wants_human=sentiment.wants_human,
                question_vector=vector[0],
                language=conversation.language or org_language(org.settings),
                index_generation=generation,
            )
        return AcceptedMessage(
            conversation_id=conversation.id,
            organization_id=conversation.organization_id,
            customer_message=MessageRead.model_validate(message),
            answer=answer,
            frustrated=sentiment.frustrated,
            quota=quota,
        )

    async def respond(self, accepted: AcceptedMessage) -> AsyncIterator[ReplyEvent]:
        """Token deltas while the bot writes, then one ``Reply``; the bot message is stored only whole."""
        if accepted.answer is None:
            yield Reply(
                ReplyRead(
                    message=None,
                    customer_message=accepted.customer_message,
                    citations=[],
                    suggestions=[],
                    handoff=True,
                ),
                None,
            )
            return
        result: AnswerResult | None = None
        async for event in self._answer_within_quota(accepted.answer, accepted.quota):
            if isinstance(event, TokenDelta):
                yield event
            else:
                result = event
        assert result is not None
        handoff = result.offers_human or accepted.frustrated
        async with session_scope(self.runtime.sessionmaker) as db:
            conversation = await ConversationRepository(db).count_message(
                accepted.organization_id, accepted.conversation_id, at=utcnow(), handoff=handoff
            )
            if conversation is None:  # deleted while we were answering: nothing to attach the answer to
                raise NotFound(NOT_FOUND)
            message = await store_counted_message(
                db, conversation, Sender.bot, result.text, result=result, events=self.runtime.events
            )
            if result.query_vector is not None and result.query != accepted.answer.question:
                # Searched for a rewritten query (a follow-up made standalone, a translation): gaps group the
                # question by that query's vector, not the one stored with it.
                await MessageRepository(db).set_query_embedding(
                    accepted.organization_id, accepted.customer_message.id, vector_bytes(result.query_vector)
                )
            if result.mode == AnswerMode.handoff and conversation.waiting_since is None:
                # The customer asked for a person in words: they now wait for staff, as with the button.
                waiting_since = utcnow()
                if await ConversationRepository(db).start_waiting(
                    conversation.organization_id, conversation.id, waiting_since
                ):
                    conversation.waiting_since = waiting_since  # detached: for the event only
                    announce.status_changed(db, self.runtime.events, conversation)
            read = MessageRead.model_validate(message)
        log.info(
            "chat.answered",
            conversation_id=str(accepted.conversation_id),
            mode=result.mode,
            latency_ms=result.latency_ms,
            citations=len(result.citations),
            handoff=handoff,
        )
        metrics.answered(result.mode, result.latency_ms)
        yield Reply(
            ReplyRead(
                message=read,
                customer_message=accepted.customer_message,
                citations=read.citations,
                suggestions=read.suggestions,
                handoff=handoff,
            ),
            result,
        )

    def _quota(self) -> AnswerQuota:
        return self.runtime.answer_quota

    async def _answer_within_quota(
        self, request: AnswerRequest, period: QuotaPeriod | None
    ) -> AsyncIterator[AnswerEvent]:
        """The pipeline's events, if the plan has an AI answer left this ``period``.

        The answer is counted before the model is called (so concurrent answers cannot overshoot), once the
        customer's question is stored, in a statement of its own (see AnswerQuota) that runs while the search
        does. It is given back when the bot did not answer after all: the customer asked for a person,
        nothing relevant was found, or answering failed. Used up, the customer is offered a person instead,
        with no model call (the pipeline's ``admission``)."""
        if period is None:  # the customer asked for a person: a handoff, not an AI answer
            async for event in AnswerPipeline(self.runtime).run(request):
                yield event
            return
        quota = self._quota()
        reserving = asyncio.ensure_future(quota.reserve_in(period))
        # Nobody may await it (a client gone): a failure is logged all the same.
        reserving.add_done_callback(lambda task: log_task_failure(task, "chat.quota_failed"))

        async def admitted() -> bool:
            # Shielded: a client gone while it runs does not cancel the count the model may be writing for.
            return await asyncio.shield(reserving) is not None

        give_back = False
        try:
            async for event in AnswerPipeline(self.runtime).run(replace(request, admission=admitted)):
                if isinstance(event, AnswerResult):
                    give_back = event.mode in (AnswerMode.no_answer, AnswerMode.handoff)
                yield event
        except Exception:
            give_back = True
            raise
        finally:
            # A client gone mid-answer keeps it counted: the model was already writing it.
            reservation = await _settled(reserving) if give_back else None
            if reservation is not None:
                await quota.release(reservation)

    async def answer(self, accepted: AcceptedMessage) -> Reply:
        """The whole reply at once (JSON clients, the CLI, tickets)."""
        async for event in self.respond(accepted):
            if isinstance(event, Reply):
                return event
        raise RuntimeError("the answer pipeline ended without a reply")  # pragma: no cover


async def _settled(reserving: asyncio.Future[Reservation | None]) -> Reservation | None:
    """The reservation once made; None when it failed (the answer failed with it, and it was logged)."""
    try:
        return await asyncio.shield(reserving)
    except Exception:
        return None


def append_message(
    db: AsyncSession,
    conversation: Conversation,
    sender: Sender,
    content: str,
    *,
    sentiment: SentimentResult | None = None,
    result: AnswerResult | None = None,
    author_user_id: uuid.UUID | None = None,
    events: EventBus | None = None,
) -> Message:
    """Adds the next message of a locked conversation and keeps the conversation's summary fields current.

    The session writes it on its next flush through the ORM, so callers may still change it (staff and
    system messages); customers' messages and the bot's answers use ``store_counted_message``. With
    `events`, the message is published live once the session commits (notes to staff only)."""
    conversation.message_count += 1
    conversation.last_message_at = utcnow()
    if sentiment is not None:
        conversation.last_sentiment = sentiment.label
        conversation.frustrated = conversation.frustrated or sentiment.frustrated
    message = MessageRepository(db).add(
        counted_message(
            conversation, sender, content, sentiment=sentiment, result=result, author_user_id=author_user_id
        )
    )
    if events is not None:
        announce.message_added(db, events, conversation, message)
    return message


def counted_message(
    conversation: Conversation,
    sender: Sender,
    content: str,
    *,
    sentiment: SentimentResult | None = None,
    result: AnswerResult | None = None,
    author_user_id: uuid.UUID | None = None,
    language: str | None = None,
    query_embedding: bytes | None = None,
) -> Message:
    """The message whose seq is ``conversation.message_count``, already counted with the summary fields
    (``ConversationRepository.count_message``), built whole (its id and time included) and not yet stored."""
    message = Message(
        id=uuid.uuid4(),
        created_at=utcnow(),
        organization_id=conversation.organization_id,
        conversation_id=conversation.id,
        seq=conversation.message_count,
        sender=sender,
        author_user_id=author_user_id,
        content=content,
        citations=[c.as_dict() for c in result.citations] if result else [],
        suggestions=result.suggestions if result else [],
        frustrated=False,
        details={},
        language=language,
        query_embedding=query_embedding,
    )
    if sentiment is not None:
        message.sentiment_score = sentiment.score
        message.sentiment_label = sentiment.label
        message.frustrated = sentiment.frustrated
    if result is not None:
        message.mode = result.mode
        message.model = result.model
        message.prompt_tokens = result.prompt_tokens
        message.completion_tokens = result.completion_tokens
        message.latency_ms = result.latency_ms
        message.details = result.trace()
    return message


async def store_counted_message(
    db: AsyncSession,
    conversation: Conversation,
    sender: Sender,
    content: str,
    *,
    events: EventBus,
    sentiment: SentimentResult | None = None,
    result: AnswerResult | None = None,
    language: str | None = None,
    query_embedding: bytes | None = None,
) -> Message:
    """Writes ``counted_message`` at once, without the ORM's unit of work, and gives it back detached
    (changing it writes nothing): customers' chat messages and the bot's answers are stored so, as that work
    added ~0.5-0.7 ms of CPU to each (bench/chat_statements.py). Published live once the session commits."""
    message = await MessageRepository(db).insert(
        counted_message(
            conversation,
            sender,
            content,
            sentiment=sentiment,
            result=result,
            language=language,
            query_embedding=query_embedding,
        )
    )
    announce.message_added(db, events, conversation, message)
    return message


def check_token(principal: Principal, conversation: Conversation, token: str | None) -> None:
    """Public keys need the conversation's token; a wrong one is a 404, as for another's conversation."""
    if token is None and principal.kind != "public":
        return
    if token is None or not tokens_equal(hash_token(token), conversation.token_hash):
        raise NotFound(NOT_FOUND)


def vector_bytes(vector: npt.NDArray[np.float32]) -> bytes:
    """float32 little-endian, as chunks store theirs."""
    return np.asarray(vector, dtype="<f4").tobytes()


def turns_of(messages: Sequence[Message]) -> list[Turn]:
    turns = []
    for m in messages:
        if m.sender == Sender.customer:
            turns.append(Turn("customer", m.content))
        elif m.sender in (Sender.bot, Sender.staff):
            turns.append(Turn("bot" if m.sender == Sender.bot else "staff", m.content))
    return turns


def conversation_read(
    conversation: Conversation,
    messages: Sequence[Message],
    *,
    feedback: Mapping[uuid.UUID, MessageFeedback] | None = None,
) -> ConversationRead:
    rated = feedback or {}
    return ConversationRead(
        id=conversation.id,
        channel=conversation.channel,
        status=conversation.status,
        customer_name=conversation.customer_name,
        customer_email=conversation.customer_email,
        customer_phone=conversation.customer_phone,
        rating=conversation.rating,
        rating_comment=conversation.rating_comment,
        handoff=conversation.handoff_at is not None,
        language=conversation.language,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        messages=[message_read(m, rated.get(m.id)) for m in messages],
    )


def message_read(message: Message, feedback: MessageFeedback | None = None) -> MessageRead:
    read = MessageRead.model_validate(message)
    if feedback is not None:
        read.feedback = FeedbackRead.model_validate(feedback)
    return read
