"""Tickets page: the review queue (filters, search, statistics) and one ticket with its draft and actions."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.admin.deps import Admin, AdminContext
from answerdesk.admin.filters import FilterForm
from answerdesk.admin.routes.ai import MODE_LABELS, form_errors, principal_of
from answerdesk.admin.routes.knowledge import as_utc, time_ago
from answerdesk.admin.templating import redirect, render
from answerdesk.analytics.period import Period, zone_of
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.auth.service import MemberService
from answerdesk.chat.live import staff_name
from answerdesk.kit.errors import AppError, NotFound, ValidationFailed
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from answerdesk.tickets.categories import categories_of
from answerdesk.tickets.connections import ConnectionService
from answerdesk.tickets.models import Draft, DraftStatus, NativeStatus, Priority, TicketSource
from answerdesk.tickets.notes import retry_note_push
from answerdesk.tickets.repository import TicketFilter
from answerdesk.tickets.schemas import DraftRead, TicketDetail, TicketRead, TicketUpdate
from answerdesk.tickets.sending import reject
from answerdesk.tickets.service import (
    TicketService,
    approve_and_send,
    approver_for,
    drafting_in_progress,
)

router = APIRouter(prefix="/admin/tickets", include_in_schema=False)

PAGE = "/admin/tickets"
PER_PAGE = 25
# How far j/k walk from a ticket: the queue's first few hundred tickets are what staff work through.
NEIGHBOUR_WINDOW = 200
MAX_SEARCH_CHARS = 200
FormStr = Annotated[str, Form()]
VIEWS: dict[str, str] = {"awaiting": "Awaiting a reply", "all": "All tickets"}
SOURCE_LABELS: dict[str, str] = {TicketSource.whmcs: "WHMCS", TicketSource.native: "Inbox"}
STATUS_LABELS: dict[str, str] = {
    NativeStatus.open: "Open",
    NativeStatus.in_progress: "In progress",
    NativeStatus.waiting_for_customer: "Waiting for customer",
    NativeStatus.resolved: "Resolved",
    NativeStatus.closed: "Closed",
}
PRIORITIES: tuple[str, ...] = tuple(p.value for p in reversed(Priority))  # urgent first
# What a WHMCS reply may set the ticket to; empty: WHMCS's own default ("Answered").
WHMCS_REPLY_STATUSES: tuple[str, ...] = ("Answered", "In Progress", "On Hold", "Closed")
DRAFT_STATUS_LABELS: dict[str, str] = {
    DraftStatus.draft: "Draft ready",
    DraftStatus.sending: "Sending",
    DraftStatus.sent: "Sent",
    DraftStatus.rejected: "Rejected",
    DraftStatus.superseded: "Superseded",
    DraftStatus.failed: "Not sent",
}
AUTHOR_LABELS: dict[str, str] = {
    "customer": "Customer",
    "staff": "Staff",
    "note": "Internal note",
    "system": "System",
}
QUICK_INSTRUCTIONS: tuple[str, ...] = ("shorter", "more formal", "friendlier", "more detail")
UNASSIGN = "none"
DASHBOARD_DRAFTS: dict[str, str] = {DraftStatus.sent: "sent", DraftStatus.rejected: "rejected"}


@dataclass(frozen=True)
class TicketFilters:
    """The queue's filter form; a value that is not one of the choices is dropped with a notice."""

    view: str = "awaiting"
    status: str = ""
    department: str = ""
    category: str = ""
    priority: str = ""
    assignee: str = ""
    source: str = ""
    q: str = ""
    start: str = ""  # opened (or, with draft, drafted) on or after this local day: the dashboard's links
    end: str = ""
    draft: str = ""  # "sent" or "rejected"
    page: int = 1
    notices: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> TicketFilters:
        form = FilterForm(params)
        start, end = (_day(form, name) for name in ("start", "end"))
        assignee = form.text("assignee", 64)
        if assignee:
            try:
                assignee = str(uuid.UUID(assignee))
            except ValueError:
                form.notices.append("Ignored the assignee filter: it is not a member of this organization.")
                assignee = ""
        return cls(
            view=(params.get("view") or "awaiting") if params.get("view") in VIEWS else "awaiting",
            status=form.text("status", 64),
            department=form.text("department", 200),
            category=form.text("category", 100),
            priority=form.choice("priority", PRIORITIES, "priority"),
            assignee=assignee,
            source=form.choice("source", SOURCE_LABELS, "source"),
            q=form.text("q", MAX_SEARCH_CHARS),
            start=start,
            end=end,
            draft=form.choice("draft", DASHBOARD_DRAFTS, "draft"),
            page=form.page(),
            notices=tuple(form.notices),
        )

    @property
    def active(self) -> bool:
        values = (self.status, self.department, self.category, self.priority, self.assignee, self.source)
        dashboard = (self.start, self.end, self.draft)
        return any(values) or any(dashboard) or bool(self.q) or self.view != "awaiting"

    @property
    def description(self) -> str:
        """The dashboard's filters in words (they have no field in the form)."""
        span = f"{self.start or '…'} to {self.end or '…'} (local time)" if self.start or self.end else ""
        if self.draft:
            return f"with an AI draft {DASHBOARD_DRAFTS[self.draft]}" + (f", written {span}" if span else "")
        return f"opened {span}" if span else ""

    def where(self, zone: ZoneInfo | None = None) -> TicketFilter:
        days = Period(
            date.fromisoformat(self.start or self.end or "2000-01-01"),
            date.fromisoformat(self.end or self.start or "2000-01-01"),
            zone or ZoneInfo("UTC"),
        )
        return TicketFilter(
            since=days.midnight(days.start) if self.start else None,
            until=days.bounds()[1] if self.end else None,
            draft_status=self.draft or None,
            status=self.status or None,
            department=self.department or None,
            category=self.category or None,
            priority=self.priority or None,
            assignee=uuid.UUID(self.assignee) if self.assignee else None,
            source=self.source or None,
            search=self.q or None,
            awaiting_reply=True if self.view == "awaiting" else None,
        )

    def query_string(self, **extra: object) -> str:
        values: dict[str, object] = {
            "view": "" if self.view == "awaiting" else self.view,
            "status": self.status,
            "department": self.department,
            "category": self.category,
            "priority": self.priority,
            "assignee": self.assignee,
            "source": self.source,
            "q": self.q,
            "start": self.start,
            "end": self.end,
            "draft": self.draft,
            **extra,
        }
        return urlencode({k: v for k, v in values.items() if v})


