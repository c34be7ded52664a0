"""Approve & send, exactly once.

The approval is committed as "sending" (with the final text, who approved it and the highest WHMCS
reply id we know) *before* AddTicketReply is called, and every attempt is counted in the database
before it starts. WHMCS returns no reply id and has no idempotency key, so when an attempt's
outcome is unknown (timeout, dropped connection, 5xx, garbled answer) the ticket is re-read with
GetTicket: a staff reply newer than the recorded id with the same text means it landed. Only a
reply known not to have landed is posted again, and only once per approval; anything still
uncertain ends as "failed" with the text kept, and approving again re-reads before posting.
That loop, :func:`post_exactly_once`, also posts internal notes (tickets.notes).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.integrations.whmcs import (
    WhmcsClient,
    WhmcsError,
    WhmcsNote,
    WhmcsReply,
    WhmcsTicket,
    comparable_text,
)
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.errors import Conflict, NotFound, ValidationFailed
from answerdesk.runtime import Runtime
from answerdesk.tickets.classify import whmcs_priority
from answerdesk.tickets.connections import ClientSpec, ConnectionService, admin_username_for
from answerdesk.tickets.faq import save_if_enabled
from answerdesk.integrations.mail.smtp import Mailer, MailError, OutgoingMail, SmtpMailer
from answerdesk.tickets.mail import reply_subject
from answerdesk.tickets.models import (
    Author,
    Draft,
    DraftStatus,
    NativeStatus,
    Ticket,
    TicketMessage,
    TicketSource,
)
from answerdesk.tickets.repository import DraftRepository, MessageRepository, TicketRepository
from answerdesk.tickets.sync import apply_whmcs_ticket, fingerprint

log = structlog.get_logger(__name__)
MAX_POSTS_PER_APPROVAL = 2
# In the draft's trace: how many e-mail attempts have a recorded outcome (the rest were interrupted).
MAIL_SETTLED_KEY = "mail_settled_attempts"
NOT_FOUND = "Ticket not found."
# What landed in WHMCS: the reply (approve & send) or the note (tickets.notes) found by re-reading.
Landed = TypeVar("Landed", WhmcsReply, WhmcsNote)


@dataclass(frozen=True)
class Approver:
    """Who approves: a staff member (user id and e-mail), an API key, or the auto-send rule."""

    label: str
    user_id: uuid.UUID | None = None
    email: str | None = None


async def approve(
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
    """Marks a draft "sending" in the caller's transaction; commit, then call :func:`deliver`.

    ``manual`` makes a new draft from ``text`` (a reply staff wrote themselves).
    """
    ticket = await TicketRepository(db).get(organization_id, ticket_id, for_update=True)
    if ticket is None:
        raise NotFound(NOT_FOUND)
    drafts = DraftRepository(db)
    final = (text or "").strip()
    if not manual and draft_id is None and final:
        # Text but nothing drafted yet: the staff member's own reply.
        manual = not await drafts.open_for_ticket(organization_id, ticket_id)
    if manual:
        if not final:
            raise ValidationFailed("The reply is empty.", details=[{"loc": ["body", "text"]}])
        draft = drafts.add(
            Draft(
                organization_id=organization_id,
                ticket_id=ticket_id,
                status=DraftStatus.draft,
                text=final,
                mode="manual",
            )
        )
        await db.flush()
    else:
        draft = await _pick(drafts, organization_id, ticket_id, draft_id)
    if draft.status == DraftStatus.sending:
        raise Conflict("This reply is already being sent.")
    if draft.status not in (DraftStatus.draft, DraftStatus.failed):
        raise Conflict(f"This draft is {draft.status}; it can no longer be approved.")
    # A retry without new text sends what staff approved before, not the original draft.
    final = final or (draft.final_text or draft.text).strip()
    if not final:
        raise ValidationFailed("The reply is empty.", details=[{"loc": ["body", "text"]}])
    admin_username = None
    if ticket.source == TicketSource.whmcs:
        connection = await ConnectionService(db, runtime).get(organization_id)
        admin_username = admin_username_for(connection, approver.email)
    elif status is not None and status not in set(NativeStatus):
        raise ValidationFailed(f"Unknown status {status!r}; use one of {', '.join(NativeStatus)}.")
    baseline = draft.baseline_reply_id
    if draft.send_attempts == 0:
        baseline = await _highest_reply_id(db, ticket.id)
    # Compare-and-set: of two concurrent approvals exactly one moves the draft to "sending".
    claimed = await db.execute(
        sa.update(Draft)
        .where(Draft.id == draft.id, Draft.status.in_([DraftStatus.draft, DraftStatus.failed]))
        .values(
            status=DraftStatus.sending,
            final_text=final,
            approved_by=approver.label[:320],
            approved_by_user_id=approver.user_id,
            approved_at=utcnow(),
            admin_username=admin_username,
            set_status=status,
            baseline_reply_id=baseline,
            error=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 1) != 1:
        raise Conflict("This reply is already being sent.")
    await db.refresh(draft)
    log.info("tickets.approved", ticket_id=str(ticket_id), draft_id=str(draft.id), by=approver.label)
    return draft


async def _pick(
    drafts: DraftRepository, organization_id: uuid.UUID, ticket_id: uuid.UUID, draft_id: uuid.UUID | None
) -> Draft:
    if draft_id is not None:
        draft = await drafts.get(organization_id, draft_id)
        if draft is None or draft.ticket_id != ticket_id:
            raise NotFound("Draft not found.")
        return draft
    open_drafts = await drafts.open_for_ticket(organization_id, ticket_id)
    if not open_drafts:
        raise Conflict("This ticket has no draft to approve; generate one or write a reply.")
    return open_drafts[0]


async def _highest_reply_id(db: AsyncSession, ticket_id: uuid.UUID) -> int:
    ids = await MessageRepository(db).external_ids(ticket_id)
    return max((int(i[1:]) for i in ids if i.startswith("r") and i[1:].isdigit()), default=0)


async def deliver(runtime: Runtime, organization_id: uuid.UUID, draft_id: uuid.UUID) -> Draft:
    """Sends a "sending" draft; safe to call again for the same draft (after a crash, a retry)."""
    async with session_scope(runtime.sessionmaker) as db:
        draft = await DraftRepository(db).get(organization_id, draft_id)
        if draft is None:
            raise NotFound("Draft not found.")
        if draft.status != DraftStatus.sending:
            return draft
        ticket = await TicketRepository(db).get(organization_id, draft.ticket_id)
        if ticket is None:
            raise NotFound(NOT_FOUND)
        native = ticket.source == TicketSource.native
    if native:
        finished = await _deliver_native_reply(runtime, organization_id, draft_id)
    else:
        finished = await _deliver_to_whmcs(runtime, organization_id, draft_id)
    if finished.status == DraftStatus.sent:
        await save_if_enabled(runtime, organization_id, finished.id)
    return finished


async def _deliver_native_reply(runtime: Runtime, organization_id: uuid.UUID, draft_id: uuid.UUID) -> Draft:
    """Stored in the thread; e-mailed to the customer first when SMTP is configured."""
    mailer = SmtpMailer.from_settings(runtime.settings)
    async with session_scope(runtime.sessionmaker) as db:
        draft = await DraftRepository(db).get(organization_id, draft_id, for_update=True)
        ticket = await TicketRepository(db).get(organization_id, draft.ticket_id) if draft else None
        if draft is None or ticket is None:
            raise NotFound("Draft not found.")
        if draft.status != DraftStatus.sending:
            return draft
        if mailer is None or not ticket.client_email:
            return await _deliver_native(db, ticket, draft)
        mail = _prepare_mail(ticket, draft)
        if mail is None:
            return draft
        # Counted under the row lock and committed before the send: a second deliver of this draft
        # sees an unsettled attempt and stands back instead of mailing a second copy.
        draft.send_attempts += 1
    return await _mail_native(runtime, organization_id, draft_id, mailer, mail)


async def _deliver_to_whmcs(runtime: Runtime, organization_id: uuid.UUID, draft_id: uuid.UUID) -> Draft:
    async with session_scope(runtime.sessionmaker) as db:
        draft = await DraftRepository(db).get(organization_id, draft_id)
        ticket = await TicketRepository(db).get(organization_id, draft.ticket_id) if draft else None
        if draft is None or ticket is None:
            raise NotFound("Draft not found.")
        if draft.status != DraftStatus.sending:
            return draft
        service = ConnectionService(db, runtime)
        connection = await service.get(organization_id)
        spec = service.spec(connection)
        job = _Send(
            draft_id=draft.id,
            ticket_external_id=int(ticket.external_id or 0),
            text=draft.final_text or draft.text,
            admin_username=draft.admin_username or admin_username_for(connection, None),
            timezone=spec.timezone,
            status=draft.set_status,
            baseline=draft.baseline_reply_id or 0,
            attempts_before=draft.send_attempts,
            departments={int(k): str(v) for k, v in (connection.departments or {}).items()},
            update_ticket=connection.auto_update_ticket,
        )
    async with spec.build() as client:
        outcome = await _post_once(runtime, spec, client, job)
        if outcome.landed is not None and job.update_ticket:
            await _update_ticket(runtime, client, organization_id, job)
    return await _finish(runtime, organization_id, job, outcome)


@dataclass(frozen=True)
class _Send:
    draft_id: uuid.UUID
    ticket_external_id: int
    text: str
    admin_username: str
    timezone: str
    status: str | None
    baseline: int
    attempts_before: int
    departments: dict[int, str]
    update_ticket: bool


@dataclass(frozen=True)
class Outcome(Generic[Landed]):
    """How posting one reply or note ended."""

    landed: Landed | None  # set when delivered and found again by re-reading the ticket
    thread: WhmcsTicket | None = None
    error: str | None = None
    delivered_without_id: bool = False  # WHMCS said success but the ticket could not be re-read
    refusal: WhmcsError | None = None  # set when WHMCS definitely refused (error is its message)

    @property
    def sent(self) -> bool:
        return self.landed is not None or self.delivered_without_id


@dataclass(frozen=True)
class Wording:
    """How a failure reads for staff: what was sent, and how they try again."""

    what: str  # "reply"
    check_again: str  # a sentence: how to have the ticket re-read and the post retried
    send_again: str  # a clause: how to retry


REPLY_WORDING = Wording("reply", "Approve again to check and retry.", "approve again to retry")


async def post_exactly_once(
    post: Callable[[], Awaitable[None]],
    find: Callable[[], Awaitable[tuple[WhmcsTicket, Landed | None]]],
    *,
    look_first: bool,
    settle_seconds: float,
    wording: Wording,
    before_each_post: Callable[[], Awaitable[None]] | None = None,
    max_posts: int = MAX_POSTS_PER_APPROVAL,
    **log_fields: str,
) -> Outcome[Landed]:
    """Posts with ``post`` (a WHMCS write that answers without an id) so that it lands at most once.

    ``find`` re-reads the ticket and returns what of ours is there. With ``look_first`` (an earlier
    attempt may have landed: a crash, a timeout) it is asked before anything is posted. A post whose
    outcome is unknown is followed by ``find`` after ``settle_seconds``; only what is known not to
    have landed is posted again, at most ``max_posts`` times in all. ``before_each_post`` records an
    attempt before it starts (committed), for callers that decide ``look_first`` from that count.
    """
    if look_first:
        try:
            thread, landed = await find()
        except WhmcsError as exc:
            return Outcome(
                None,
                error=f"{exc.message}. Could not check whether the earlier attempt reached WHMCS; "
                "nothing was posted.",
            )
        if landed is not None:
            return Outcome(landed, thread)
    last_error = ""
    for attempt in range(1, max_posts + 1):
        if before_each_post is not None:
            await before_each_post()
        try:
            await post()
        except WhmcsError as exc:
            last_error = exc.message
            if not exc.outcome_unknown:
                return Outcome(None, error=exc.message, refusal=exc)
            log.warning("tickets.send_uncertain", attempt=attempt, error=exc.message, **log_fields)
            # A request that outlived our timeout may still be finishing inside WHMCS: give it a moment.
            await asyncio.sleep(settle_seconds)
            try:
                thread, landed = await find()
            except WhmcsError as read_exc:
                return Outcome(
                    None,
                    error=f"{exc.message}; re-reading the ticket failed too ({read_exc.message}). "
                    f"{wording.check_again}",
                )
            if landed is not None:
                return Outcome(landed, thread)
            continue
        try:
            thread, landed = await find()
        except WhmcsError:
            return Outcome(None, delivered_without_id=True)
        return Outcome(landed, thread, delivered_without_id=landed is None)
    return Outcome(None, error=f"{last_error}. The {wording.what} did not reach WHMCS; {wording.send_again}.")


async def _post_once(
    runtime: Runtime, spec: ClientSpec, client: WhmcsClient, job: _Send
) -> Outcome[WhmcsReply]:
    async def post() -> None:
        await client.add_ticket_reply(
            job.ticket_external_id, job.text, job.admin_username, markdown=True, status=job.status
        )

    async def count() -> None:
        await _count_attempt(runtime, spec.organization_id, job.draft_id)

    return await post_exactly_once(
        post,
        lambda: _find_landed(client, job),
        # An earlier attempt may have landed (crash, timeout): look before posting anything.
        look_first=job.attempts_before > 0,
        settle_seconds=min(5.0, spec.timeout / 2),
        wording=REPLY_WORDING,
        before_each_post=count,
        draft_id=str(job.draft_id),
    )


async def _find_landed(client: WhmcsClient, job: _Send) -> tuple[WhmcsTicket, WhmcsReply | None]:
    # By reply id, not by time: WHMCS numbers replies in order, whatever its clock or zone says.
    thread = await client.get_ticket(job.ticket_external_id)
    ours = comparable_text(job.text)
    for reply in sorted(thread.replies, key=lambda r: r.reply_id, reverse=True):
        # Real WHMCS shows the admin's full name here, not the username we sent; any staff reply
        # newer than what we knew, with our text, is ours (a signature may be appended).
        if (
            reply.is_staff
            and reply.reply_id > job.baseline
            and comparable_text(reply.message).startswith(ours)
        ):
            return thread, reply
    return thread, None


async def _count_attempt(runtime: Runtime, organization_id: uuid.UUID, draft_id: uuid.UUID) -> None:
    async with session_scope(runtime.sessionmaker) as db:
        await db.execute(
            sa.update(Draft)
            .where(Draft.organization_id == organization_id, Draft.id == draft_id)
            .values(send_attempts=Draft.send_attempts + 1, updated_at=utcnow())
        )


async def _update_ticket(
    runtime: Runtime, client: WhmcsClient, organization_id: uuid.UUID, job: _Send
) -> None:
    """Sends our category/priority back (organization setting); a failure here never fails the send."""
    async with session_scope(runtime.sessionmaker) as db:
        draft = await DraftRepository(db).get(organization_id, job.draft_id)
        ticket = await TicketRepository(db).get(organization_id, draft.ticket_id) if draft else None
        if ticket is None:
            return
        priority = whmcs_priority(ticket.priority)
        current_priority = ticket.external_priority
        category = (ticket.category or "").lower()
        current_dept = ticket.department_id
    deptid = next((i for i, name in job.departments.items() if name.lower() == category), None)
    changes: dict[str, int | str] = {}
    if priority != current_priority:
        changes["priority"] = priority
    if deptid is not None and deptid != current_dept:
        changes["deptid"] = deptid
    if not changes:
        return
    try:
        await client.update_ticket(
            job.ticket_external_id,
            priority=priority if "priority" in changes else None,  # type: ignore[arg-type]
            deptid=deptid if "deptid" in changes else None,
        )
    except WhmcsError as exc:
        log.warning("tickets.update_ticket_failed", draft_id=str(job.draft_id), error=exc.message)


async def _finish(
    runtime: Runtime, organization_id: uuid.UUID, job: _Send, outcome: Outcome[WhmcsReply]
) -> Draft:
    async with session_scope(runtime.sessionmaker) as db:
        draft = await DraftRepository(db).get(organization_id, job.draft_id, for_update=True)
        if draft is None:
            raise NotFound("Draft not found.")
        if outcome.sent:
            draft.status = DraftStatus.sent
            draft.sent_at = utcnow()
            draft.error = None
            draft.posted_reply_id = str(outcome.landed.reply_id) if outcome.landed else None
        else:
            draft.status = DraftStatus.failed
            draft.error = (outcome.error or "The reply could not be sent.")[:2000]
        if outcome.thread is not None:
            departments = job.departments
            await apply_whmcs_ticket(
                db,
                None,
                organization_id,
                outcome.thread,
                departments,
                None,
                fingerprint(outcome.thread, job.timezone),
            )
        await db.flush()
    log.info("tickets.send_finished", draft_id=str(job.draft_id), status=draft.status, error=draft.error)
    return draft


def _prepare_mail(ticket: Ticket, draft: Draft) -> OutgoingMail | None:
    """The e-mail for a native reply; None (and the draft marked failed) after an interrupted attempt.

    An attempt counted but never settled (a crash between counting and recording the result) may
    have reached the customer: rather than risk a second copy, the draft fails with that said, and
    approving it again is the staff's explicit decision to send.
    """
    settled = int((draft.trace or {}).get(MAIL_SETTLED_KEY, 0))
    if draft.send_attempts > settled:
        draft.status = DraftStatus.failed
        draft.error = (
            "An earlier attempt to e-mail this reply was interrupted; it may have reached the customer. "
            "Approve again to send it anyway."
        )
        draft.trace = {**(draft.trace or {}), MAIL_SETTLED_KEY: draft.send_attempts}
        log.warning("tickets.mail_interrupted", draft_id=str(draft.id))
        return None
    return OutgoingMail(
        to_address=ticket.client_email,
        to_name=ticket.client_name,
        subject=reply_subject(ticket.subject, ticket.tid),
        body=draft.final_text or draft.text,
        message_id=f"<reply-{draft.id}@answerdesk>",
    )


async def _mail_native(
    runtime: Runtime, organization_id: uuid.UUID, draft_id: uuid.UUID, mailer: Mailer, mail: OutgoingMail
) -> Draft:
    """E-mails the reply (its attempt already counted and committed), then records the outcome."""
    error: MailError | None = None
    try:
        await mailer.send(mail)
    except MailError as exc:
        error = exc
    async with session_scope(runtime.sessionmaker) as db:
        draft = await DraftRepository(db).get(organization_id, draft_id, for_update=True)
        ticket = await TicketRepository(db).get(organization_id, draft.ticket_id) if draft else None
        if draft is None or ticket is None:
            raise NotFound("Draft not found.")
        draft.trace = {**(draft.trace or {}), MAIL_SETTLED_KEY: draft.send_attempts}
        if error is None:
            draft.send_attempts -= 1  # _deliver_native counts the attempt again
            await _deliver_native(db, ticket, draft)
        else:
            draft.status = DraftStatus.failed
            draft.error = error.message[:2000]
            if error.outcome_unknown:
                draft.error += " Check with the customer before approving again (that sends it again)."
        await db.flush()
    log.info("tickets.mail_finished", draft_id=str(draft_id), status=draft.status, error=draft.error)
    return draft


async def _deliver_native(db: AsyncSession, ticket: Ticket, draft: Draft) -> Draft:
    """Native tickets: the reply joins the thread (after it was e-mailed, when SMTP is configured)."""
    message = MessageRepository(db).add(
        TicketMessage(
            organization_id=ticket.organization_id,
            ticket_id=ticket.id,
            author=Author.staff,
            author_name=draft.approved_by or "",
            author_user_id=draft.approved_by_user_id,
            content=draft.final_text or draft.text,
        )
    )
    draft.send_attempts += 1
    await db.flush()
    draft.status = DraftStatus.sent
    draft.sent_at = utcnow()
    draft.posted_reply_id = str(message.id)
    ticket.status = draft.set_status or NativeStatus.waiting_for_customer
    ticket.awaiting_reply = False
    ticket.last_message_at = message.created_at
    await db.flush()
    return draft


async def reject(
    db: AsyncSession,
    organization_id: uuid.UUID,
    ticket_id: uuid.UUID,
    draft_id: uuid.UUID | None,
    reason: str | None,
) -> Draft:
    ticket = await TicketRepository(db).get(organization_id, ticket_id)
    if ticket is None:
        raise NotFound(NOT_FOUND)
    draft = await _pick(DraftRepository(db), organization_id, ticket_id, draft_id)
    if draft.status not in (DraftStatus.draft, DraftStatus.failed):
        raise Conflict(f"This draft is {draft.status}; it can no longer be rejected.")
    draft.status = DraftStatus.rejected
    draft.error = reason
    await db.flush()
    return draft
