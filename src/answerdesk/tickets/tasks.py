"""Background jobs: sync a WHMCS connection, draft a reply, schedule syncs, recover stuck sends."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog

from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.errors import AppError
from answerdesk.kit.jobs import JobContext, periodic, task
from answerdesk.runtime import Runtime
from answerdesk.tickets import notes
from answerdesk.tickets.drafting import draft_reply
from answerdesk.tickets.faq import AUTO_SEND_LABEL
from answerdesk.tickets.models import Author, DraftStatus, TicketMessage, TicketSource
from answerdesk.tickets.repository import (
    ConnectionRepository,
    DraftRepository,
    MessageRepository,
    TicketRepository,
)
from answerdesk.tickets.sending import Approver, approve, deliver
from answerdesk.tickets.service import DRAFT_TASK, SYNC_TASK
from answerdesk.tickets.sync import SyncFailed, sync_whmcs

log = structlog.get_logger(__name__)
# A send still "sending" this long after its last attempt began was interrupted (crash, restart).
STUCK_AFTER = timedelta(minutes=10)
AUTO_SEND = Approver(label=AUTO_SEND_LABEL)


@task(SYNC_TASK, retries=0, timeout_seconds=3600)
async def sync(ctx: JobContext, *, organization_id: str) -> None:
    org_id = uuid.UUID(organization_id)
    try:
        run = await sync_whmcs(ctx.runtime, org_id)
    except SyncFailed:
        return  # recorded on the connection; the next scheduled run resumes from the cursor
    for ticket_id in run.needs_draft:
        await ctx.runtime.jobs.enqueue(
            DRAFT_TASK, job_id=f"draft:{ticket_id}", organization_id=organization_id, ticket_id=str(ticket_id)
        )


@task(DRAFT_TASK, retries=2, timeout_seconds=600)
async def draft(
    ctx: JobContext,
    *,
    organization_id: str,
    ticket_id: str,
    instruction: str | None = None,
    force: bool = False,
) -> None:
    """A draft for the ticket; ``force`` (staff asked for it, maybe with an instruction) always writes one."""
    org_id, tid = uuid.UUID(organization_id), uuid.UUID(ticket_id)
    try:
        made = await draft_reply(ctx.runtime, org_id, tid, instruction=instruction, force=force)
    except Exception as exc:
        if force:
            await _drafting_failed(ctx.runtime, org_id, tid, exc)
        raise
    if made is not None and made.status == DraftStatus.draft and not force:
        await maybe_auto_send(ctx.runtime, org_id, tid, made.id, made.confidence)


async def _drafting_failed(
    runtime: Runtime, organization_id: uuid.UUID, ticket_id: uuid.UUID, exc: Exception
) -> None:
    """Staff waiting for a redraft learn that it failed, and why, in the ticket's thread."""
    reason = exc.message if isinstance(exc, AppError) else "an unexpected error (see the server log)"
    async with session_scope(runtime.sessionmaker) as db:
        ticket = await TicketRepository(db).get(organization_id, ticket_id, for_update=True)
        if ticket is None:
            return
        ticket.drafting_since = ticket.drafting_instruction = None
        MessageRepository(db).add(
            TicketMessage(
                organization_id=organization_id,
                ticket_id=ticket_id,
                author=Author.system,
                author_name="Answerdesk",
                content=f"No new draft: {reason.rstrip('.')}. Try again, or write the reply yourself.",
            )
        )


async def maybe_auto_send(
    runtime: Runtime, organization_id: uuid.UUID, ticket_id: uuid.UUID, draft_id: uuid.UUID, confidence: float
) -> bool:
    """Sends without review only where the organization enabled it for the ticket's category."""
    async with session_scope(runtime.sessionmaker) as db:
        ticket = await TicketRepository(db).get(organization_id, ticket_id)
        connection = await ConnectionRepository(db).get(organization_id)
        if ticket is None or connection is None or ticket.source != TicketSource.whmcs:
            return False
        threshold = (connection.auto_send or {}).get(ticket.category or "")
        if threshold is None or confidence < float(threshold):
            return False
        await approve(db, runtime, organization_id, ticket_id, AUTO_SEND, draft_id=draft_id)
    await deliver(runtime, organization_id, draft_id)
    return True


@periodic("tickets.schedule_syncs", every_seconds=60)
async def schedule_syncs(ctx: JobContext) -> None:
    """Queues a sync for every enabled connection whose polling interval has passed."""
    now = utcnow()
    async with session_scope(ctx.runtime.sessionmaker) as db:
        due = [
            c.organization_id
            for c in await ConnectionRepository(db).enabled()
            if c.last_sync_at is None or now - c.last_sync_at >= timedelta(minutes=c.poll_interval_minutes)
        ]
    for org_id in due:
        await ctx.runtime.jobs.enqueue(SYNC_TASK, job_id=f"whmcs-sync:{org_id}", organization_id=str(org_id))


@task(notes.PUSH_NOTE_TASK, retries=0, timeout_seconds=1800)
async def push_note(
    ctx: JobContext, *, organization_id: str, message_id: str, look_first: bool = False
) -> None:
    """Posts an internal note to WHMCS; a failure is recorded on the note, not raised."""
    org_id, note_id = uuid.UUID(organization_id), uuid.UUID(message_id)
    # A re-run (the worker died mid-push) may follow a post that landed: look before posting.
    await notes.push_note(ctx.runtime, org_id, note_id, look_first=look_first or ctx.attempt > 1)


@periodic("tickets.recover_sending", every_seconds=300)
async def recover_sending(ctx: JobContext) -> None:
    """Finishes sends interrupted by a crash; deliver() re-reads WHMCS first, so nothing posts twice.

    Notes left "pending" are queued again (not pushed here): the note's job id keeps the recovery from
    running beside a push that is merely slow, and the push looks in WHMCS before posting.
    """
    await notes.requeue_stuck_notes(ctx.runtime)
    async with session_scope(ctx.runtime.sessionmaker) as db:
        stuck = [
            (d.organization_id, d.id) for d in await DraftRepository(db).stuck_sending(utcnow() - STUCK_AFTER)
        ]
    for org_id, draft_id in stuck:
        log.warning("tickets.recovering_send", draft_id=str(draft_id))
        await deliver(ctx.runtime, org_id, draft_id)
