"""All SQL of the tickets area: connections, tickets, their messages and drafts; always tenant-scoped."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import contains
from answerdesk.tenants.models import Organization
from answerdesk.tickets.models import (
    ApprovedReply,
    Draft,
    DraftStatus,
    Ticket,
    TicketMessage,
    WhmcsConnection,
)


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None
    department: str | None = None
    category: str | None = None
    priority: str | None = None
    assignee: uuid.UUID | None = None
    source: str | None = None
    search: str | None = None
    awaiting_reply: bool | None = None
    # The dashboard's links: tickets opened in [since, until), or, with draft_status, tickets with an AI
    # draft written in that range that ended so ("sent" or "rejected").
    since: datetime | None = None
    until: datetime | None = None
    draft_status: str | None = None


_PRIORITY_ORDER = sa.case(
    (Ticket.priority == "urgent", 3),
    (Ticket.priority == "high", 2),
    (Ticket.priority == "medium", 1),
    else_=0,
)


class ConnectionRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def get(self, organization_id: uuid.UUID, *, for_update: bool = False) -> WhmcsConnection | None:
        query = sa.select(WhmcsConnection).where(WhmcsConnection.organization_id == organization_id)
        if for_update:
            query = query.with_for_update()
        return await self.db.scalar(query)

    async def enabled(self) -> Sequence[WhmcsConnection]:
        """Every enabled connection of an active organization, across organizations: only the scheduler uses
        this. A suspended organization's tickets are not synced (nor drafted) until it is resumed."""
        stmt = (
            sa.select(WhmcsConnection)
            .join(Organization, Organization.id == WhmcsConnection.organization_id)
            .where(WhmcsConnection.enabled, Organization.suspended_at.is_(None))
        )
        return (await self.db.scalars(stmt)).all()

    def add(self, connection: WhmcsConnection) -> WhmcsConnection:
        self.db.add(connection)
        return connection


class TicketRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, ticket: Ticket) -> Ticket:
        self.db.add(ticket)
        return ticket

    async def get(
        self, organization_id: uuid.UUID, ticket_id: uuid.UUID, *, for_update: bool = False
    ) -> Ticket | None:
        query = sa.select(Ticket).where(Ticket.organization_id == organization_id, Ticket.id == ticket_id)
        if for_update:
            query = query.with_for_update()
        return await self.db.scalar(query)

    async def by_external(
        self, organization_id: uuid.UUID, source: str, external_ids: Sequence[str]
    ) -> dict[str, Ticket]:
        if not external_ids:
            return {}
        rows = await self.db.scalars(
            sa.select(Ticket).where(
                Ticket.organization_id == organization_id,
                Ticket.source == source,
                Ticket.external_id.in_(list(external_ids)),
            )
        )
        return {t.external_id: t for t in rows if t.external_id is not None}

    def _where(self, organization_id: uuid.UUID, where: TicketFilter) -> list[sa.ColumnElement[bool]]:
        clauses: list[sa.ColumnElement[bool]] = [Ticket.organization_id == organization_id]
        if where.status:
            clauses.append(Ticket.status == where.status)
        if where.department:
            clauses.append(Ticket.department == where.department)
        if where.category:
            clauses.append(Ticket.category == where.category)
        if where.priority:
            clauses.append(Ticket.priority == where.priority)
        if where.assignee:
            clauses.append(Ticket.assigned_user_id == where.assignee)
        if where.source:
            clauses.append(Ticket.source == where.source)
        if where.awaiting_reply is not None:
            clauses.append(Ticket.awaiting_reply == where.awaiting_reply)
        if where.draft_status:
            drafts = [
                Draft.ticket_id == Ticket.id,
                Draft.organization_id == organization_id,
                Draft.status == where.draft_status,
                Draft.mode != "manual",
            ]
            if where.since is not None:
                drafts.append(Draft.created_at >= where.since)
            if where.until is not None:
                drafts.append(Draft.created_at < where.until)
            clauses.append(sa.select(Draft.id).where(*drafts).exists())
        else:
            opened = sa.func.coalesce(Ticket.opened_at, Ticket.created_at)
            if where.since is not None:
                clauses.append(opened >= where.since)
            if where.until is not None:
                clauses.append(opened < where.until)
        if where.search:
            search = where.search.strip()
            clauses.append(
                sa.or_(
                    contains(Ticket.subject, search),
                    contains(Ticket.client_name, search),
                    contains(Ticket.client_email, search),
                    Ticket.tid == search,
                )
            )
        return clauses

    async def queue(
        self, organization_id: uuid.UUID, where: TicketFilter, *, limit: int, offset: int
    ) -> Sequence[Ticket]:
        """Most urgent first: priority, then frustration, urgency score, then the longest wait."""
        query = (
            sa.select(Ticket)
            .where(*self._where(organization_id, where))
            .order_by(
                Ticket.awaiting_reply.desc(),
                _PRIORITY_ORDER.desc(),
                Ticket.frustrated.desc(),
                Ticket.urgency_score.desc(),
                sa.func.coalesce(Ticket.last_customer_message_at, Ticket.created_at).asc(),
                Ticket.id,
            )
            .limit(limit)
            .offset(offset)
        )
        return (await self.db.scalars(query)).all()

    async def count(self, organization_id: uuid.UUID, where: TicketFilter) -> int:
        query = sa.select(sa.func.count()).select_from(Ticket).where(*self._where(organization_id, where))
        return int(await self.db.scalar(query) or 0)

    async def counts_by_status(self, organization_id: uuid.UUID) -> dict[str, int]:
        rows = await self.db.execute(
            sa.select(Ticket.status, sa.func.count())
            .where(Ticket.organization_id == organization_id)
            .group_by(Ticket.status)
        )
        return {status: int(n) for status, n in rows.all()}

    async def opening_times(
        self, organization_id: uuid.UUID
    ) -> dict[uuid.UUID, tuple[datetime | None, datetime]]:
        """Ticket id → (opened at the source, stored here), for first-response times."""
        rows = await self.db.execute(
            sa.select(Ticket.id, Ticket.opened_at, Ticket.created_at).where(
                Ticket.organization_id == organization_id
            )
        )
        return {tid: (opened, created) for tid, opened, created in rows.all()}


class MessageRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, message: TicketMessage) -> TicketMessage:
        self.db.add(message)
        return message

    async def for_ticket(self, organization_id: uuid.UUID, ticket_id: uuid.UUID) -> Sequence[TicketMessage]:
        return (
            await self.db.scalars(
                sa.select(TicketMessage)
                .where(TicketMessage.organization_id == organization_id, TicketMessage.ticket_id == ticket_id)
                .order_by(TicketMessage.created_at, TicketMessage.external_id, TicketMessage.id)
            )
        ).all()

    async def first_by_author(self, organization_id: uuid.UUID, author: str) -> dict[uuid.UUID, datetime]:
        """Ticket id → when its first message by ``author`` (customer, staff) was written."""
        rows = await self.db.execute(
            sa.select(TicketMessage.ticket_id, sa.func.min(TicketMessage.created_at))
            .where(TicketMessage.organization_id == organization_id, TicketMessage.author == author)
            .group_by(TicketMessage.ticket_id)
        )
        return {tid: at for tid, at in rows.all() if at is not None}

    async def external_ids(self, ticket_id: uuid.UUID) -> set[str]:
        rows = await self.db.scalars(
            sa.select(TicketMessage.external_id).where(
                TicketMessage.ticket_id == ticket_id, TicketMessage.external_id.is_not(None)
            )
        )
        return {r for r in rows if r is not None}


class DraftRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, draft: Draft) -> Draft:
        self.db.add(draft)
        return draft

    async def get(
        self, organization_id: uuid.UUID, draft_id: uuid.UUID, *, for_update: bool = False
    ) -> Draft | None:
        query = sa.select(Draft).where(Draft.organization_id == organization_id, Draft.id == draft_id)
        if for_update:
            query = query.with_for_update()
        return await self.db.scalar(query)

    async def for_ticket(self, organization_id: uuid.UUID, ticket_id: uuid.UUID) -> Sequence[Draft]:
        return (
            await self.db.scalars(
                sa.select(Draft)
                .where(Draft.organization_id == organization_id, Draft.ticket_id == ticket_id)
                .order_by(Draft.created_at, Draft.id)
            )
        ).all()

    async def open_for_ticket(
        self, organization_id: uuid.UUID, ticket_id: uuid.UUID, *, for_update: bool = False
    ) -> Sequence[Draft]:
        """Drafts still in play: awaiting review, being sent, or failed (retryable)."""
        query = sa.select(Draft).where(
            Draft.organization_id == organization_id,
            Draft.ticket_id == ticket_id,
            Draft.status.in_([DraftStatus.draft, DraftStatus.sending, DraftStatus.failed]),
        )
        if for_update:
            query = query.with_for_update()
        return (await self.db.scalars(query.order_by(Draft.created_at.desc(), Draft.id))).all()

    async def latest_open(
        self, organization_id: uuid.UUID, ticket_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Draft]:
        if not ticket_ids:
            return {}
        rows = await self.db.scalars(
            sa.select(Draft)
            .where(
                Draft.organization_id == organization_id,
                Draft.ticket_id.in_(list(ticket_ids)),
                Draft.status.in_([DraftStatus.draft, DraftStatus.sending, DraftStatus.failed]),
            )
            .order_by(Draft.created_at)
        )
        return {d.ticket_id: d for d in rows}

    async def stuck_sending(self, older_than: datetime) -> Sequence[Draft]:
        """Drafts left in "sending" by a crash; across organizations (the recovery job only)."""
        return (
            await self.db.scalars(
                sa.select(Draft).where(Draft.status == DraftStatus.sending, Draft.updated_at < older_than)
            )
        ).all()

    async def reviewed_texts(self, organization_id: uuid.UUID) -> Sequence[tuple[str, str, str | None]]:
        """(status, draft text, final text) of every AI draft that was sent or rejected."""
        rows = await self.db.execute(
            sa.select(Draft.status, Draft.text, Draft.final_text).where(
                Draft.organization_id == organization_id,
                Draft.status.in_([DraftStatus.sent, DraftStatus.rejected]),
                Draft.mode != "manual",
            )
        )
        return [(status, text, final) for status, text, final in rows.all()]

    async def review_counts(self, organization_id: uuid.UUID) -> dict[str, int]:
        """Approved unchanged vs edited vs rejected, for the Tickets page statistics."""
        rows = await self.db.execute(
            sa.select(
                sa.case(
                    (Draft.status == DraftStatus.rejected, "rejected"),
                    (Draft.final_text == Draft.text, "unchanged"),
                    else_="edited",
                ),
                sa.func.count(),
            )
            .where(
                Draft.organization_id == organization_id,
                Draft.status.in_([DraftStatus.sent, DraftStatus.rejected]),
                Draft.mode != "manual",
            )
            .group_by(sa.literal_column("1"))
        )
        return {k: int(v) for k, v in rows.all()}


class ApprovedReplyRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, reply: ApprovedReply) -> ApprovedReply:
        self.db.add(reply)
        return reply

    async def get(self, organization_id: uuid.UUID, reply_id: uuid.UUID) -> ApprovedReply | None:
        return await self.db.scalar(
            sa.select(ApprovedReply).where(
                ApprovedReply.organization_id == organization_id, ApprovedReply.id == reply_id
            )
        )

    async def by_draft(self, organization_id: uuid.UUID, draft_id: uuid.UUID) -> ApprovedReply | None:
        return await self.db.scalar(
            sa.select(ApprovedReply).where(
                ApprovedReply.organization_id == organization_id, ApprovedReply.draft_id == draft_id
            )
        )

    async def recent(
        self, organization_id: uuid.UUID, limit: int, *, without_faq: bool = False
    ) -> Sequence[ApprovedReply]:
        """The organization's newest approved replies first; ``without_faq``: those no FAQ came from."""
        query = sa.select(ApprovedReply).where(ApprovedReply.organization_id == organization_id)
        if without_faq:
            query = query.where(ApprovedReply.faq_document_id.is_(None))
        query = query.order_by(ApprovedReply.created_at.desc(), ApprovedReply.id).limit(limit)
        return (await self.db.scalars(query)).all()

    async def vectors(
        self, organization_id: uuid.UUID, limit: int
    ) -> Sequence[tuple[uuid.UUID, uuid.UUID | None, bytes]]:
        """(id, ticket, vector) of the newest approved replies: what a search needs, without the texts."""
        rows = await self.db.execute(
            sa.select(ApprovedReply.id, ApprovedReply.ticket_id, ApprovedReply.embedding)
            .where(ApprovedReply.organization_id == organization_id)
            .order_by(ApprovedReply.created_at.desc(), ApprovedReply.id)
            .limit(limit)
        )
        return [(rid, tid, blob) for rid, tid, blob in rows.all()]

    async def by_ids(
        self, organization_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, ApprovedReply]:
        if not ids:
            return {}
        rows = await self.db.scalars(
            sa.select(ApprovedReply).where(
                ApprovedReply.organization_id == organization_id, ApprovedReply.id.in_(ids)
            )
        )
        return {r.id: r for r in rows.all()}

    async def count(self, organization_id: uuid.UUID) -> int:
        return int(
            await self.db.scalar(
                sa.select(sa.func.count())
                .select_from(ApprovedReply)
                .where(ApprovedReply.organization_id == organization_id)
            )
            or 0
        )

    async def mark_faq(
        self, organization_id: uuid.UUID, reply_ids: Sequence[uuid.UUID], document_id: uuid.UUID
    ) -> None:
        await self.db.execute(
            sa.update(ApprovedReply)
            .where(ApprovedReply.organization_id == organization_id, ApprovedReply.id.in_(reply_ids))
            .values(faq_document_id=document_id)
            .execution_options(synchronize_session=False)
        )