def _day(form: FilterForm, name: str) -> str:
    value = form.text(name, 40)
    try:
        return date.fromisoformat(value).isoformat() if value else ""
    except ValueError:
        form.notices.append(f"Ignored the date “{value}”: use the form YYYY-MM-DD.")
        return ""


@dataclass(frozen=True)
class TicketRow:
    ticket: TicketRead
    status_label: str
    source_label: str
    waiting: str
    waiting_since: datetime | None
    assignee: str | None
    draft_label: str | None


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def _row(t: TicketRead, names: Mapping[uuid.UUID, str], now: datetime) -> TicketRow:
    since = t.last_customer_message_at or t.created_at
    return TicketRow(
        ticket=t,
        status_label=status_label(t.status),
        source_label=SOURCE_LABELS.get(t.source, t.source),
        waiting=time_ago(since, now) if t.awaiting_reply else "",
        waiting_since=as_utc(since) if since else None,
        assignee=names.get(t.assigned_user_id) if t.assigned_user_id else None,
        draft_label=DRAFT_STATUS_LABELS.get(t.draft_status or "") if t.draft_status else None,
    )


async def member_names(db: AsyncSession, organization_id: uuid.UUID) -> dict[uuid.UUID, str]:
    return {
        m.user_id: staff_name(m)
        for m in await MemberService(db).list(organization_id)
        if m.is_active and m.user.is_active
    }


