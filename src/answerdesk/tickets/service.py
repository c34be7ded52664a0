"""Ticket use cases shared by the API, the CLI and (later) the admin pages."""

from __future__ import annotations

import secrets
import statistics
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.service import MemberService, Principal
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import Conflict, NotFound, ValidationFailed
from answerdesk.kit.jobs import enqueue_after_commit
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from answerdesk.tickets.categories import categories_of, categorise_ticket
from answerdesk.tickets.classify import triage
from answerdesk.tickets.faq import save_reply_as_faq
from answerdesk.tickets.learning import FaqSuggestion, create_suggested_faq, faq_suggestions
from answerdesk.tickets.models import (
    Author,
    Draft,
    DraftStatus,
    NativeStatus,
    Priority,
    Ticket,
    TicketMessage,
    TicketSource,
)
from answerdesk.tickets.notes import queue_note_push
from answerdesk.tickets.repository import DraftRepository, MessageRepository, TicketFilter, TicketRepository
from answerdesk.tickets.schemas import (
    DraftRead,
    ReviewCounts,
    TicketCreate,
    TicketDetail,
    TicketMessageRead,
    TicketPage,
    TicketRead,
    TicketStats,
    TicketUpdate,
)
from answerdesk.tickets.sending import Approver, approve, deliver
from answerdesk.tickets.sync import PushStatus, supersede_drafts

DRAFT_TASK = "tickets.draft"
SYNC_TASK = "tickets.sync"
NOT_FOUND = "Ticket not found."
# A draft requested this long ago that has not arrived is given up on (the job died or timed out).
DRAFTING_STALE_AFTER = timedelta(minutes=11)


def queue_draft(
    db: AsyncSession,
    runtime: Runtime,
    organization_id: uuid.UUID,
    ticket_id: uuid.UUID,
    *,
    instruction: str | None = None,
    force: bool = False,
) -> None:
    """A draft job once this transaction commits: one per ticket at a time, or (``force``: staff asked
    for it) one per request, so a request after a stale one is not swallowed as a duplicate."""
    job_id = f"redraft:{ticket_id}:{uuid.uuid4().hex[:12]}" if force else f"draft:{ticket_id}"
    enqueue_after_commit(
        db,
        runtime.jobs,
        DRAFT_TASK,
        job_id=job_id,
        organization_id=str(organization_id),
        ticket_id=str(ticket_id),
        instruction=instruction,
        force=force,
    )


