"""Ticket use cases shared by the API, the CLI and (later) the admin pages."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.service import MemberService, Principal
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import NotFound, ValidationFailed
from answerdesk.kit.jobs import enqueue_after_commit
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import (
    Author,
    Draft,
    NativeStatus,
    Priority,
    Ticket,
    TicketMessage,
    TicketSource,
)
from answerdesk.tickets.repository import DraftRepository, MessageRepository, TicketFilter, TicketRepository
from answerdesk.tickets.schemas import (
    DraftRead,
    TicketCreate,
    TicketDetail,
    TicketMessageRead,
    TicketPage,
    TicketRead,
    TicketUpdate,
)
from answerdesk.tickets.sending import Approver, approve, deliver

DRAFT_TASK = "tickets.draft"
SYNC_TASK = "tickets.sync"
NOT_FOUND = "Ticket not found."


def queue_draft(db: AsyncSession, runtime: Runtime, organization_id: uuid.UUID, ticket_id: uuid.UUID) -> None:
    """A draft job once this transaction commits; one per ticket at a time."""
    enqueue_after_commit(
        db,
        runtime.jobs,
        DRAFT_TASK,
        job_id=f"draft:{ticket_id}",
        organization_id=str(organization_id),
        ticket_id=str(ticket_id),
    )


def queue_sync(db: AsyncSession, runtime: Runtime, organization_id: uuid.UUID) -> None:
    enqueue_after_commit(
        db,
        runtime.jobs,
        SYNC_TASK,
        job_id=f"whmcs-sync:{organization_id}",
        organization_id=str(organization_id),
    )


async def approver_for(db: AsyncSession, principal: Principal) -> Approver:
    if principal.user_id is not None:
        member = await MemberService(db).get(principal.organization_id, principal.user_id)
        return Approver(label=member.user.email, user_id=member.user.id, email=member.user.email)
    return Approver(label=f"api key {principal.api_key_id}")


async def approver_by_email(db: AsyncSession, organization_id: uuid.UUID, email: str) -> Approver:
    for member in await MemberService(db).list(organization_id):
        if member.user.email.lower() == email.strip().lower():
            return Approver(label=member.user.email, user_id=member.user.id, email=member.user.email)
    raise NotFound(f"No member {email!r} in this organization.")


class TicketService:
    def __init__(self, db: AsyncSession, runtime: Runtime) -> None:
        self.db = db
        self.runtime = runtime
        self.tickets = TicketRepository(db)
        self.messages = MessageRepository(db)
        self.drafts = DraftRepository(db)

    async def get(
        self, organization_id: uuid.UUID, ticket_id: uuid.UUID, *, for_update: bool = False
    ) -> Ticket:
        ticket = await self.tickets.get(organization_id, ticket_id, for_update=for_update)
        if ticket is None:
            raise NotFound(NOT_FOUND)
        return ticket

    async def queue(
        self, organization_id: uuid.UUID, where: TicketFilter, *, limit: int = 50, offset: int = 0
    ) -> TicketPage:
        rows = await self.tickets.queue(organization_id, where, limit=limit, offset=offset)
        open_drafts = await self.drafts.latest_open(organization_id, [t.id for t in rows])
        items = [ticket_read(t, open_drafts.get(t.id)) for t in rows]
        return TicketPage(items=items, total=await self.tickets.count(organization_id, where))

    async def detail(self, organization_id: uuid.UUID, ticket_id: uuid.UUID) -> TicketDetail:
        ticket = await self.get(organization_id, ticket_id)
        messages = await self.messages.for_ticket(organization_id, ticket_id)
        drafts = await self.drafts.for_ticket(organization_id, ticket_id)
        latest = next((d for d in reversed(drafts) if d.status in ("draft", "sending", "failed")), None)
        base = ticket_read(ticket, latest)
        return TicketDetail(
            **base.model_dump(),
            client_context=dict(ticket.client_context or {}),
            classification=dict(ticket.classification or {}),
            messages=[TicketMessageRead.model_validate(m) for m in messages],
            drafts=[DraftRead.model_validate(d) for d in drafts],
        )

    async def create_native(self, organization_id: uuid.UUID, body: TicketCreate) -> Ticket:
        now = utcnow()
        ticket = self.tickets.add(
            Ticket(
                organization_id=organization_id,
                source=TicketSource.native,
                tid=f"N{secrets.randbelow(10**6):06d}",
                subject=body.subject.strip(),
                status=NativeStatus.open,
                priority=body.priority or Priority.medium,
                category=body.category,
                department=body.department,
                client_name=body.customer_name.strip(),
                client_email=str(body.customer_email),
                awaiting_reply=True,
                last_customer_message_at=now,
                last_message_at=now,
                opened_at=now,
            )
        )
        await self.db.flush()
        self.messages.add(
            TicketMessage(
                organization_id=organization_id,
                ticket_id=ticket.id,
                author=Author.customer,
                author_name=ticket.client_name,
                content=body.message.strip(),
                created_at=now,
            )
        )
        await self.db.flush()
        queue_draft(self.db, self.runtime, organization_id, ticket.id)
        return ticket

    async def add_note(
        self, organization_id: uuid.UUID, ticket_id: uuid.UUID, text: str, approver: Approver
    ) -> TicketMessage:
        """An internal note, kept here (for WHMCS tickets too: notes are not pushed to WHMCS)."""
        await self.get(organization_id, ticket_id)
        message = self.messages.add(
            TicketMessage(
                organization_id=organization_id,
                ticket_id=ticket_id,
                author=Author.note,
                author_name=approver.label,
                author_user_id=approver.user_id,
                content=text.strip(),
            )
        )
        await self.db.flush()
        return message

    async def update(self, organization_id: uuid.UUID, ticket_id: uuid.UUID, body: TicketUpdate) -> Ticket:
        ticket = await self.get(organization_id, ticket_id, for_update=True)
        if body.status is not None:
            if ticket.source != TicketSource.native:
                raise ValidationFailed(
                    "A WHMCS ticket's status changes with a reply (approve with a status)."
                )
            ticket.status = body.status
            if body.status in (NativeStatus.resolved, NativeStatus.closed):
                ticket.awaiting_reply = False
        if body.priority is not None:
            ticket.priority = body.priority
        if body.category is not None:
            ticket.category = body.category
        if body.assigned_user_id is not None:
            await MemberService(self.db).get(organization_id, body.assigned_user_id)
            ticket.assigned_user_id = body.assigned_user_id
        await self.db.flush()
        return ticket

    async def stats(self, organization_id: uuid.UUID) -> dict[str, object]:
        return {
            "by_status": await self.tickets.counts_by_status(organization_id),
            "drafts": await self.drafts.review_counts(organization_id),
        }


async def approve_and_send(
    db: AsyncSession,
    runtime: Runtime,
    organization_id: uuid.UUID,
    ticket_id: uuid.UUID,
    approver: Approver,
    *,
    draft_id: uuid.UUID | None = None,
    text: str | None = None,
    status: str | None = None,
    manual: bool = False,
) -> Draft:
    """Commits ``db`` on purpose: the approval must be stored before anything leaves for WHMCS."""
    draft = await approve(
        db,
        runtime,
        organization_id,
        ticket_id,
        approver,
        draft_id=draft_id,
        text=text,
        status=status,
        manual=manual,
    )
    await db.commit()
    return await deliver(runtime, organization_id, draft.id)


def ticket_read(ticket: Ticket, draft: Draft | None) -> TicketRead:
    read = TicketRead.model_validate(ticket)
    read.draft_status = draft.status if draft is not None else None
    return read


def draft_reads(drafts: Sequence[Draft]) -> list[DraftRead]:
    return [DraftRead.model_validate(d) for d in drafts]
