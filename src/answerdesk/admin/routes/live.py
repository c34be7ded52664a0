"""Live chats page: the conversations that need staff, the transcript with a reply box, and staff actions,
kept current by one Server-Sent Events stream of the organization's chat events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from answerdesk.admin.deps import Admin, AdminContext
from answerdesk.admin.routes.ai import MODE_LABELS, SENDER_LABELS, principal_of
from answerdesk.admin.routes.chats import STATUS_LABELS, customer_label
from answerdesk.admin.routes.knowledge import time_ago
from answerdesk.admin.templating import render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.chat.live import LiveChatService, Staff, waited
from answerdesk.chat.models import Conversation, ConversationStatus, Sender
from answerdesk.chat.schemas import MessageRead
from answerdesk.chat.service import ChatService
from answerdesk.chat.sse import live_stream
from answerdesk.chat.stats import ChatStatsService
from answerdesk.kit import metrics
from answerdesk.kit.errors import AppError, NotFound
from answerdesk.runtime import Runtime

router = APIRouter(prefix="/admin/live", include_in_schema=False)

PAGE = "/admin/live"
VIEWS: dict[str, str] = {"active": "Active", "waiting": "Waiting", "closed": "Closed"}
LIVE_SENDER_LABELS = {**SENDER_LABELS, Sender.note: "Internal note"}
FormStr = Annotated[str, Form()]


@dataclass(frozen=True)
class LiveRow:
    id: uuid.UUID
    customer: str
    status: str
    status_label: str
    waiting: bool
    wait: str
    unread: int
    sentiment: str | None
    frustrated: bool
    last_activity: str
    assignee: str | None
    language: str | None = None


@dataclass(frozen=True)
class LiveCounters:
    """The same figures the widget gets (GET /chat/stats), with the active and waiting chats."""

    staff_online: int
    reply_time: str | None  # the median staff reply time in whole minutes, rounded up: "4 min"
    replies_measured: int
    average_rating: float | None
    ratings: int
    active: int
    waiting: int


async def _counters(runtime: Runtime, db: DbSession, organization_id: uuid.UUID) -> LiveCounters:
    service = ChatStatsService(runtime)
    stats = await service.stats(db, organization_id)
    active, waiting = await service.live_counts(db, organization_id)
    return LiveCounters(
        # Fresh, unlike the cached figures: whoever just opened this page is online now.
        staff_online=await LiveChatService(runtime).staff_online_count(organization_id),
        # Rounded as the widget rounds it ("Typically replies in N minutes"): the same figure on both.
        reply_time=None if stats.typical_reply_minutes is None else f"{stats.typical_reply_minutes} min",
        replies_measured=stats.replies_measured,
        average_rating=stats.average_rating,
        ratings=stats.ratings,
        active=active,
        waiting=waiting,
    )


def _view(value: str | None) -> str:
    return value if value in VIEWS else "active"


def _cid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("Conversation not found.") from None


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


async def _rows(
    service: LiveChatService, db: DbSession, ctx: AdminContext, view: str, q: str
) -> list[LiveRow]:
    names = {s.user_id: s.name for s in await service.members(db, ctx.organization.id)}
    now = datetime.now(UTC)
    rows = []
    for c, unread in await service.live_list(db, ctx.organization.id, view, q or None):
        wait = waited(c, now)
        rows.append(
            LiveRow(
                id=c.id,
                customer=customer_label(c)[0],
                status=c.status,
                status_label=STATUS_LABELS.get(c.status, c.status),
                waiting=wait is not None and c.status == ConversationStatus.bot,
                wait=_duration(wait.total_seconds()) if wait is not None else "",
                unread=unread,
                sentiment=c.last_sentiment,
                frustrated=c.frustrated,
                last_activity=time_ago(c.last_message_at, now),
                assignee=names.get(c.assigned_user_id) if c.assigned_user_id else None,
                language=c.language,
            )
        )
    return rows


async def _me(service: LiveChatService, db: DbSession, ctx: AdminContext) -> Staff:
    return await service.staff(db, ctx.organization.id, ctx.user_id)


async def _pane(
    request: Request,
    db: DbSession,
    runtime: Runtime,
    ctx: AdminContext,
    cid: uuid.UUID,
    *,
    error: str | None = None,
) -> Response:
    service = LiveChatService(runtime)
    conversation = await ChatService(runtime).get(db, principal_of(ctx), cid, None)
    # Opening the transcript is reading it.
    await service.staff_seen(db, ctx.organization.id, cid)
    read = await ChatService(runtime).read(db, conversation, include_notes=True)
    members = await service.members(db, ctx.organization.id)
    return render(
        request,
        "live/pane.html",
        nav="live",
        c=conversation,
        conversation=read,
        customer=customer_label(conversation),
        status_label=STATUS_LABELS.get(conversation.status, conversation.status),
        assignee=next((m.name for m in members if m.user_id == conversation.assigned_user_id), None),
        members=members,
        me=ctx.user_id,
        waiting=conversation.waiting_since is not None and conversation.status == ConversationStatus.bot,
        sender_labels=LIVE_SENDER_LABELS,
        mode_labels=MODE_LABELS,
        error=error,
    )


@router.get("")
async def live_page(
    request: Request, ctx: Admin, db: DbSession, runtime: RuntimeDep, view: str = "", q: str = "", c: str = ""
) -> Response:
    service = LiveChatService(runtime)
    # Opening the page counts as being online, before the event stream connects.
    await service.staff_present(ctx.organization.id, str(ctx.user_id))
    view = _view(view)
    open_id = None
    if c:
        try:
            open_id = _cid(c)
            await ChatService(runtime).get(db, principal_of(ctx), open_id, None)
        except AppError:
            open_id = None
    return render(
        request,
        "live/index.html",
        nav="live",
        rows=await _rows(service, db, ctx, view, q.strip()[:200]),
        view=view,
        views=VIEWS,
        q=q.strip()[:200],
        open_id=open_id,
        counters=await _counters(runtime, db, ctx.organization.id),
    )


@router.get("/list")
async def live_list(
    request: Request, ctx: Admin, db: DbSession, runtime: RuntimeDep, view: str = "", q: str = "", c: str = ""
) -> Response:
    view = _view(view)
    rows = await _rows(LiveChatService(runtime), db, ctx, view, q.strip()[:200])
    counters = await _counters(runtime, db, ctx.organization.id)
    return render(
        request, "live/list.html", nav="live", rows=rows, view=view, open_id=c, counters=counters, oob=True
    )


@router.get("/events")
async def live_events(request: Request, ctx: Admin, runtime: RuntimeDep) -> StreamingResponse:
    member = f"{ctx.user_id}:{uuid.uuid4().hex[:8]}"
    stream = LiveChatService(runtime).staff_stream(ctx.organization.id, member)
    return StreamingResponse(
        live_stream(metrics.track_connection("staff_sse", stream)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/{conversation_id}")
async def pane(
    request: Request, conversation_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep
) -> Response:
    return await _pane(request, db, runtime, ctx, _cid(conversation_id))


@router.get("/{conversation_id}/messages")
async def messages_after(
    conversation_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep, after: int = 0
) -> JSONResponse:
    """Messages (notes too) after a seq, for the page to catch up after its event stream reconnects."""
    service = ChatService(runtime)
    conversation = await service.get(db, principal_of(ctx), _cid(conversation_id), None)
    found = await service.messages(db, conversation, after_seq=max(0, after), include_notes=True)
    return JSONResponse([MessageRead.model_validate(m).model_dump(mode="json") for m in found])


async def _act(
    request: Request,
    ctx: AdminContext,
    db: DbSession,
    runtime: Runtime,
    conversation_id: str,
    action: str,
    **form: str,
) -> Response:
    service = LiveChatService(runtime)
    cid = _cid(conversation_id)
    org = ctx.organization.id
    try:
        me = await _me(service, db, ctx)
        if action == "takeover":
            await service.take_over(db, org, cid, me)
        elif action == "handback":
            await service.hand_back(db, org, cid, me)
        elif action == "close":
            await service.close(db, org, cid, me)
        elif action == "assign":
            await service.assign(db, org, cid, me, _cid(form["user_id"]))
        elif action == "note":
            await service.add_note(db, org, cid, me, form["content"])
        elif action == "reply":
            await service.reply(db, org, cid, me, form["content"])
    except AppError as exc:
        if isinstance(exc, NotFound) and action != "assign":
            raise
        await db.rollback()
        return await _pane(request, db, runtime, ctx, cid, error=exc.message)
    return await _pane(request, db, runtime, ctx, cid)


@router.post("/{conversation_id}/takeover")
async def take_over(
    request: Request, conversation_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep
) -> Response:
    return await _act(request, ctx, db, runtime, conversation_id, "takeover")


@router.post("/{conversation_id}/handback")
async def hand_back(
    request: Request, conversation_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep
) -> Response:
    return await _act(request, ctx, db, runtime, conversation_id, "handback")


@router.post("/{conversation_id}/close")
async def close(
    request: Request, conversation_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep
) -> Response:
    return await _act(request, ctx, db, runtime, conversation_id, "close")


@router.post("/{conversation_id}/assign")
async def assign(
    request: Request, conversation_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep, user_id: FormStr
) -> Response:
    return await _act(request, ctx, db, runtime, conversation_id, "assign", user_id=user_id)


@router.post("/{conversation_id}/note")
async def note(
    request: Request,
    conversation_id: str,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    content: FormStr = "",
) -> Response:
    return await _act(request, ctx, db, runtime, conversation_id, "note", content=content)


@router.post("/{conversation_id}/reply")
async def reply(
    request: Request,
    conversation_id: str,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    content: FormStr = "",
) -> Response:
    return await _act(request, ctx, db, runtime, conversation_id, "reply", content=content)


@router.post("/{conversation_id}/typing")
async def typing(
    conversation_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep, typing: FormStr = "1"
) -> Response:
    service = LiveChatService(runtime)
    conversation: Conversation = await ChatService(runtime).get(
        db, principal_of(ctx), _cid(conversation_id), None
    )
    me = await _me(service, db, ctx)
    await service.typing(conversation, "staff", typing == "1", me.name)
    return Response(status_code=204)


@router.post("/{conversation_id}/seen")
async def seen(
    conversation_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep, seq: FormStr = ""
) -> Response:
    await LiveChatService(runtime).staff_seen(
        db, ctx.organization.id, _cid(conversation_id), int(seq) if seq.isdigit() else None
    )
    return Response(status_code=204)