async def category_choices(db: AsyncSession, organization_id: uuid.UUID) -> list[str]:
    org = await OrganizationService(db).get(organization_id)
    return sorted((c.name for c in categories_of(org.settings)), key=str.casefold)


def duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} days"


def stats_view(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The service's statistics laid out for the header; what it does not provide is left out."""
    by_status = {str(k): int(v) for k, v in dict(stats.get("by_status") or {}).items()}
    drafts = {str(k): int(v) for k, v in dict(stats.get("drafts") or {}).items()}
    median = stats.get("median_first_response_seconds")
    return {
        "by_status": sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0])),
        "total": sum(by_status.values()),
        "drafts": drafts,
        "reviewed": sum(drafts.get(k, 0) for k in ("unchanged", "edited", "rejected")),
        "median_first_response": duration(float(median)) if isinstance(median, int | float) else None,
        "first_responses": stats.get("first_responses_measured"),
    }


@router.get("")
async def queue_page(request: Request, ctx: Admin, db: DbSession, runtime: RuntimeDep) -> Response:
    filters = TicketFilters.parse(request.query_params)
    service = TicketService(db, runtime)
    org_id = ctx.organization.id
    org = await OrganizationService(db).get(org_id)
    where = filters.where(zone_of((org.settings or {}).get("timezone")))
    found = await service.queue(org_id, where, limit=PER_PAGE, offset=(filters.page - 1) * PER_PAGE)
    names = await member_names(db, org_id)
    stats = stats_view(await service.stats(org_id))
    connection = await ConnectionService(db, runtime).find(org_id)
    now = datetime.now(UTC)
    pages = max(1, math.ceil(found.total / PER_PAGE))
    statuses = {s: status_label(s) for s, _ in stats["by_status"]}
    if filters.status:
        statuses.setdefault(filters.status, status_label(filters.status))
    departments = {str(v) for v in ((connection.departments or {}).values() if connection else ())}
    departments |= {t.department for t in found.items if t.department}
    departments |= {filters.department} if filters.department else set()
    categories = await category_choices(db, org_id)
    suggestions = await service.faq_suggestions(org_id)
    if filters.category and filters.category not in categories:
        categories.append(filters.category)
    return render(
        request,
        "tickets/index.html",
        rows=[_row(t, names, now) for t in found.items],
        total=found.total,
        filters=filters,
        page=filters.page,
        pages=pages,
        first_shown=(filters.page - 1) * PER_PAGE + 1,
        prev_url=f"{PAGE}?{filters.query_string(page=filters.page - 1)}" if filters.page > 1 else None,
        next_url=f"{PAGE}?{filters.query_string(page=filters.page + 1)}" if filters.page < pages else None,
        stats=stats,
        status_labels=STATUS_LABELS,
        statuses=statuses,
        departments=sorted(departments),
        categories=categories,
        priorities=PRIORITIES,
        members=names,
        sources=SOURCE_LABELS,
        views=VIEWS,
        connection=connection,
        faq_suggestions=suggestions,
    )


@router.post("/faq-suggestions/{reply_id}")
async def create_suggested_faq(
    request: Request, reply_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep
) -> Response:
    """One click on an FAQ suggestion: the group's typical approved reply becomes an FAQ."""
    rid = _path_id(reply_id, "Suggestion not found.")
    try:
        await TicketService(db, runtime).create_suggested_faq(ctx.organization.id, rid)
    except AppError as exc:
        await db.rollback()
        return redirect(PAGE, flash=f"No FAQ made: {exc.message}", level="error")
    return redirect(PAGE, flash="Saved as an FAQ: the next similar question is answered from it.")


