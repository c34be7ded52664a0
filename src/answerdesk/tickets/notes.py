"""Internal notes on WHMCS tickets go to WHMCS too (AddTicketNote), exactly once, in the background.

A note is committed "pending" before anything is sent; a job (``tickets.push_note``) then posts it.
AddTicketNote answers without an id and WHMCS has no idempotency key, so an uncertain outcome
(timeout, dropped connection, 5xx, garbled answer) is settled the way replies are
(:func:`~answerdesk.tickets.sending.post_exactly_once`): the ticket is re-read and a note with our
words, dated no earlier than ours (:func:`~answerdesk.tickets.sync.is_pushed_note`) and not
standing for another local message, is ours. Its id becomes the note's ``external_id``
("n<noteid>", what sync uses), so a later sync recognises it instead of adding a copy. A definite
refusal leaves the note "failed" with the reason; it stays here, and a retry looks in WHMCS first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.service import MemberService
from answerdesk.integrations.whmcs import WhmcsAuthError, WhmcsClient, WhmcsNote, WhmcsTicket
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.errors import AppError, Conflict, NotFound
from answerdesk.kit.jobs import enqueue_after_commit
from answerdesk.runtime import Runtime
from answerdesk.tickets.connections import ClientSpec, ConnectionService, admin_username_for
from answerdesk.tickets.models import Author, TicketMessage, TicketSource
from answerdesk.tickets.repository import TicketRepository
from answerdesk.tickets.sending import Outcome, Wording, post_exactly_once
from answerdesk.tickets.sync import PushStatus, is_pushed_note

log = structlog.get_logger(__name__)
PUSH_NOTE_TASK = "tickets.push_note"
# A note still "pending" this long after it was written has lost its job (crash, restart).
STUCK_AFTER = timedelta(minutes=10)
NOTE_NOT_FOUND = "Note not found."
NOTE_WORDING = Wording(
    "note", "Retry to look in WHMCS again and send it if it is not there.", "retry to send it again"
)


def queue_note_push(
    db: AsyncSession,
    runtime: Runtime,
    organization_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    look_first: bool = False,
) -> None:
    """The push job once this transaction commits; one job id per note, so two never run at once.

    ``look_first``: an earlier attempt may have reached WHMCS (a retry, a recovery), so the ticket is
    re-read before anything is posted.
    """
    enqueue_after_commit(db, runtime.jobs, PUSH_NOTE_TASK, **_job(organization_id, message_id, look_first))


async def requeue_stuck_notes(runtime: Runtime) -> int:
    """Queues again the pushes a crash or restart lost; they look in WHMCS before posting."""
    async with session_scope(runtime.sessionmaker) as db:
        stuck = await _stuck_notes(db, utcnow() - STUCK_AFTER)
    for organization_id, message_id in stuck:
        log.warning("tickets.recovering_note_push", message_id=str(message_id))
        await runtime.jobs.enqueue(PUSH_NOTE_TASK, **_job(organization_id, message_id, True))
    return len(stuck)


def _job(organization_id: uuid.UUID, message_id: uuid.UUID, look_first: bool) -> dict[str, Any]:
    return {
        "job_id": f"note:{message_id}",
        "organization_id": str(organization_id),
        "message_id": str(message_id),
        "look_first": look_first,
    }


async def retry_note_push(
    db: AsyncSession,
    runtime: Runtime,
    organization_id: uuid.UUID,
    ticket_id: uuid.UUID,
    message_id: uuid.UUID,
) -> TicketMessage:
    """A failed note goes back to "pending" and is pushed again (after looking whether it is there)."""
    if await TicketRepository(db).get(organization_id, ticket_id) is None:
        raise NotFound("Ticket not found.")
    note = await _note(db, organization_id, message_id, for_update=True)
    if note is None or note.ticket_id != ticket_id:
        raise NotFound(NOTE_NOT_FOUND)
    if note.push_status == PushStatus.sent:
        raise Conflict("This note is already in WHMCS.")
    if note.push_status == PushStatus.pending:
        raise Conflict("This note is being sent to WHMCS; reload in a moment.")
    if note.push_status != PushStatus.failed:
        raise Conflict("This note is kept in Answerdesk only; it was never meant for WHMCS.")
    note.push_status = PushStatus.pending
    note.push_error = None
    await db.flush()
    queue_note_push(db, runtime, organization_id, message_id, look_first=True)
    log.info("tickets.note_push_retried", message_id=str(message_id))
    return note


async def _stuck_notes(db: AsyncSession, older_than: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(organization id, note id) of notes left "pending" since before ``older_than``; all tenants.

    A retried note counts from when it was written, so it may be queued again while its retry is
    still queued or running: the note's one job id makes that a no-op.
    """
    rows = await db.execute(
        sa.select(TicketMessage.organization_id, TicketMessage.id).where(
            TicketMessage.push_status == PushStatus.pending, TicketMessage.created_at < older_than
        )
    )
    return [(org_id, message_id) for org_id, message_id in rows.all()]


@dataclass(frozen=True)
class _Push:
    spec: ClientSpec
    message_id: uuid.UUID
    ticket_id: uuid.UUID
    ticket_external_id: int
    text: str
    written_at: datetime
    admin_username: str


