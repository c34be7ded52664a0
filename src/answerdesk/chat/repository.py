"""All SQL for conversations and messages; always scoped by organization."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.analytics import definitions
from answerdesk.chat.models import Channel, Conversation, ConversationStatus, Message, MessageFeedback, Sender
from answerdesk.kit.db import contains, insert_built, returning_one, utcnow


@functools.cache
def _count_statement(
    *, open_only: bool, language: bool, sentiment: bool, frustrated: bool, handoff: bool
) -> sa.Update:
    """``count_message``'s statement for one shape of its arguments (their values are bound parameters):
    building and keying a statement per message cost ~0.25 ms of CPU, more than running it
    (bench/chat_statements.py)."""
    conversations = cast(sa.Table, Conversation.__table__)
    table = conversations.c
    at = sa.bindparam("new_at", type_=table.last_message_at.type)
    values: dict[str, Any] = {
        "message_count": table.message_count + 1,
        "last_message_at": at,
        "updated_at": at,
    }
    if language:
        values["language"] = sa.bindparam("new_language", type_=table.language.type)
    if sentiment:
        values["last_sentiment"] = sa.bindparam("new_sentiment", type_=table.last_sentiment.type)
    if frustrated:
        values["frustrated"] = True
    if handoff:
        values["handoff_at"] = sa.func.coalesce(table.handoff_at, at)
    stmt = (
        sa.update(conversations)
        .where(
            table.organization_id == sa.bindparam("in_organization", type_=table.organization_id.type),
            table.id == sa.bindparam("in_conversation", type_=table.id.type),
        )
        .values(**values)
        .returning(*table)
    )
    return stmt.where(table.status != ConversationStatus.closed) if open_only else stmt


@dataclass(frozen=True)
class ConversationFilter:
    status: str | None = None
    channel: str | None = None
    sentiment: str | None = None  # last customer sentiment label, or "frustrated"
    rating: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None  # in any message's text, or the customer's name or e-mail
    # The dashboard's links: conversations started in [started_since, started_until), every channel but the
    # playground, by outcome (see analytics.definitions) or with a bot answer of one mode.
    started_since: datetime | None = None
    started_until: datetime | None = None
    customers_only: bool = False
    outcome: str | None = None  # "ended", "resolved", "handoff", "staff", "rated", "open"
    mode: str | None = None


class ConversationRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, conversation: Conversation) -> Conversation:
        self.db.add(conversation)
        return conversation

    async def get(
        self, organization_id: uuid.UUID, conversation_id: uuid.UUID, *, for_update: bool = False
    ) -> Conversation | None:
        stmt = sa.select(Conversation).where(
            Conversation.organization_id == organization_id, Conversation.id == conversation_id
        )
        if for_update and self.db.get_bind().dialect.name == "sqlite":
            # SQLite has no row locks and reads outside a transaction: a no-op write first takes the
            # database's write lock, so the read below sees the last commit and no other session or worker
            # process can append in between (two appends would otherwise take the same seq).
            await self.db.execute(
                sa.update(Conversation)
                .where(Conversation.organization_id == organization_id, Conversation.id == conversation_id)
                .values(message_count=Conversation.message_count, updated_at=Conversation.updated_at)
                .execution_options(synchronize_session=False)
            )
        # The row lock serialises appends to one conversation on PostgreSQL, so seq numbers never clash.
        return await self.db.scalar(stmt.with_for_update() if for_update else stmt)

    async def count_message(
        self,
        organization_id: uuid.UUID,
        conversation_id: uuid.UUID,
        *,
        at: datetime,
        open_only: bool = False,
        language: str | None = None,
        sentiment: tuple[str, bool] | None = None,
        handoff: bool = False,
    ) -> Conversation | None:
        """Counts one more message and returns the conversation as updated: its ``message_count`` is the new
        message's seq. One ``UPDATE ... RETURNING``, which like ``get(for_update=True)`` holds the row
        (PostgreSQL) or the database's write lock (SQLite) until commit, so two appends never take the same
        seq. Also the summary fields: the customer's ``language`` when detected, their ``sentiment``
        (label, frustrated; frustration sticks), ``handoff`` (the first time is kept). None when there is no
        such conversation, or with ``open_only`` when it is closed. The conversation returned is detached
        (see ``returning_one``): change it through this repository."""
        params: dict[str, Any] = {
            "in_organization": organization_id,
            "in_conversation": conversation_id,
            "new_at": at,
        }
        if language is not None:
            params["new_language"] = language
        if sentiment is not None:
            params["new_sentiment"], frustrated = sentiment
        else:
            frustrated = False
        stmt = _count_statement(
            open_only=open_only,
            language=language is not None,
            sentiment=sentiment is not None,
            frustrated=frustrated,
            handoff=handoff,
        )
        # Not loaded as an entity, and built once per shape: the hot path of every chat message.
        return await returning_one(self.db, stmt, Conversation, params)

    async def start_waiting(
        self, organization_id: uuid.UUID, conversation_id: uuid.UUID, at: datetime
    ) -> bool:
        """The customer now waits for staff, unless they already did; True when this started the wait."""
        result = await self.db.execute(
            sa.update(Conversation)
            .where(
                Conversation.organization_id == organization_id,
                Conversation.id == conversation_id,
                Conversation.waiting_since.is_(None),
            )
            .values(waiting_since=at)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def list(
        self, organization_id: uuid.UUID, where: ConversationFilter, *, limit: int = 50, offset: int = 0
    ) -> Sequence[Conversation]:
        stmt = self._filtered(organization_id, where)
        stmt = stmt.order_by(Conversation.last_message_at.desc(), Conversation.id).limit(limit).offset(offset)
        return (await self.db.scalars(stmt)).all()

    async def count(self, organization_id: uuid.UUID, where: ConversationFilter) -> int:
        stmt = self._filtered(organization_id, where).with_only_columns(sa.func.count()).order_by(None)
        return int(await self.db.scalar(stmt) or 0)

    async def live(
        self, organization_id: uuid.UUID, view: str, search: str | None, *, recent_since: datetime, limit: int
    ) -> Sequence[tuple[Conversation, int]]:
        """The staff's live list with each conversation's unread customer messages, most pressing first:
        frustrated (or urgent: the sentiment flag covers both) customers waiting for a person, then the other
        waiting ones, each group longest wait first; then open frustrated conversations, then those with
        staff, then the rest, each most recent first."""
        unread = (
            sa.select(sa.func.count(Message.id))
            .where(
                Message.conversation_id == Conversation.id,
                Message.organization_id == organization_id,
                Message.sender == Sender.customer,
                Message.seq > Conversation.staff_seen_seq,
            )
            .scalar_subquery()
        )
        waiting = sa.and_(
            Conversation.waiting_since.is_not(None), Conversation.status == ConversationStatus.bot
        )
        stmt = self._filtered(organization_id, ConversationFilter(search=search)).where(
            Conversation.channel != Channel.playground
        )
        if view == "waiting":
            stmt = stmt.where(waiting)
        elif view == "closed":
            stmt = stmt.where(Conversation.status == ConversationStatus.closed)
        else:  # active: open, and either needing staff or recent (bot chats nobody closed end quietly)
            stmt = stmt.where(
                Conversation.status != ConversationStatus.closed,
                sa.or_(
                    waiting,
                    Conversation.status == ConversationStatus.human,
                    Conversation.last_message_at >= recent_since,
                ),
            )
        frustrated = sa.and_(
            Conversation.frustrated.is_(True), Conversation.status != ConversationStatus.closed
        )
        rank = sa.case(
            (sa.and_(waiting, Conversation.frustrated.is_(True)), 0),
            (waiting, 1),
            (frustrated, 2),
            (Conversation.status == ConversationStatus.human, 3),
            else_=4,
        )
        # NULLS LAST spelled out: PostgreSQL and SQLite put NULLs at opposite ends by default.
        stmt = stmt.add_columns(unread.label("unread")).order_by(
            rank,
            Conversation.waiting_since.asc().nulls_last(),
            Conversation.last_message_at.desc(),
            Conversation.id,
        )
        # add_columns widens the row beyond what Select[Conversation] says.
        rows: Sequence[Any] = (await self.db.execute(stmt.limit(limit))).all()
        return [(row[0], int(row[1])) for row in rows]

    def _live_scope(self, organization_id: uuid.UUID) -> tuple[sa.ColumnElement[bool], ...]:
        return (Conversation.organization_id == organization_id, Conversation.channel != Channel.playground)

    async def live_counts(self, organization_id: uuid.UUID, *, recent_since: datetime) -> tuple[int, int]:
        """(active, waiting): the sizes of the Live chats page's "Active" and "Waiting" lists."""
        waiting = sa.and_(
            Conversation.waiting_since.is_not(None), Conversation.status == ConversationStatus.bot
        )
        active = sa.and_(
            Conversation.status != ConversationStatus.closed,
            sa.or_(
                waiting,
                Conversation.status == ConversationStatus.human,
                Conversation.last_message_at >= recent_since,
            ),
        )
        row = (
            await self.db.execute(
                sa.select(sa.func.count().filter(active), sa.func.count().filter(waiting)).where(
                    *self._live_scope(organization_id)
                )
            )
        ).one()
        return int(row[0] or 0), int(row[1] or 0)

    async def rating_summary(self, organization_id: uuid.UUID, since: datetime) -> tuple[float | None, int]:
        """(average, count) of the ratings of conversations active since ``since``."""
        row = (
            await self.db.execute(
                sa.select(sa.func.avg(Conversation.rating), sa.func.count(Conversation.rating)).where(
                    *self._live_scope(organization_id),
                    Conversation.rating.is_not(None),
                    Conversation.last_message_at >= since,
                )
            )
        ).one()
        return (None if row[0] is None else float(row[0])), int(row[1] or 0)

    async def staffed_threads(
        self, organization_id: uuid.UUID, since: datetime
    ) -> Sequence[tuple[uuid.UUID, str, str | None, datetime]]:
        """(conversation, sender, mode, created_at) of every customer, staff and system message, in order, of
        the conversations where staff wrote since ``since``: the material of the staff reply time."""
        staffed = (
            sa.select(Message.conversation_id)
            .where(
                Message.organization_id == organization_id,
                Message.sender == Sender.staff,
                Message.created_at >= since,
            )
            .distinct()
        )
        rows = await self.db.execute(
            sa.select(Message.conversation_id, Message.sender, Message.mode, Message.created_at)
            .where(
                Message.organization_id == organization_id,
                Message.conversation_id.in_(staffed),
                Message.sender.in_([Sender.customer, Sender.staff, Sender.system, Sender.bot]),
            )
            .order_by(Message.conversation_id, Message.seq)
        )
        return [(cid, sender, mode, at) for cid, sender, mode, at in rows.all()]

    def _filtered(self, organization_id: uuid.UUID, where: ConversationFilter) -> sa.Select[Conversation]:
        stmt = sa.select(Conversation).where(Conversation.organization_id == organization_id)
        if where.status:
            stmt = stmt.where(Conversation.status == where.status)
        if where.channel:
            stmt = stmt.where(Conversation.channel == where.channel)
        if where.sentiment == "frustrated":
            stmt = stmt.where(Conversation.frustrated.is_(True))
        elif where.sentiment:
            stmt = stmt.where(Conversation.last_sentiment == where.sentiment)
        if where.rating is not None:
            stmt = stmt.where(Conversation.rating == where.rating)
        if where.since is not None:
            stmt = stmt.where(Conversation.last_message_at >= where.since)
        if where.until is not None:
            stmt = stmt.where(Conversation.last_message_at < where.until)
        if where.started_since is not None:
            stmt = stmt.where(Conversation.created_at >= where.started_since)
        if where.started_until is not None:
            stmt = stmt.where(Conversation.created_at < where.started_until)
        if where.customers_only:
            stmt = stmt.where(Conversation.channel != Channel.playground)
        if where.mode:
            stmt = stmt.where(
                sa.select(Message.id)
                .where(
                    Message.conversation_id == Conversation.id,
                    Message.organization_id == organization_id,
                    Message.sender == Sender.bot,
                    Message.mode == where.mode,
                )
                .exists()
            )
        if where.outcome:
            stmt = stmt.where(_outcome(organization_id, where.outcome))
        if where.search:
            search = where.search.strip()
            in_messages = (
                sa.select(Message.id)
                .where(
                    Message.conversation_id == Conversation.id,
                    Message.organization_id == organization_id,
                    contains(Message.content, search),
                )
                .exists()
            )
            stmt = stmt.where(
                sa.or_(
                    in_messages,
                    contains(Conversation.customer_name, search),
                    contains(Conversation.customer_email, search),
                )
            )
        return stmt