def _path_id(value: str, not_found: str) -> uuid.UUID:
    """An id from the URL; one that is not a UUID names nothing: 404."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(not_found) from None


def _tid(value: str) -> uuid.UUID:
    return _path_id(value, "Ticket not found.")


def open_draft(detail: TicketDetail) -> DraftRead | None:
    """The draft under review (or being sent, or failed with the staff text kept), newest first."""
    live = (DraftStatus.draft, DraftStatus.sending, DraftStatus.failed)
    return next((d for d in reversed(detail.drafts) if d.status in live), None)


async def neighbours(
    service: TicketService, organization_id: uuid.UUID, ticket_id: uuid.UUID
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The tickets before and after this one in the awaiting queue, for j/k."""
    found = await service.queue(organization_id, TicketFilter(awaiting_reply=True), limit=NEIGHBOUR_WINDOW)
    ids = [t.id for t in found.items]
    if ticket_id not in ids:
        return None, ids[0] if ids else None
    i = ids.index(ticket_id)
    return (ids[i - 1] if i > 0 else None), (ids[i + 1] if i + 1 < len(ids) else None)


async def _ticket_page(
    request: Request,
    ctx: AdminContext,
    db: AsyncSession,
    runtime: Runtime,
    ticket_id: uuid.UUID,
    *,
    error: str | None = None,
    kept_text: str | None = None,
    reply_text: str = "",
    status_code: int = 200,
) -> Response:
    service = TicketService(db, runtime)
    org_id = ctx.organization.id
    detail = await service.detail(org_id, ticket_id)
    draft = open_draft(detail)
    names = await member_names(db, org_id)
    previous, following = await neighbours(service, org_id, ticket_id)
    history = [d for d in detail.drafts if d.status in (DraftStatus.sent, DraftStatus.rejected)]
    native = detail.source == TicketSource.native
    return render(
        request,
        "tickets/ticket.html",
        status_code=status_code,
        t=detail,
        row=_row(detail, names, datetime.now(UTC)),
        draft=draft,
        # A failed send keeps the approved text: the editor shows it, not the original draft.
        draft_text=kept_text if kept_text is not None else (draft.final_text or draft.text if draft else ""),
        reply_text=reply_text,
        history=list(reversed(history)),
        superseded=sum(1 for d in detail.drafts if d.status == DraftStatus.superseded),
        members=names,
        native=native,
        reply_statuses=(
            {s.value: STATUS_LABELS[s] for s in NativeStatus}
            if native
            else {s: s for s in WHMCS_REPLY_STATUSES}
        ),
        status_labels=STATUS_LABELS,
        priorities=PRIORITIES,
        categories=await category_choices(db, org_id),
        author_labels=AUTHOR_LABELS,
        mode_labels=MODE_LABELS,
        draft_labels=DRAFT_STATUS_LABELS,
        quick_instructions=QUICK_INSTRUCTIONS,
        previous_id=previous,
        next_id=following,
        drafting=drafting_in_progress(detail.drafting_since),
        error=error,
    )


@router.get("/{ticket_id}")
async def ticket_page(
    request: Request, ticket_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep
) -> Response:
    return await _ticket_page(request, ctx, db, runtime, _tid(ticket_id))


async def _failed(
    request: Request,
    ctx: AdminContext,
    db: AsyncSession,
    runtime: Runtime,
    ticket_id: uuid.UUID,
    exc: AppError,
    **kept: Any,
) -> Response:
    """The ticket again with the message, and the text the staff member typed still in its box."""
    if isinstance(exc, NotFound) and exc.message == "Ticket not found.":
        raise exc
    await db.rollback()
    return await _ticket_page(
        request, ctx, db, runtime, ticket_id, error=exc.message, status_code=exc.status_code, **kept
    )


def _here(ticket_id: uuid.UUID) -> str:
    return f"{PAGE}/{ticket_id}"


def _draft_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        raise NotFound("Draft not found.") from None