async def push_note(
    runtime: Runtime, organization_id: uuid.UUID, message_id: uuid.UUID, *, look_first: bool = False
) -> TicketMessage | None:
    """Posts a "pending" note with AddTicketNote and records how it went; anything else is left alone."""
    try:
        push = await _prepare(runtime, organization_id, message_id)
    except AppError as exc:  # no connection any more, say: the note fails with that reason
        return await _settle(
            runtime, organization_id, message_id, Outcome[WhmcsNote](None, error=exc.message)
        )
    if push is None:
        return None
    async with push.spec.build() as client:

        async def post() -> None:
            await client.add_ticket_note(
                push.ticket_external_id, push.text, markdown=True, admin_username=push.admin_username
            )

        outcome = await post_exactly_once(
            post,
            lambda: _find_note(runtime, client, push),
            look_first=look_first,
            settle_seconds=min(5.0, push.spec.timeout / 2),
            wording=NOTE_WORDING,
            note_id=str(message_id),
        )
    return await _settle(runtime, organization_id, message_id, outcome)


async def _prepare(runtime: Runtime, organization_id: uuid.UUID, message_id: uuid.UUID) -> _Push | None:
    async with session_scope(runtime.sessionmaker) as db:
        note = await _note(db, organization_id, message_id)
        if note is None or note.push_status != PushStatus.pending:
            return None  # sent, failed or gone meanwhile: nothing to do
        ticket = await TicketRepository(db).get(organization_id, note.ticket_id)
        if ticket is None or ticket.source != TicketSource.whmcs or not (ticket.external_id or "").isdigit():
            raise Conflict("This ticket is not a WHMCS ticket; the note is kept here only.")
        service = ConnectionService(db, runtime)
        connection = await service.get(organization_id)
        author_email = await _author_email(db, organization_id, note.author_user_id)
        return _Push(
            spec=service.spec(connection),
            message_id=note.id,
            ticket_id=ticket.id,
            ticket_external_id=int(ticket.external_id or 0),
            text=note.content,
            written_at=note.created_at,
            # Attributed like replies: the author's mapped WHMCS admin, else the connection's default.
            admin_username=admin_username_for(connection, author_email),
        )


async def _author_email(
    db: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID | None
) -> str | None:
    if user_id is None:
        return None  # written with an API key
    try:
        member = await MemberService(db).get(organization_id, user_id)
    except NotFound:
        return None  # no longer a member: the connection's default admin
    return member.user.email


async def _find_note(
    runtime: Runtime, client: WhmcsClient, push: _Push
) -> tuple[WhmcsTicket, WhmcsNote | None]:
    thread = await client.get_ticket(push.ticket_external_id)
    async with session_scope(runtime.sessionmaker) as db:
        taken = await _taken_note_ids(db, push.ticket_id, push.message_id)
    # Oldest first: of two identical local notes, the older one takes the older WHMCS note.
    for note in sorted(thread.notes, key=lambda n: n.note_id):
        if f"n{note.note_id}" not in taken and is_pushed_note(note, push.text, push.written_at):
            return thread, note
    return thread, None


async def _settle(
    runtime: Runtime, organization_id: uuid.UUID, message_id: uuid.UUID, outcome: Outcome[WhmcsNote]
) -> TicketMessage | None:
    async with session_scope(runtime.sessionmaker) as db:
        note = await _note(db, organization_id, message_id, for_update=True)
        if note is None or note.push_status != PushStatus.pending:
            return note  # a sync found it in WHMCS meanwhile (and linked it), or it is gone
        if outcome.sent:
            note.push_status = PushStatus.sent
            note.push_error = None
            key = f"n{outcome.landed.note_id}" if outcome.landed is not None else None
            # Without the id (WHMCS could not be re-read), the next sync that reads the ticket links it.
            if (
                key is not None
                and note.external_id is None
                and key not in await _taken_note_ids(db, note.ticket_id, note.id)
            ):
                note.external_id = key
        else:
            note.push_status = PushStatus.failed
            note.push_error = _reason(outcome)[:2000]
        await db.flush()
    log.info(
        "tickets.note_push_finished",
        message_id=str(message_id),
        status=note.push_status,
        external_id=note.external_id,
        error=note.push_error,
    )
    return note


def _reason(outcome: Outcome[WhmcsNote]) -> str:
    # A refused role, IP or credential is fixed in WHMCS: say where (a note often hits the role first,
    # as AddTicketNote is easy to leave out of it).
    if isinstance(outcome.refusal, WhmcsAuthError):
        return outcome.refusal.explanation
    return outcome.error or "The note could not be sent to WHMCS."


async def _note(
    db: AsyncSession, organization_id: uuid.UUID, message_id: uuid.UUID, *, for_update: bool = False
) -> TicketMessage | None:
    query = sa.select(TicketMessage).where(
        TicketMessage.organization_id == organization_id,
        TicketMessage.id == message_id,
        TicketMessage.author == Author.note,
    )
    if for_update:
        query = query.with_for_update()
    return await db.scalar(query)


async def _taken_note_ids(db: AsyncSession, ticket_id: uuid.UUID, except_message_id: uuid.UUID) -> set[str]:
    """WHMCS note ids other local messages of the ticket already stand for."""
    rows = await db.scalars(
        sa.select(TicketMessage.external_id).where(
            TicketMessage.ticket_id == ticket_id,
            TicketMessage.id != except_message_id,
            TicketMessage.external_id.is_not(None),
        )
    )
    return {r for r in rows if r is not None}