def _outcome(organization_id: uuid.UUID, outcome: str) -> sa.ColumnElement[bool]:
    # The analytics definitions, so a figure and the list behind it count the same conversations.
    now = utcnow()
    staff = (
        sa.select(sa.func.count(Message.id))
        .where(
            Message.conversation_id == Conversation.id,
            Message.organization_id == organization_id,
            Message.sender == Sender.staff,
        )
        .scalar_subquery()
    )
    conditions: dict[str, sa.ColumnElement[bool]] = {
        "ended": definitions.ended(now),
        "open": sa.not_(definitions.ended(now)),
        "resolved": definitions.resolved_automatically(now, staff),
        "handoff": definitions.handed_off(),
        "staff": staff > 0,
        "rated": Conversation.rating.is_not(None),
    }
    return conditions[outcome]


class MessageRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, message: Message) -> Message:
        self.db.add(message)
        return message

    async def insert(self, message: Message) -> Message:
        """Writes a message built whole at once (``kit.db.insert_built``); it comes back detached."""
        return await insert_built(self.db, message)

    async def for_conversation(
        self,
        organization_id: uuid.UUID,
        conversation_id: uuid.UUID,
        *,
        after_seq: int = 0,
        exclude_senders: Sequence[str] = (),
    ) -> Sequence[Message]:
        stmt = (
            sa.select(Message)
            .where(
                Message.organization_id == organization_id,
                Message.conversation_id == conversation_id,
                Message.seq > after_seq,
            )
            .order_by(Message.seq)
        )
        if exclude_senders:
            stmt = stmt.where(Message.sender.not_in(exclude_senders))
        return (await self.db.scalars(stmt)).all()

    async def get(self, organization_id: uuid.UUID, message_id: uuid.UUID) -> Message | None:
        return await self.db.scalar(
            sa.select(Message).where(Message.organization_id == organization_id, Message.id == message_id)
        )

    async def question_before(
        self, organization_id: uuid.UUID, conversation_id: uuid.UUID, seq: int
    ) -> Message | None:
        """The customer's last message before ``seq`` (the question a bot answer replied to)."""
        return await self.db.scalar(
            sa.select(Message)
            .where(
                Message.organization_id == organization_id,
                Message.conversation_id == conversation_id,
                Message.sender == Sender.customer,
                Message.seq < seq,
            )
            .order_by(Message.seq.desc())
            .limit(1)
        )

    async def set_query_embedding(
        self, organization_id: uuid.UUID, message_id: uuid.UUID, blob: bytes
    ) -> None:
        await self.db.execute(
            sa.update(Message)
            .where(Message.organization_id == organization_id, Message.id == message_id)
            .values(query_embedding=blob)
            .execution_options(synchronize_session=False)
        )

    async def recent(
        self,
        organization_id: uuid.UUID,
        conversation_id: uuid.UUID,
        limit: int,
        *,
        before_seq: int | None = None,
    ) -> list[Message]:
        """The last ``limit`` messages (before ``before_seq``), oldest first."""
        stmt = (
            sa.select(Message)
            .where(Message.organization_id == organization_id, Message.conversation_id == conversation_id)
            .order_by(Message.seq.desc())
            .limit(limit)
        )
        if before_seq is not None:
            stmt = stmt.where(Message.seq < before_seq)
        return list(reversed((await self.db.scalars(stmt)).all()))