def drafting_in_progress(since: datetime | None, now: datetime | None = None) -> bool:
    """Whether a draft staff asked for at ``since`` (a ticket's ``drafting_since``) is still being written."""
    return since is not None and (now or utcnow()) - since < DRAFTING_STALE_AFTER


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
        return await self._open_native(
            organization_id,
            subject=body.subject,
            message=body.message,
            customer_name=body.customer_name,
            customer_email=str(body.customer_email),
            priority=body.priority,
            category=body.category,
            department=body.department,
        )

    async def create_from_conversation(
        self,
        organization_id: uuid.UUID,
        *,
        customer_name: str,
        customer_email: str,
        message: str,
        transcript: Sequence[tuple[str, str, datetime | None]],
        conversation_id: uuid.UUID | str | None = None,
    ) -> Ticket:
        """A native ticket from the chat widget's "leave a message", with the chat as an internal note.

        Category and priority are classified now (the draft job refines them with sentiment); the
        transcript is a note so that staff see it but the draft answers the customer's message.
        ``transcript`` is (sender, content, created_at) in the chat's order; sender is the chat's
        own word ("visitor", "assistant", "agent"...).
        """
        text = message.strip()
        if not text:
            raise ValidationFailed("The message is empty.", details=[{"loc": ["body", "message"]}])
        org = await OrganizationService(self.db).get(organization_id)
        subject = subject_from_message(text)
        category = await categorise_ticket(self.runtime, categories_of(org.settings), subject, text)
        decided = triage(subject, text, category=category)
        name = customer_name.strip()
        note = transcript_note(transcript, customer_name=name, conversation_id=conversation_id)
        ticket = await self._open_native(
            organization_id,
            subject=subject,
            message=text,
            customer_name=name,
            customer_email=customer_email.strip(),
            priority=decided.priority,
            category=decided.category,
            department="",
            note=note,
            reasons=[
                *decided.reasons,
                f"left from chat {conversation_id}" if conversation_id else "left from chat",
            ],
        )
        return ticket

    async def _open_native(
        self,
        organization_id: uuid.UUID,
        *,
        subject: str,
        message: str,
        customer_name: str,
        customer_email: str,
        priority: str | None,
        category: str | None,
        department: str,
        note: str | None = None,
        reasons: list[str] | None = None,
    ) -> Ticket:
        now = utcnow()
        ticket = self.tickets.add(
            Ticket(
                organization_id=organization_id,
                source=TicketSource.native,
                tid=f"N{secrets.randbelow(10**6):06d}",
                subject=subject.strip()[:300],
                status=NativeStatus.open,
                priority=priority or Priority.medium,
                category=category,
                classification=(
                    {"category": category, "priority": priority, "reasons": reasons} if reasons else {}
                ),
                department=department,
                client_name=customer_name.strip()[:200],
                client_email=customer_email[:320],
                awaiting_reply=True,
                last_customer_message_at=now,
                last_message_at=now,
                opened_at=now,
            )
        )
        await self.db.flush()
        if note:
            # A moment before the customer's message, so the thread reads in the order it happened.
            self.messages.add(
                TicketMessage(
                    organization_id=organization_id,
                    ticket_id=ticket.id,
                    author=Author.note,
                    author_name="Chat transcript",
                    content=note,
                    created_at=now - timedelta(microseconds=1),
                )
            )
        self.messages.add(
            TicketMessage(
                organization_id=organization_id,
                ticket_id=ticket.id,
                author=Author.customer,
                author_name=ticket.client_name,
                content=message.strip(),
                created_at=now,
            )
        )
        await self.db.flush()
        queue_draft(self.db, self.runtime, organization_id, ticket.id)
        return ticket

    async def add_note(
        self, organization_id: uuid.UUID, ticket_id: uuid.UUID, text: str, approver: Approver
    ) -> TicketMessage:
        """An internal note; on a WHMCS ticket it also goes to WHMCS (AddTicketNote) once this commits.

        It is stored "pending" first and posted by a background job (tickets.notes): the note is kept
        here whatever WHMCS answers, and a refusal shows beside it with a retry.
        """
        ticket = await self.get(organization_id, ticket_id)
        content = text.strip()
        if not content:
            raise ValidationFailed("The note is empty.", details=[{"loc": ["body", "text"]}])
        to_whmcs = ticket.source == TicketSource.whmcs
        message = self.messages.add(
            TicketMessage(
                organization_id=organization_id,
                ticket_id=ticket_id,
                author=Author.note,
                author_name=approver.label,
                author_user_id=approver.user_id,
                content=content,
                push_status=PushStatus.pending if to_whmcs else None,
            )
        )
        await self.db.flush()
        if to_whmcs:
            queue_note_push(self.db, self.runtime, organization_id, message.id)
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
        elif "assigned_user_id" in body.model_fields_set:
            ticket.assigned_user_id = None  # an explicit null un-assigns
        await self.db.flush()
        return ticket

    async def request_draft(
        self, organization_id: uuid.UUID, ticket_id: uuid.UUID, instruction: str | None
    ) -> Ticket:
        """Queues a new draft (following staff's instruction, if any) to be written in the background.

        One at a time per ticket: a second request while the first is being written is refused, so an
        instruction is never silently dropped or answered out of order.
        """
        ticket = await self.get(organization_id, ticket_id, for_update=True)
        if drafting_in_progress(ticket.drafting_since):
            raise Conflict("A new draft is already being written for this ticket; it appears here shortly.")
        wanted = (instruction or "").strip()[:500] or None
        ticket.drafting_since = utcnow()
        ticket.drafting_instruction = wanted
        await self.db.flush()
        queue_draft(self.db, self.runtime, organization_id, ticket_id, instruction=wanted, force=True)
        return ticket

    async def save_edit(
        self, organization_id: uuid.UUID, ticket_id: uuid.UUID, draft_id: uuid.UUID, text: str
    ) -> Draft:
        """Keeps staff's edited text on a draft without sending it; approving later sends this text."""
        await self.get(organization_id, ticket_id)
        draft = await self.drafts.get(organization_id, draft_id, for_update=True)
        if draft is None or draft.ticket_id != ticket_id:
            raise NotFound("Draft not found.")
        if draft.status not in (DraftStatus.draft, DraftStatus.failed):
            raise Conflict(f"This draft is {draft.status}; it can no longer be edited.")
        edited = text.replace("\r\n", "\n").strip()
        if not edited:
            raise ValidationFailed("The reply is empty.", details=[{"loc": ["body", "text"]}])
        draft.final_text = edited
        await self.db.flush()
        return draft

    async def add_customer_message(
        self, organization_id: uuid.UUID, ticket_id: uuid.UUID, text: str, author_name: str | None = None
    ) -> TicketMessage:
        """The customer's reply to a native ticket (relayed from e-mail, a form, or recorded by staff).

        The ticket reopens and waits for a reply, unreviewed drafts (which answer the older thread)
        are superseded, and a new draft is queued.
        """
        ticket = await self.get(organization_id, ticket_id, for_update=True)
        if ticket.source != TicketSource.native:
            raise Conflict(
                "Customer replies to a WHMCS ticket come from WHMCS itself (they arrive with the next sync)."
            )
        content = text.strip()
        if not content:
            raise ValidationFailed("The message is empty.", details=[{"loc": ["body", "text"]}])
        now = utcnow()
        message = self.messages.add(
            TicketMessage(
                organization_id=organization_id,
                ticket_id=ticket_id,
                author=Author.customer,
                author_name=(author_name or ticket.client_name).strip()[:200],
                content=content,
                created_at=now,
            )
        )
        ticket.status = NativeStatus.open
        ticket.awaiting_reply = True
        ticket.last_customer_message_at = ticket.last_message_at = now
        await supersede_drafts(self.db, organization_id, ticket_id, "the customer wrote again")
        await self.db.flush()
        queue_draft(self.db, self.runtime, organization_id, ticket_id)
        return message

    async def stats(self, organization_id: uuid.UUID) -> dict[str, object]:
        """:meth:`stats_read` as a plain dict (what the API returns)."""
        return (await self.stats_read(organization_id)).model_dump()

    async def stats_read(self, organization_id: uuid.UUID) -> TicketStats:
        by_status = await self.tickets.counts_by_status(organization_id)
        waits = first_response_waits(
            await self.tickets.opening_times(organization_id),
            await self.messages.first_by_author(organization_id, Author.customer),
            await self.messages.first_by_author(organization_id, Author.staff),
        )
        return TicketStats(
            by_status=by_status,
            total=sum(by_status.values()),
            median_first_response_seconds=statistics.median(waits) if waits else None,
            first_responses_measured=len(waits),
            drafts=review_counts(await self.drafts.reviewed_texts(organization_id)),
        )

    async def save_reply_as_faq(
        self, organization_id: uuid.UUID, ticket_id: uuid.UUID, draft_id: uuid.UUID
    ) -> uuid.UUID:
        """One click on a sent reply: an FAQ without the customer's personal data; its document id."""
        return await save_reply_as_faq(self.db, self.runtime, organization_id, ticket_id, draft_id)

    async def faq_suggestions(self, organization_id: uuid.UUID) -> list[FaqSuggestion]:
        """Groups of three or more approved replies answering the same kind of question."""
        return await faq_suggestions(self.db, organization_id)

    async def create_suggested_faq(self, organization_id: uuid.UUID, centre_id: uuid.UUID) -> uuid.UUID:
        """One click on a suggestion: its typical reply saved as an FAQ (through save-as-FAQ)."""
        return await create_suggested_faq(self.db, self.runtime, organization_id, centre_id)


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


