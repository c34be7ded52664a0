"""All SQL for analytics; every query is scoped to one organization."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.analytics import definitions as d
from answerdesk.analytics.models import ConversationBucket, ConversationStat, RollupState
from answerdesk.analytics.period import BUCKET_SECONDS
from answerdesk.chat.models import Conversation, Message, Sender
from answerdesk.tickets.models import Author, Draft, DraftStatus, Ticket, TicketMessage

# A roll-up row's columns after conversation_id and organization_id (ConversationStat's).
CONVERSATION_COLUMNS: tuple[str, ...] = (
    "started_at", "channel", "status", "rating", "handoff_at", "last_message_at", "message_count",
)  # fmt: skip
COUNT_COLUMNS: tuple[str, ...] = (
    "customer_messages",
    "staff_messages",
    *(f"answers_{m}" for m in d.ANSWER_MODES),
    *(f"sentiment_{s}" for s in d.SENTIMENTS),
)
FACT_COLUMNS: tuple[str, ...] = (*CONVERSATION_COLUMNS, *COUNT_COLUMNS, "first_customer_at", "first_staff_at")
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
ROLLUP_ROW = 1


@dataclass(frozen=True)
class Scope:
    organization_id: uuid.UUID
    since: datetime  # UTC, included
    until: datetime  # UTC, excluded
    channel: str | None
    now: datetime


def add_counts(into: dict[str, int], counts: dict[str, int]) -> None:
    for k, v in counts.items():
        into[k] = into.get(k, 0) + v


def median_seconds(pairs: Iterable[tuple[datetime, datetime]]) -> float | None:
    """The median of (end - start) over pairs whose end is not before the start."""
    values = [(end - start).total_seconds() for start, end in pairs if end >= start]
    return round(statistics.median(values), 1) if values else None


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

    def _counted(self, *where: sa.ColumnElement[bool], cutoff: datetime | None = None) -> sa.Select[Any]:
        """Roll-up rows computed now from the conversations (``where``) and their messages; with ``cutoff``,
        also their bucket and whether they had settled by then (for storing)."""
        bot = Message.sender == Sender.bot
        customer = Message.sender == Sender.customer
        staff = Message.sender == Sender.staff
        ids = sa.select(Conversation.id).where(*where)
        counts: list[Any] = [
            Message.conversation_id.label("conversation_id"),
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
        m = (
            sa.select(*counts)
            .where(Message.conversation_id.in_(ids))
            .group_by(Message.conversation_id)
            .subquery("m")
        )
        columns: list[Any] = [
            Conversation.id.label("conversation_id"),
            Conversation.organization_id.label("organization_id"),
            Conversation.created_at.label("started_at"),
            Conversation.channel,
            Conversation.status,
            Conversation.rating,
            Conversation.handoff_at,
            Conversation.last_message_at,
            Conversation.message_count,
            *(sa.func.coalesce(m.c[name], 0).label(name) for name in COUNT_COLUMNS),
            m.c.first_customer_at,
            m.c.first_staff_at,
        ]
        if cutoff is not None:
            columns += [
                _bucket(Conversation.created_at, self.dialect).label("bucket"),
                d.ended(cutoff).label("settled"),
            ]
        return sa.select(*columns).outerjoin(m, m.c.conversation_id == Conversation.id).where(*where)

    async def rolled_through(self) -> datetime | None:
        state = await self.db.get(RollupState, ROLLUP_ROW)
        return state.rolled_through if state else None

    async def _facts(self, scope: Scope) -> sa.Subquery:
        """The scope's conversations: roll-up rows for those unchanged since the roll-up, counted now for the
        rest (all of them before the first roll-up)."""
        through = await self.rolled_through()
        if through is None:
            return self._counted(*self._conversations(scope)).subquery("facts")
        changed = sa.select(Conversation.id).where(
            Conversation.organization_id == scope.organization_id, Conversation.updated_at >= through
        )
        rolled = sa.select(
            ConversationStat.conversation_id,
            ConversationStat.organization_id,
            *(getattr(ConversationStat, c) for c in FACT_COLUMNS),
        ).where(
            ConversationStat.organization_id == scope.organization_id,
            ConversationStat.started_at >= scope.since,
            ConversationStat.started_at < scope.until,
            d.in_channel(scope.channel, ConversationStat),
            ConversationStat.conversation_id.not_in(changed),
        )
        counted = self._counted(*self._conversations(scope), Conversation.updated_at >= through)
        return sa.union_all(rolled, counted).subquery("facts")

    @staticmethod
    def _sums(f: Any, now: datetime, sign: Any = None) -> list[sa.ColumnElement[int]]:
        """BUCKET_FIELDS over the roll-up-shaped rows ``f`` (a subquery or table); each row counted ``sign``
        times (+1 or -1) when given."""
        one = 1 if sign is None else sign

        def total(column: Any) -> sa.ColumnElement[int]:
            return sa.func.coalesce(sa.func.sum(column if sign is None else column * sign), 0)

        def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
            return sa.func.coalesce(sa.func.sum(sa.case((condition, one), else_=0)), 0)

        return [
            total(sa.literal(1)),
            total(f.c.customer_messages),
            *(total(f.c[f"answers_{m}"]) for m in d.ANSWER_MODES),
            count(d.handed_off(f.c)),
            count(f.c.staff_messages > 0),
            count(d.ended(now, f.c)),
            count(d.resolved_automatically(now, f.c.staff_messages, f.c)),
            count(f.c.rating.is_not(None)),
            total(sa.func.coalesce(f.c.rating, 0)),
            *(count(f.c.rating == r) for r in range(1, 6)),
            *(total(f.c[f"sentiment_{s}"]) for s in d.SENTIMENTS),
        ]

    async def sums(
        self, scope: Scope, *, grouped: bool
    ) -> tuple[list[tuple[int, dict[str, int]]], float | None]:
        """The figures (BUCKET_FIELDS) of each quarter hour the scope's conversations started in, or of the
        whole range as one row (bucket 0), and the median first staff response.

        After a roll-up: the quarter-hour sums of settled conversations, minus the rows of those changed
        since (their sums are out of date), plus the unsettled rows, plus the changed conversations counted
        now. Before any roll-up, everything counted now."""
        through = await self.rolled_through()
        if through is None:
            f = await self._facts(scope)
            return await self._grouped(f, f.c.started_at, scope.now, None, grouped), await self._median(f)
        b = ConversationBucket
        since, until = (int(t.timestamp()) // BUCKET_SECONDS for t in (scope.since, scope.until))
        key = b.bucket if grouped else sa.literal(0)
        settled = sa.select(
            key, *(sa.func.coalesce(sa.func.sum(getattr(b, k)), 0) for k in BUCKET_FIELDS)
        ).where(
            b.organization_id == scope.organization_id,
            b.bucket >= since,
            b.bucket < until,
            d.in_channel(scope.channel, b),
        )
        if grouped:
            settled = settled.group_by(b.bucket)
        result: dict[int, dict[str, int]] = {}
        for row in (await self.db.execute(settled)).all():
            if row[1]:  # a range without settled conversations sums to one row of zeros
                result[int(row[0])] = dict(zip(BUCKET_FIELDS, (int(v) for v in row[1:]), strict=True))
        changed = sa.select(Conversation.id).where(
            Conversation.organization_id == scope.organization_id, Conversation.updated_at >= through
        )
        stat = ConversationStat
        in_scope = [
            stat.organization_id == scope.organization_id,
            stat.started_at >= scope.since,
            stat.started_at < scope.until,
            d.in_channel(scope.channel, stat),
        ]

        def rows(sign: int, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
            columns = (getattr(stat, c) for c in FACT_COLUMNS)
            return sa.select(*columns, sa.literal(sign).label("sign")).where(*in_scope, *where)

        counted = self._counted(*self._conversations(scope), Conversation.updated_at >= through).subquery()
        fixes = sa.union_all(
            rows(1, stat.settled.is_(False), stat.conversation_id.not_in(changed)),
            rows(-1, stat.settled.is_(True), stat.conversation_id.in_(changed)),
            sa.select(*(counted.c[c] for c in FACT_COLUMNS), sa.literal(1).label("sign")),
        ).subquery("fixes")
        for bucket, counts in await self._grouped(
            fixes, fixes.c.started_at, scope.now, fixes.c.sign, grouped
        ):
            add_counts(result.setdefault(bucket, dict.fromkeys(BUCKET_FIELDS, 0)), counts)
        # The median needs every waiting chat's wait: the (few) rows with a staff message, current ones only.
        waits = sa.union_all(
            sa.select(stat.first_staff_at, stat.handoff_at, stat.first_customer_at).where(
                *in_scope, stat.first_staff_at.is_not(None), stat.conversation_id.not_in(changed)
            ),
            sa.select(counted.c.first_staff_at, counted.c.handoff_at, counted.c.first_customer_at),
        ).subquery("waits")
        found = sorted((k, v) for k, v in result.items() if v["conversations"])
        return found, await self._median(waits)

    async def _grouped(
        self, f: sa.Subquery, started: Any, now: datetime, sign: Any, grouped: bool
    ) -> list[tuple[int, dict[str, int]]]:
        key = _bucket(started, self.dialect) if grouped else sa.literal(0)
        stmt = sa.select(key.label("bucket"), *self._sums(f, now, sign))
        if grouped:
            stmt = stmt.group_by(key)
        rows = (await self.db.execute(stmt)).all()
        return [(int(r[0]), dict(zip(BUCKET_FIELDS, (int(v) for v in r[1:]), strict=True))) for r in rows]

    async def _median(self, f: sa.Subquery) -> float | None:
        """The median wait for staff over rows with first_staff_at, handoff_at and first_customer_at."""
        start = d.first_response_start(f.c)
        where = [f.c.first_staff_at.is_not(None), start.is_not(None), f.c.first_staff_at >= start]
        if self.dialect == "postgresql":  # in the database: one row instead of every waiting chat's
            seconds = sa.extract("epoch", f.c.first_staff_at - start)
            value = await self.db.scalar(
                sa.select(sa.func.percentile_cont(0.5).within_group(seconds)).where(*where)
            )
            return None if value is None else round(float(value), 1)
        rows = (await self.db.execute(sa.select(start, f.c.first_staff_at).where(*where))).all()
        return median_seconds((a, b) for a, b in rows)

    # -- the roll-up ------------------------------------------------------------------------------------

    async def changed_since(
        self, since: datetime | None, before: datetime, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[tuple[datetime, uuid.UUID]]:
        """(updated_at, id) of conversations updated in [since, before), in that order, after ``after``."""
        stmt = sa.select(Conversation.updated_at, Conversation.id).where(Conversation.updated_at < before)
        if since is not None:
            stmt = stmt.where(Conversation.updated_at >= since)
        if after is not None:
            stmt = stmt.where(sa.tuple_(Conversation.updated_at, Conversation.id) > sa.tuple_(*after))
        stmt = stmt.order_by(Conversation.updated_at, Conversation.id).limit(limit)
        return [(row[0], row[1]) for row in (await self.db.execute(stmt)).all()]

    async def roll_up(self, conversation_ids: Sequence[uuid.UUID], cutoff: datetime) -> int:
        """Recomputes the roll-up rows of these conversations (a deleted one loses its row) and the
        quarter-hour sums they belong to."""
        if not conversation_ids:
            return 0
        stat = ConversationStat
        keys = await self._keys(stat.conversation_id.in_(conversation_ids))
        await self.db.execute(sa.delete(stat).where(stat.conversation_id.in_(conversation_ids)))
        rows = self._counted(Conversation.id.in_(conversation_ids), cutoff=cutoff)
        columns = ["conversation_id", "organization_id", *FACT_COLUMNS, "bucket", "settled"]
        await self.db.execute(sa.insert(stat).from_select(columns, rows))
        keys |= await self._keys(stat.conversation_id.in_(conversation_ids))
        await self._resum(keys, cutoff)
        return len(conversation_ids)

    async def settle(self, cutoff: datetime) -> int:
        """Marks the rows of conversations that have ended for good by ``cutoff`` and moves them into the
        quarter-hour sums; returns how many."""
        stat = ConversationStat
        due = sa.and_(stat.settled.is_(False), d.ended(cutoff, stat))
        keys = await self._keys(due)
        result = await self.db.execute(sa.update(stat).where(due).values(settled=True))
        await self._resum(keys, cutoff)
        return int(getattr(result, "rowcount", 0) or 0)

    async def sweep_deleted(self, cutoff: datetime) -> int:
        """Drops the rows of conversations that no longer exist, and their share of the sums."""
        stat = ConversationStat
        gone = ~sa.select(Conversation.id).where(Conversation.id == stat.conversation_id).exists()
        keys = await self._keys(gone)
        if not keys:
            return 0
        result = await self.db.execute(sa.delete(stat).where(gone))
        await self._resum(keys, cutoff)
        return int(getattr(result, "rowcount", 0) or 0)

    async def _keys(self, where: sa.ColumnElement[bool]) -> set[tuple[uuid.UUID, int]]:
        stat = ConversationStat
        rows = await self.db.execute(sa.select(stat.organization_id, stat.bucket).where(where).distinct())
        return {(row[0], int(row[1])) for row in rows.all()}

    async def _resum(self, keys: set[tuple[uuid.UUID, int]], cutoff: datetime) -> None:
        """Recomputes these (organization, quarter hour) sums from the settled rows."""
        by_org: dict[uuid.UUID, list[int]] = {}
        for org_id, bucket in keys:
            by_org.setdefault(org_id, []).append(bucket)
        stat, b = ConversationStat, ConversationBucket
        for org_id, buckets in by_org.items():
            for i in range(0, len(buckets), 500):
                chunk = buckets[i : i + 500]
                await self.db.execute(sa.delete(b).where(b.organization_id == org_id, b.bucket.in_(chunk)))
                sums = (
                    sa.select(
                        stat.organization_id, stat.bucket, stat.channel, *self._sums(stat.__table__, cutoff)
                    )
                    .where(stat.organization_id == org_id, stat.bucket.in_(chunk), stat.settled.is_(True))
                    .group_by(stat.organization_id, stat.bucket, stat.channel)
                )
                columns = ["organization_id", "bucket", "channel", *BUCKET_FIELDS]
                await self.db.execute(sa.insert(b).from_select(columns, sums))

    async def set_rolled_through(self, instant: datetime) -> None:
        state = await self.db.get(RollupState, ROLLUP_ROW)
        if state is None:
            self.db.add(RollupState(id=ROLLUP_ROW, rolled_through=instant))
        else:
            state.rolled_through = instant
        await self.db.flush()

    async def conversations_for_export(self, scope: Scope, limit: int) -> Sequence[Any]:
        f = await self._facts(scope)
        stmt = (
            sa.select(
                Conversation,
                f.c.customer_messages,
                f.c.staff_messages,
                *(f.c[f"answers_{m}"] for m in d.ANSWER_MODES),
                d.ended(scope.now, f.c).label("ended"),
                d.resolved_automatically(scope.now, f.c.staff_messages, f.c).label("resolved"),
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
