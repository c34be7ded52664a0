"""Pulling WHMCS tickets into the local store: paged, idempotent, resumable after an interruption.

One run: departments (GetSupportDepartments), then GetTickets page by page for each watched
department (or all). A row whose status, priority, department and last reply are unchanged since
the last run is skipped without a GetTicket; new or changed tickets are fetched with their thread,
and a new ticket's client with GetClientsDetails (only the fields a prompt needs). Each page is
stored in its own transaction together with the cursor (scope, offset), so a run that dies half way
continues where it stopped next time. Tickets that left the awaiting list (answered or closed in
WHMCS directly) are re-read at the end of a complete run, so the local queue does not keep them.

WHMCS dates carry no zone: they are read in the connection's zone and stored in UTC. The zone is
part of the fingerprint, so after it changes the next run re-reads the listed tickets and rewrites
the times of what it already had. A note we pushed to WHMCS (see tickets.notes) is recognised when
it comes back, not stored twice.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.integrations.whmcs import (
    WhmcsClient,
    WhmcsClientDetails,
    WhmcsError,
    WhmcsNote,
    WhmcsTicket,
    WhmcsTicketSummary,
    comparable_text,
)
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.errors import AppError
from answerdesk.privacy.service import erased_ticket_ids
from answerdesk.runtime import Runtime
from answerdesk.tickets.classify import normalise_priority
from answerdesk.tickets.connections import ClientSpec, ConnectionService
from answerdesk.tickets.models import PRIORITY_RANK, Author, DraftStatus, Ticket, TicketMessage, TicketSource
from answerdesk.tickets.repository import DraftRepository, MessageRepository, TicketRepository
from answerdesk.tickets.schemas import SyncReportRead

log = structlog.get_logger(__name__)
PAGE_SIZE = 100
# Tickets no longer listed as awaiting are re-read at most this many per run (the rest next run).
REFRESH_LIMIT = 200
FETCH_CONCURRENCY = 4
CLOSED_STATUSES = frozenset({"closed", "resolved"})
# How much earlier than a local note a WHMCS note may be dated and still be that note arrived there:
# clock skew between the servers, plus an hour for a time in a DST fold (read as the earlier one).
PUSHED_NOTE_SLACK = timedelta(hours=1, minutes=15)


class PushStatus(enum.StrEnum):
    """Where a note on a WHMCS ticket stands (TicketMessage.push_status; None: kept here only)."""

    pending = "pending"  # committed here; AddTicketNote not (known to be) done yet
    sent = "sent"  # in WHMCS
    failed = "failed"  # not sent; push_error says why, and a retry looks in WHMCS before posting


class SyncFailed(AppError):
    status_code = 502
    code = "whmcs_sync_failed"


@dataclass
class SyncRun:
    report: SyncReportRead = field(default_factory=SyncReportRead)
    needs_draft: list[uuid.UUID] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    # GetClientsDetails answers of this run: a client with many tickets is fetched once.
    clients: dict[int, WhmcsClientDetails | None] = field(default_factory=dict)


async def sync_whmcs(runtime: Runtime, organization_id: uuid.UUID, *, page_size: int = PAGE_SIZE) -> SyncRun:
    """One sync run; returns counts and the tickets that now need a draft. Raises SyncFailed."""
    started = time.perf_counter()
    async with session_scope(runtime.sessionmaker) as db:
        service = ConnectionService(db, runtime)
        connection = await service.get(organization_id)
        spec = service.spec(connection)
        scopes: list[int | None] = list(connection.watched_department_ids or []) or [None]
        status = connection.ticket_status
        cursor = dict(connection.sync_cursor or {})
    run = SyncRun()
    scope_index, offset = int(cursor.get("scope", 0)), int(cursor.get("offset", 0))
    resumed = bool(cursor) and (scope_index, offset) != (0, 0)
    if resumed:
        run.report.resumed_from = offset
    client = spec.build()
    try:
        departments = {
            d.id: d.name for d in await client.get_support_departments(ignore_dept_assignments=True)
        }
        run.report.requests += 1
        for index in range(scope_index, len(scopes)):
            start = offset if index == scope_index else 0
            await _sync_scope(
                runtime, spec, client, run, departments, scopes[index], index, start, status, page_size
            )
        if not resumed:
            await _refresh_unlisted(runtime, spec, client, run, departments)
    except WhmcsError as exc:
        await _record_failure(runtime, organization_id, exc.message)
        log.warning("whmcs.sync_failed", organization_id=str(organization_id), error=exc.message)
        raise SyncFailed(
            f"WHMCS sync stopped: {exc.message}. The next sync continues where it stopped."
        ) from None
    finally:
        await client.aclose()
    run.report.seconds = round(time.perf_counter() - started, 3)
    async with session_scope(runtime.sessionmaker) as db:
        connection = await ConnectionService(db, runtime).get(organization_id, for_update=True)
        connection.sync_cursor = None
        connection.last_sync_at = utcnow()
        connection.last_sync_error = None
        connection.departments = {str(k): v for k, v in departments.items()}
        connection.last_sync_counts = run.report.model_dump(exclude={"resumed_from"})
    log.info("whmcs.synced", organization_id=str(organization_id), **run.report.model_dump())
    return run


async def _sync_scope(
    runtime: Runtime,
    spec: ClientSpec,
    client: WhmcsClient,
    run: SyncRun,
    departments: dict[int, str],
    deptid: int | None,
    scope_index: int,
    offset: int,
    status: str,
    page_size: int,
) -> None:
    while True:
        page = await client.get_tickets(
            status=status, deptid=deptid, ignore_dept_assignments=True, limitstart=offset, limitnum=page_size
        )
        run.report.pages += 1
        run.report.requests += 1
        rows = [t for t in page.tickets if str(t.id) not in run.seen]
        run.seen.update(str(t.id) for t in page.tickets)
        run.report.listed += len(rows)
        last = page.returned <= 0 or not page.tickets or offset + page.returned >= page.total
        next_cursor = None if last else {"scope": scope_index, "offset": offset + page.returned}
        await _store_page(runtime, spec, client, run, departments, rows, next_cursor, scope_index, last)
        if last:
            return
        offset += page.returned


async def _store_page(
    runtime: Runtime,
    spec: ClientSpec,
    client: WhmcsClient,
    run: SyncRun,
    departments: dict[int, str],
    rows: Sequence[WhmcsTicketSummary],
    next_cursor: dict[str, int] | None,
    scope_index: int,
    last: bool,
) -> None:
    organization_id = spec.organization_id
    async with session_scope(runtime.sessionmaker) as db:
        known = await TicketRepository(db).by_external(
            organization_id, TicketSource.whmcs, [str(r.id) for r in rows]
        )
        # Erased with their customer (GDPR): WHMCS still has them, Answerdesk does not take them back.
        erased = await erased_ticket_ids(db, organization_id, TicketSource.whmcs, [str(r.id) for r in rows])
        rows = [r for r in rows if str(r.id) not in erased]
        fingerprints = {k: (t.external_fingerprint, bool(t.client_context)) for k, t in known.items()}
    changed = [
        r for r in rows if fingerprints.get(str(r.id), ("", False))[0] != fingerprint(r, spec.timezone)
    ]
    run.report.unchanged += len(rows) - len(changed)
    # Network first, outside any transaction: a slow WHMCS must not hold a database write lock.
    details = await _fetch_threads(client, [row.id for row in changed])
    run.report.fetched += len(details)
    run.report.requests += len(details)
    clients = run.clients
    for row, detail in zip(changed, details, strict=True):
        has_context = fingerprints.get(str(row.id), ("", False))[1]
        if detail.user_id and not has_context and detail.user_id not in clients:
            clients[detail.user_id] = await _client_details(client, detail.user_id, run)
    async with session_scope(runtime.sessionmaker) as db:
        for row, detail in zip(changed, details, strict=True):
            await apply_whmcs_ticket(
                db,
                run,
                organization_id,
                detail,
                departments,
                clients.get(detail.user_id),
                fingerprint(row, spec.timezone),
            )
        service = ConnectionService(db, runtime)
        connection = await service.get(organization_id, for_update=True)
        # Stored with the page: a crash after this commit resumes at the next page, never skips one.
        connection.sync_cursor = next_cursor if not last else {"scope": scope_index + 1, "offset": 0}


async def _fetch_threads(client: WhmcsClient, ticket_ids: Sequence[int]) -> list[WhmcsTicket]:
    """GetTicket for a page, a few at a time (WHMCS is one PHP process per request; be gentle)."""
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(ticket_id: int) -> WhmcsTicket:
        async with gate:
            return await client.get_ticket(ticket_id)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(ticket_id)) for ticket_id in ticket_ids]
    except ExceptionGroup as failed:
        # Callers handle one WHMCS error (the page is not stored; the cursor stays before it).
        first = failed.exceptions[0]
        raise first if isinstance(first, Exception) else failed from None
    return [task.result() for task in tasks]


async def _client_details(client: WhmcsClient, user_id: int, run: SyncRun) -> WhmcsClientDetails | None:
    run.report.requests += 1
    try:
        details = await client.get_clients_details(user_id, stats=True)
    except WhmcsError as exc:
        # A deleted client must not stop the sync; the ticket is drafted without client context.
        if getattr(exc, "not_found", False):
            return None
        raise
    run.report.clients_fetched += 1
    return details


async def _refresh_unlisted(
    runtime: Runtime, spec: ClientSpec, client: WhmcsClient, run: SyncRun, departments: dict[int, str]
) -> None:
    async with session_scope(runtime.sessionmaker) as db:
        rows = await db.execute(
            sa.select(Ticket.external_id, Ticket.external_fingerprint).where(
                Ticket.organization_id == spec.organization_id,
                Ticket.source == TicketSource.whmcs,
                Ticket.awaiting_reply,
            )
        )
        stale = [ext for ext, _ in rows.all() if ext is not None and ext not in run.seen]
    for external_id in stale[:REFRESH_LIMIT]:
        try:
            detail = await client.get_ticket(int(external_id))
        except WhmcsError as exc:
            if getattr(exc, "not_found", False):
                continue
            raise
        run.report.requests += 1
        run.report.refreshed += 1
        async with session_scope(runtime.sessionmaker) as db:
            await apply_whmcs_ticket(
                db, run, spec.organization_id, detail, departments, None, fingerprint(detail, spec.timezone)
            )


def fingerprint(row: WhmcsTicketSummary | WhmcsTicket, timezone: str) -> str:
    """What decides whether a listed ticket is fetched again; ``timezone``: the zone of its dates."""
    last = row.last_reply_at.isoformat() if row.last_reply_at else ""
    raw = f"{row.status}|{row.priority}|{row.dept_id}|{last}|{row.subject}|{row.flag}"
    if timezone != "UTC":
        # A new zone changes every fingerprint, so each listed ticket is re-read and its times
        # corrected. UTC adds nothing: fingerprints stored before zones existed stay valid.
        raw += f"|{timezone}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def is_pushed_note(note: WhmcsNote, content: str, written_at: datetime) -> bool:
    """Whether a WHMCS note is the local note ``content`` (written at ``written_at``) arrived there.

    Same words (markup, spacing and case aside), and not dated before the local note: WHMCS answers
    AddTicketNote without an id, so this is how a pushed note is found again. Both times are UTC,
    the WHMCS one read in the connection's zone, so the comparison is only as right as that zone.
    """
    if note.created_at is not None and note.created_at < written_at - PUSHED_NOTE_SLACK:
        return False  # older than ours: an earlier note with the same words
    ours = comparable_text(content)
    return bool(ours) and comparable_text(note.message_raw or note.message) == ours


def client_context(details: WhmcsClientDetails) -> dict[str, Any]:
    """Only what a reply needs: how to greet, what they have, whether billing is a likely cause."""
    stats = details.stats
    context: dict[str, Any] = {
        "first_name": details.first_name,
        "company": details.company,
        "status": details.status,
        "language": details.language,
    }
    if stats is not None:
        context.update(
            active_products=stats.active_products,
            active_domains=stats.active_domains,
            overdue_invoices=stats.overdue_invoices,
            active_tickets=stats.active_tickets,
        )
    return {k: v for k, v in context.items() if v not in ("", None)}


async def apply_whmcs_ticket(
    db: AsyncSession,
    run: SyncRun | None,
    organization_id: uuid.UUID,
    detail: WhmcsTicket,
    departments: dict[int, str],
    client: WhmcsClientDetails | None,
    fingerprint_value: str,
) -> Ticket:
    """Insert or update one ticket and append the thread entries we do not have yet."""
    repo = TicketRepository(db)
    external_id = str(detail.id)
    ticket = (await repo.by_external(organization_id, TicketSource.whmcs, [external_id])).get(external_id)
    created = ticket is None
    if ticket is None:
        ticket = repo.add(
            Ticket(
                organization_id=organization_id,
                source=TicketSource.whmcs,
                external_id=external_id,
                status=detail.status,
                opened_at=detail.created_at,
            )
        )
        await db.flush()
    ticket.opened_at = detail.created_at or ticket.opened_at
    ticket.tid = detail.tid
    ticket.subject = detail.subject[:300]
    ticket.status = detail.status[:64]
    ticket.external_priority = detail.priority[:16] or None
    if detail.priority:
        classified = str((ticket.classification or {}).get("priority") or "low")
        given = normalise_priority(detail.priority)
        ticket.priority = max(given, classified, key=lambda p: PRIORITY_RANK.get(p, 0))
    ticket.department_id = detail.dept_id or None
    ticket.department = (departments.get(detail.dept_id) or detail.dept_name)[:200]
    ticket.client_name = (detail.requestor_name or detail.name)[:200]
    ticket.client_email = (detail.requestor_email or detail.email)[:320]
    ticket.external_client_id = detail.user_id or None
    if client is not None:
        ticket.client_context = client_context(client)
    ticket.external_fingerprint = fingerprint_value

    messages = MessageRepository(db)
    thread = await messages.for_ticket(organization_id, ticket.id)
    stored = {m.external_id: m for m in thread if m.external_id is not None}
    # Notes we pushed whose WHMCS id we did not learn (an uncertain post, a crash): matched below.
    unlinked = [m for m in thread if m.external_id is None and m.push_status is not None]
    added_customer = False
    for reply in detail.replies:
        key = f"r{reply.reply_id}"
        if key in stored:
            _correct_time(stored[key], reply.created_at)
            continue
        author = Author.staff if reply.is_staff else Author.customer
        added_customer = added_customer or author == Author.customer
        messages.add(
            TicketMessage(
                organization_id=organization_id,
                ticket_id=ticket.id,
                author=author,
                author_name=(reply.admin or reply.requestor_name or reply.name)[:200],
                external_id=key,
                content=reply.message,
                created_at=reply.created_at or utcnow(),
            )
        )
        if run is not None:
            run.report.messages_added += 1
    for note in sorted(detail.notes, key=lambda n: n.note_id):
        key = f"n{note.note_id}"
        if key in stored:
            _correct_time(stored[key], note.created_at)
            continue
        pushed = next((m for m in unlinked if is_pushed_note(note, m.content, m.created_at)), None)
        if pushed is not None:
            unlinked.remove(pushed)
            pushed.external_id = key
            pushed.push_status = PushStatus.sent
            pushed.push_error = None
            continue
        messages.add(
            TicketMessage(
                organization_id=organization_id,
                ticket_id=ticket.id,
                author=Author.note,
                author_name=note.admin[:200],
                external_id=key,
                content=note.message,
                created_at=note.created_at or utcnow(),
            )
        )
    latest = detail.latest_reply
    customer_times = [r.created_at for r in detail.replies if not r.is_staff and r.created_at]
    ticket.last_message_at = latest.created_at if latest and latest.created_at else ticket.last_message_at
    ticket.last_customer_message_at = max(customer_times) if customer_times else None
    ticket.awaiting_reply = bool(
        latest is not None and not latest.is_staff and detail.status.strip().lower() not in CLOSED_STATUSES
    )
    if added_customer:
        await supersede_drafts(db, organization_id, ticket.id, "a newer customer message arrived")
    if run is not None:
        if created:
            run.report.created += 1
        else:
            run.report.updated += 1
        if ticket.awaiting_reply and (created or added_customer):
            run.needs_draft.append(ticket.id)
    await db.flush()
    return ticket


def _correct_time(message: TicketMessage, when: datetime | None) -> None:
    """WHMCS's time for a message we already have: it differs when the connection's zone changed."""
    # A note we pushed keeps the time it was written here; WHMCS's is when it arrived there.
    if when is not None and message.push_status is None and message.created_at != when:
        message.created_at = when


async def supersede_drafts(
    db: AsyncSession, organization_id: uuid.UUID, ticket_id: uuid.UUID, why: str
) -> None:
    """Unreviewed drafts answer an older state of the thread; "sending" and "failed" are kept."""
    for draft in await DraftRepository(db).open_for_ticket(organization_id, ticket_id):
        if draft.status == DraftStatus.draft:
            draft.status = DraftStatus.superseded
            draft.error = why


async def _record_failure(runtime: Runtime, organization_id: uuid.UUID, message: str) -> None:
    async with session_scope(runtime.sessionmaker) as db:
        connection = await ConnectionService(db, runtime).get(organization_id, for_update=True)
        connection.last_sync_error = message[:2000]


def waiting_since(ticket: Ticket) -> datetime | None:
    return ticket.last_customer_message_at or ticket.opened_at or ticket.created_at