@dataclass(frozen=True)
class FeedbackCounts:
    rated: int
    helpful: int


class FeedbackRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, feedback: MessageFeedback) -> MessageFeedback:
        self.db.add(feedback)
        return feedback

    async def for_message(self, organization_id: uuid.UUID, message_id: uuid.UUID) -> MessageFeedback | None:
        return await self.db.scalar(
            sa.select(MessageFeedback).where(
                MessageFeedback.organization_id == organization_id, MessageFeedback.message_id == message_id
            )
        )

    async def for_conversation(
        self, organization_id: uuid.UUID, conversation_id: uuid.UUID
    ) -> Sequence[MessageFeedback]:
        return (
            await self.db.scalars(
                sa.select(MessageFeedback).where(
                    MessageFeedback.organization_id == organization_id,
                    MessageFeedback.conversation_id == conversation_id,
                )
            )
        ).all()

    async def counts(
        self, organization_id: uuid.UUID, *, since: datetime | None = None, until: datetime | None = None
    ) -> FeedbackCounts:
        """Rated and helpful answers, by when the feedback was first given; playground chats are staff
        trying the bot out, not customers, so they are left out."""
        stmt = (
            sa.select(
                sa.func.count(MessageFeedback.id),
                sa.func.count(MessageFeedback.id).filter(MessageFeedback.helpful.is_(True)),
            )
            .join(Conversation, Conversation.id == MessageFeedback.conversation_id)
            .where(
                MessageFeedback.organization_id == organization_id,
                Conversation.organization_id == organization_id,
                Conversation.channel != Channel.playground,
            )
        )
        if since is not None:
            stmt = stmt.where(MessageFeedback.created_at >= since)
        if until is not None:
            stmt = stmt.where(MessageFeedback.created_at < until)
        rated, helpful = (await self.db.execute(stmt)).one()
        return FeedbackCounts(rated=int(rated or 0), helpful=int(helpful or 0))