_SENDER_LABELS = {
    "visitor": "Customer",
    "customer": "Customer",
    "user": "Customer",
    "assistant": "Assistant",
    "bot": "Assistant",
    "ai": "Assistant",
    "agent": "Staff",
    "staff": "Staff",
    "operator": "Staff",
    "system": "System",
}
SUBJECT_CHARS = 80


def subject_from_message(message: str) -> str:
    """The message's first line, cut at a word boundary: a subject the queue can show."""
    first = next((line.strip() for line in message.splitlines() if line.strip()), "Message from chat")
    if len(first) <= SUBJECT_CHARS:
        return first
    cut = first[:SUBJECT_CHARS].rsplit(" ", 1)[0].rstrip(",;:-")
    return f"{cut or first[:SUBJECT_CHARS]}…"


def transcript_note(
    transcript: Sequence[tuple[str, str, datetime | None]],
    *,
    customer_name: str = "",
    conversation_id: uuid.UUID | str | None = None,
) -> str:
    """The chat as plain text for an internal note: "[14:02] Customer: ..." per message."""
    header = f"Chat transcript (conversation {conversation_id})" if conversation_id else "Chat transcript"
    lines = [f"{header}:"]
    for sender, content, at in transcript:
        label = _SENDER_LABELS.get(sender.strip().lower(), sender.strip().capitalize() or "Unknown")
        if label == "Customer" and customer_name:
            label = customer_name
        stamp = f"[{at:%Y-%m-%d %H:%M}] " if at is not None else ""
        lines.append(f"{stamp}{label}: {content.strip()}")
    if len(lines) == 1:
        lines.append("(no messages)")
    return "\n".join(lines)


def first_response_waits(
    openings: dict[uuid.UUID, tuple[datetime | None, datetime]],
    first_customer: dict[uuid.UUID, datetime],
    first_staff: dict[uuid.UUID, datetime],
) -> list[float]:
    """Seconds from each answered ticket's start to its first staff reply.

    The start is the earlier of the ticket's opening and its first customer message; a ticket
    staff opened themselves (reply before any customer word) is not a response and is left out.
    """
    waits: list[float] = []
    for ticket_id, replied_at in first_staff.items():
        if ticket_id not in openings:
            continue
        opened, created = openings[ticket_id]
        starts = [t for t in (opened, first_customer.get(ticket_id)) if t is not None]
        start = min(starts) if starts else created
        if replied_at >= start:
            waits.append((replied_at - start).total_seconds())
    return waits


def review_counts(reviewed: Sequence[tuple[str, str, str | None]]) -> ReviewCounts:
    """Sent drafts whose final text equals the draft (whitespace aside) are "unchanged"."""
    counts = ReviewCounts()
    for status, text, final in reviewed:
        if status == DraftStatus.rejected:
            counts.rejected += 1
        elif _squeeze(final if final is not None else text) == _squeeze(text):
            counts.unchanged += 1
        else:
            counts.edited += 1
    return counts


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def ticket_read(ticket: Ticket, draft: Draft | None) -> TicketRead:
    read = TicketRead.model_validate(ticket)
    read.draft_status = draft.status if draft is not None else None
    return read


def draft_reads(drafts: Sequence[Draft]) -> list[DraftRead]:
    return [DraftRead.model_validate(d) for d in drafts]
