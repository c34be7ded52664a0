"""All SQL for analytics; every query is scoped to one organization."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.analytics import definitions as d
from answerdesk.analytics.models import ConversationStat
from answerdesk.analytics.period import BUCKET_SECONDS
from answerdesk.chat.models import Conversation, Message, Sender
from answerdesk.tickets.models import Author, Draft, DraftStatus, Ticket, TicketMessage

# Per-conversation counts, in ConversationStat's column order (after conversation_id).
FACT_COLUMNS: tuple[str, ...] = (
    "message_count",
    "customer_messages",
    "staff_messages",
    *(f"answers_{m}" for m in d.ANSWER_MODES),
    *(f"sentiment_{s}" for s in d.SENTIMENTS),
    "first_customer_at",
    "first_staff_at",
)
# The figures summed per bucket, in the order the bucket query returns them (after the bucket).
BUCKET_FIELDS: tuple[str, ...] = (
    "conversations",
    "customer_messages",
    *(f"answers_{m}" for m in d.ANSWER_MODES),
    "handoffs",
    "staff_replied",
    "ended",
    "resolved",
    "ratings",
    "rating_sum",
    *(f"rating_{r}" for r in range(1, 6)),
    *(f"sentiment_{s}" for s in d.SENTIMENTS),
)


@dataclass(frozen=True)
class Scope:
    organization_id: uuid.UUID
    since: datetime  # UTC, included
    until: datetime  # UTC, excluded
    channel: str | None
    now: datetime


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _bucket(column: Any, dialect: str) -> sa.ColumnElement[int]:
    """The UTC quarter hour a timestamp falls in, as a whole number (seconds since 1970 // 900)."""
    if dialect == "sqlite":
        seconds = sa.cast(sa.func.strftime("%s", column), sa.Integer)
        return sa.cast(seconds / BUCKET_SECONDS, sa.Integer)
    return sa.cast(sa.func.floor(sa.extract("epoch", column) / BUCKET_SECONDS), sa.Integer)


class AnalyticsRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    @property
    def dialect(self) -> str:
        return self.db.get_bind().dialect.name

    # -- conversations ----------------------------------------------------------------------------------

    def _conversations(self, scope: Scope) -> list[sa.ColumnElement[bool]]:
        return [
            Conversation.organization_id == scope.organization_id,
            Conversation.created_at >= scope.since,
            Conversation.created_at < scope.until,
            d.in_channel(scope.channel),
        ]

    def _message_facts(self, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
        """Per-conversation counts computed from the messages themselves (ConversationStat's columns)."""
        bot = Message.sender == Sender.bot
        customer = Message.sender == Sender.customer
        staff = Message.sender == Sender.staff
        columns: list[Any] = [
            Message.conversation_id.label("conversation_id"),
            Message.organization_id.label("organization_id"),
            sa.func.count().label("message_count"),
            _count(customer).label("customer_messages"),
            _count(staff).label("staff_messages"),
            *(_count(sa.and_(bot, Message.mode == m)).label(f"answers_{m}") for m in d.ANSWER_MODES),
            *(
                _count(sa.and_(customer, Message.sentiment_label == s)).label(f"sentiment_{s}")
                for s in d.SENTIMENTS
            ),
            sa.func.min(sa.case((customer, Message.created_at))).label("first_customer_at"),
            sa.func.min(sa.case((staff, Message.created_at))).label("first_staff_at"),
        ]
        return sa.select(*columns).where(*where).group_by(Message.conversation_id, Message.organization_id)

    def _facts(self, scope: Scope) -> sa.Subquery:
        """Rolled-up counts where they are current, counted from the messages where they are not."""
        current = sa.and_(
            ConversationStat.conversation_id == Conversation.id,
            ConversationStat.message_count == Conversation.message_count,
        )
        rolled = (
            sa.select(
                ConversationStat.conversation_id,
                ConversationStat.organization_id,
                *(getattr(ConversationStat, c) for c in FACT_COLUMNS),
            )
            .join(Conversation, current)
            .where(*self._conversations(scope))
        )
        stale = (
            sa.select(Conversation.id)
            .outerjoin(ConversationStat, current)
            .where(*self._conversations(scope), ConversationStat.conversation_id.is_(None))
        )
        counted = self._message_facts(
            Message.organization_id == scope.organization_id, Message.conversation_id.in_(stale)
        )
        return sa.union_all(rolled, counted).subquery("facts")

    async def buckets(self, scope: Scope) -> list[tuple[int, dict[str, int]]]:
        """Each quarter hour's conversation figures (see BUCKET_FIELDS), by when the conversations started."""
        f = self._facts(scope)
        staff = f.c.staff_messages
        bucket = _bucket(Conversation.created_at, self.dialect).label("bucket")
        stmt = (
            sa.select(
                bucket,
                sa.func.count().label("conversations"),
                sa.func.coalesce(sa.func.sum(f.c.customer_messages), 0),
                *(sa.func.coalesce(sa.func.sum(f.c[f"answers_{m}"]), 0) for m in d.ANSWER_MODES),
                _count(d.handed_off()),
                _count(sa.func.coalesce(staff, 0) > 0),
                _count(d.ended(scope.now)),
                _count(d.resolved_automatically(scope.now, staff)),
                _count(Conversation.rating.is_not(None)),
                sa.func.coalesce(sa.func.sum(Conversation.rating), 0),
                *(_count(Conversation.rating == r) for r in range(1, 6)),
                *(sa.func.coalesce(sa.func.sum(f.c[f"sentiment_{s}"]), 0) for s in d.SENTIMENTS),
            )
            .select_from(Conversation)
            .outerjoin(f, f.c.conversation_id == Conversation.id)
            .where(*self._conversations(scope))
            .group_by(bucket)
        )
        rows = (await self.db.execute(stmt)).all()
        return [
            (int(row[0]), dict(zip(BUCKET_FIELDS, (int(v) for v in row[1:]), strict=True))) for row in rows
        ]

    async def live_first_responses(self, scope: Scope) -> Sequence[tuple[datetime, datetime | None, Any]]:
        """(first staff message, handoff, first customer message) of each conversation staff wrote in."""
        f = self._facts(scope)
        stmt = (
            sa.select(f.c.first_staff_at, Conversation.handoff_at, f.c.first_customer_at)
            .select_from(Conversation)
            .join(f, f.c.conversation_id == Conversation.id)
            .where(*self._conversations(scope), f.c.first_staff_at.is_not(None))
        )
        return [(row[0], row[1], row[2]) for row in (await self.db.execute(stmt)).all()]

    async def stale_conversations(self, organization_id: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
        """Conversations whose roll-up row is missing or behind, oldest activity first."""
        stmt = (
            sa.select(Conversation.id)
            .outerjoin(ConversationStat, ConversationStat.conversation_id == Conversation.id)
            .where(
                sa.or_(
                    ConversationStat.conversation_id.is_(None),
                    ConversationStat.message_count != Conversation.message_count,
                ),
                Conversation.message_count > 0,
            )
            .order_by(Conversation.last_message_at)
            .limit(limit)
        )
        if organization_id is not None:
            stmt = stmt.where(Conversation.organization_id == organization_id)
        return list((await self.db.scalars(stmt)).all())

    async def roll_up(self, conversation_ids: Sequence[uuid.UUID]) -> int:
        """Recomputes the roll-up rows of these conversations from their messages."""
        if not conversation_ids:
            return 0
        await self.db.execute(
            sa.delete(ConversationStat).where(ConversationStat.conversation_id.in_(conversation_ids))
        )
        facts = self._message_facts(Message.conversation_id.in_(conversation_ids))
        columns = ["conversation_id", "organization_id", *FACT_COLUMNS]
        await self.db.execute(sa.insert(ConversationStat).from_select(columns, facts))
        return len(conversation_ids)

    async def conversations_for_export(self, scope: Scope, limit: int) -> Sequence[Any]:
        f = self._facts(scope)
        stmt = (
            sa.select(
                Conversation,
                f.c.customer_messages,
                f.c.staff_messages,
                *(f.c[f"answers_{m}"] for m in d.ANSWER_MODES),
                d.ended(scope.now).label("ended"),
                d.resolved_automatically(scope.now, f.c.staff_messages).label("resolved"),
            )
            .outerjoin(f, f.c.conversation_id == Conversation.id)
            .where(*self._conversations(scope))
            .order_by(Conversation.created_at, Conversation.id)
            .limit(limit)
        )
        return (await self.db.execute(stmt)).all()

    # -- tickets ----------------------------------------------------------------------------------------

    async def ticket_openings(
        self, scope: Scope
    ) -> Sequence[tuple[uuid.UUID, datetime | None, datetime, datetime | None, datetime | None]]:
        """(ticket, opened, created, first customer message, first staff reply) of the tickets opened in the
        range; the tickets domain's first_response_waits() turns them into waits."""
        opened = sa.func.coalesce(Ticket.opened_at, Ticket.created_at)

        def first(author: str) -> sa.ScalarSelect[Any]:
            return (
                sa.select(sa.func.min(TicketMessage.created_at))
                .where(
                    TicketMessage.ticket_id == Ticket.id,
                    TicketMessage.organization_id == scope.organization_id,
                    TicketMessage.author == author,
                )
                .scalar_subquery()
            )

        stmt = sa.select(
            Ticket.id, Ticket.opened_at, Ticket.created_at, first(Author.customer), first(Author.staff)
        ).where(Ticket.organization_id == scope.organization_id, opened >= scope.since, opened < scope.until)
        return [(r[0], r[1], r[2], r[3], r[4]) for r in (await self.db.execute(stmt)).all()]

    async def reviewed_drafts(self, scope: Scope) -> Sequence[tuple[str, str, str | None]]:
        """(status, text, final text) of the AI drafts written in the range and then sent or rejected."""
        stmt = sa.select(Draft.status, Draft.text, Draft.final_text).where(
            Draft.organization_id == scope.organization_id,
            Draft.created_at >= scope.since,
            Draft.created_at < scope.until,
            Draft.status.in_([DraftStatus.sent, DraftStatus.rejected]),
            Draft.mode != "manual",
        )
        return [(r[0], r[1], r[2]) for r in (await self.db.execute(stmt)).all()]