@router.post("/{ticket_id}/approve")
async def approve_draft(
    request: Request,
    ticket_id: str,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    text: FormStr = "",
    draft_id: FormStr = "",
    status: FormStr = "",
) -> Response:
    tid = _tid(ticket_id)
    text = text.replace("\r\n", "\n")
    try:
        approver = await approver_for(db, principal_of(ctx))
        sent = await approve_and_send(
            db,
            runtime,
            ctx.organization.id,
            tid,
            approver,
            draft_id=_draft_id(draft_id),
            text=text,
            status=status or None,
        )
    except AppError as exc:
        return await _failed(request, ctx, db, runtime, tid, exc, kept_text=text)
    return _delivered(tid, sent, "Reply approved and sent.", "Your text is kept; approve again to retry.")


def _delivered(tid: uuid.UUID, sent: Draft, done: str, kept: str) -> Response:
    """Back to the ticket, saying whether the reply went out, and if not, why and that the text is kept."""
    if sent.status == DraftStatus.sent:
        return redirect(_here(tid), flash=done)
    reason = (sent.error or "the reply could not be delivered").rstrip(".")
    return redirect(_here(tid), flash=f"Not sent: {reason}. {kept}", level="error")


@router.post("/{ticket_id}/regenerate")
async def regenerate(
    request: Request,
    ticket_id: str,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    instruction: FormStr = "",
) -> Response:
    """Queues a new draft; the page shows it being written and reloads itself when it arrives."""
    tid = _tid(ticket_id)
    try:
        ticket = await TicketService(db, runtime).request_draft(ctx.organization.id, tid, instruction)
    except AppError as exc:
        return await _failed(request, ctx, db, runtime, tid, exc)
    wanted = ticket.drafting_instruction
    done = f"Writing a new draft ({wanted})…" if wanted else "Writing a new draft…"
    return redirect(_here(tid), flash=done)


@router.get("/{ticket_id}/drafting")
async def drafting_status(
    request: Request, ticket_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep
) -> Response:
    """Polled while a draft is being written: the same notice, or a reload once the draft is there."""
    ticket = await TicketService(db, runtime).get(ctx.organization.id, _tid(ticket_id))
    if drafting_in_progress(ticket.drafting_since):
        return render(request, "tickets/_drafting.html", t=ticket)
    return Response(headers={"HX-Refresh": "true"})  # the draft (or the reason it failed) is there


@router.post("/{ticket_id}/drafts/{draft_id}/save")
async def save_edit(
    request: Request,
    ticket_id: str,
    draft_id: str,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    text: FormStr = "",
) -> Response:
    """Keeps the edited text on the draft without sending it (a colleague, or you later, approves it)."""
    tid = _tid(ticket_id)
    did = _path_id(draft_id, "Draft not found.")
    try:
        await TicketService(db, runtime).save_edit(ctx.organization.id, tid, did, text)
    except AppError as exc:
        return await _failed(request, ctx, db, runtime, tid, exc, kept_text=text.replace("\r\n", "\n"))
    return redirect(_here(tid), flash="Edit saved; nothing was sent. Approve it when it is ready.")


@router.post("/{ticket_id}/reject")
async def reject_draft(
    request: Request,
    ticket_id: str,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    draft_id: FormStr = "",
    reason: FormStr = "",
) -> Response:
    tid = _tid(ticket_id)
    try:
        await reject(db, ctx.organization.id, tid, _draft_id(draft_id), reason.strip()[:500] or None)
    except AppError as exc:
        return await _failed(request, ctx, db, runtime, tid, exc)
    return redirect(_here(tid), flash="Draft rejected. Write a reply yourself or regenerate one.")


@router.post("/{ticket_id}/update")
async def update_ticket(
    request: Request,
    ticket_id: str,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    assigned_user_id: FormStr = "",
    priority: FormStr = "",
    category: FormStr = "",
    status: FormStr = "",
) -> Response:
    """Assign, and change priority, category and (native tickets) status."""
    tid = _tid(ticket_id)
    service = TicketService(db, runtime)
    ticket = await service.get(ctx.organization.id, tid)
    raw: dict[str, Any] = {
        "priority": priority or None,
        "category": category.strip() or None,
        "status": (status or None) if ticket.source == TicketSource.native else None,
    }
    if assigned_user_id:  # empty keeps the assignee; "none" (an explicit null) un-assigns
        raw["assigned_user_id"] = None if assigned_user_id == UNASSIGN else assigned_user_id
    try:
        change = TicketUpdate.model_validate(raw)
        await service.update(ctx.organization.id, tid, change)
    except ValidationError as exc:
        message = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in form_errors(exc).items())
        return redirect(_here(tid), flash=f"Not saved: {message}", level="error")
    except AppError as exc:
        if isinstance(exc, NotFound) and exc.message == "Ticket not found.":
            raise
        await db.rollback()
        return redirect(_here(tid), flash=f"Not saved: {exc.message}", level="error")
    return redirect(_here(tid), flash="Ticket updated.")


@router.post("/{ticket_id}/reply")
async def manual_reply(
    request: Request,
    ticket_id: str,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    text: FormStr = "",
    note: FormStr = "",
    as_customer: FormStr = "",
    status: FormStr = "",
) -> Response:
    """A reply written by staff (sent exactly once, like an approved draft), an internal note, or (native
    tickets) the customer's answer received another way, recorded so that the ticket waits for a reply."""
    tid = _tid(ticket_id)
    text = text.replace("\r\n", "\n").strip()
    try:
        approver = await approver_for(db, principal_of(ctx))
        if not text:
            await TicketService(db, runtime).get(ctx.organization.id, tid)
            raise ValidationFailed("Write something first: the text is empty.")
        if note:
            added = await TicketService(db, runtime).add_note(ctx.organization.id, tid, text, approver)
            where = "; it is being added to the WHMCS ticket too" if added.push_status else ""
            return redirect(_here(tid), flash=f"Internal note added (the customer does not see it){where}.")
        if as_customer:
            await TicketService(db, runtime).add_customer_message(ctx.organization.id, tid, text)
            return redirect(_here(tid), flash="Customer's reply recorded; a new draft is being written.")
        sent = await approve_and_send(
            db, runtime, ctx.organization.id, tid, approver, text=text, status=status or None, manual=True
        )
    except AppError as exc:
        return await _failed(request, ctx, db, runtime, tid, exc, reply_text=text)
    return _delivered(tid, sent, "Reply sent.", "Your text is kept as a draft; approve it to retry.")


@router.post("/{ticket_id}/replies/{draft_id}/faq")
async def save_as_faq(
    request: Request, ticket_id: str, draft_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep
) -> Response:
    """One click on a sent reply: an FAQ in the knowledge base, the customer's personal data stripped."""
    tid = _tid(ticket_id)
    did = _path_id(draft_id, "Draft not found.")
    try:
        await TicketService(db, runtime).save_reply_as_faq(ctx.organization.id, tid, did)
    except AppError as exc:
        return await _failed(request, ctx, db, runtime, tid, exc)
    return redirect(_here(tid), flash="Saved as an FAQ: the next similar question is answered from it.")


@router.post("/{ticket_id}/notes/{note_id}/retry")
async def retry_note(
    request: Request, ticket_id: str, note_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep
) -> Response:
    """Sends again a note WHMCS did not take, after looking whether an earlier attempt got there."""
    tid = _tid(ticket_id)
    nid = _path_id(note_id, "Note not found.")
    try:
        await retry_note_push(db, runtime, ctx.organization.id, tid, nid)
    except NotFound:
        raise  # another organization's ticket or note: a plain 404
    except AppError as exc:
        await db.rollback()
        return redirect(_here(tid), flash=f"Not retried: {exc.message}", level="error")
    return redirect(_here(tid), flash="Sending the note to WHMCS again; reload in a moment to see it arrive.")
