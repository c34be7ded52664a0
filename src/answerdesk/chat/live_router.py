"""Live chat API: the customer's WebSocket and SSE stream, handoff, rating, answer feedback, typing, seen;
staff actions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response, StreamingResponse

from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.auth.models import Scope
from answerdesk.auth.service import ApiKeyService, Principal
from answerdesk.chat.deps import (
    ChatLimit,
    ChatPrincipal,
    ConversationToken,
    chat_limit,
    check_chat_limit,
    require_member,
)
from answerdesk.chat.feedback import FeedbackService
from answerdesk.chat.live import HEARTBEAT, LiveChatService, Staff
from answerdesk.chat.models import Conversation
from answerdesk.chat.offline import LeaveMessageService
from answerdesk.chat.schemas import (
    AssignCreate,
    FeedbackCreate,
    FeedbackRead,
    HandoffRead,
    LeaveMessageCreate,
    LeftMessageRead,
    LiveConversationRead,
    MessageCreate,
    MessageRead,
    NoteCreate,
    RatingCreate,
    RatingRead,
    SeenCreate,
    TypingCreate,
)
from answerdesk.chat.service import ChatService
from answerdesk.chat.sse import live_stream
from answerdesk.kit import metrics
from answerdesk.kit.bounds import MAX_TOKEN_CHARS, SQL_INT_MAX, clamp_seq
from answerdesk.kit.db import session_scope
from answerdesk.kit.errors import AppError, Forbidden, NotFound, TooManyRequests
from answerdesk.runtime import Runtime

router = APIRouter(prefix="/conversations", tags=["live chat"])

# WebSocket close codes: the HTTP status the same refusal would have, plus 4000.
CLOSE_NOT_FOUND = 4404
CLOSE_FORBIDDEN = 4403
CLOSE_RATE_LIMITED = 4429
CLOSE_RECONNECT = 1012  # the server ended the stream (restart, lagging client): reconnect with ?after=

MessageLimit = Depends(chat_limit(ChatLimit.message))
SignalLimit = Depends(chat_limit(ChatLimit.signal))


def _service(runtime: Runtime) -> LiveChatService:
    return LiveChatService(runtime)


async def _staff(db: DbSession, runtime: Runtime, principal: Principal) -> Staff:
    principal = require_member(principal)
    assert principal.user_id is not None
    return await _service(runtime).staff(db, principal.organization_id, principal.user_id)


# -- customer ---------------------------------------------------------------------------------------------


@router.post("/{conversation_id}/handoff", response_model=HandoffRead, dependencies=[MessageLimit])
async def request_handoff(
    conversation_id: uuid.UUID,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
    token: ConversationToken = None,
) -> HandoffRead:
    return await _service(runtime).handoff(db, principal, conversation_id, token)


@router.post(
    "/{conversation_id}/leave-message",
    status_code=201,
    response_model=LeftMessageRead,
    dependencies=[MessageLimit],
)
async def leave_message(
    conversation_id: uuid.UUID,
    body: LeaveMessageCreate,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
    token: ConversationToken = None,
) -> LeftMessageRead:
    """Nobody is online: the message becomes a native ticket with this chat's transcript, and the chat says
    so. Sending the same message again within a few minutes returns the same ticket."""
    left = await LeaveMessageService(runtime).leave(db, principal, conversation_id, token, body)
    return left.read()


@router.post("/{conversation_id}/rating", response_model=RatingRead, dependencies=[MessageLimit])
async def rate_conversation(
    conversation_id: uuid.UUID,
    body: RatingCreate,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
    token: ConversationToken = None,
) -> RatingRead:
    conversation = await _service(runtime).rate(db, principal, conversation_id, token, body)
    assert conversation.rating is not None
    return RatingRead(rating=conversation.rating, comment=conversation.rating_comment)


@router.post("/{conversation_id}/feedback", response_model=FeedbackRead, dependencies=[MessageLimit])
async def give_feedback(
    conversation_id: uuid.UUID,
    body: FeedbackCreate,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
    token: ConversationToken = None,
) -> FeedbackRead:
    """A thumbs up or down on one bot answer, with an optional reason ("down" only) and comment; sending it
    again (e.g. up, then down) replaces it. Open or closed conversations alike."""
    conversation = await ChatService(runtime).get(db, principal, conversation_id, token, for_update=True)
    feedback = await FeedbackService(db, runtime).record(conversation, body)
    return FeedbackRead.model_validate(feedback)


@router.post("/{conversation_id}/typing", status_code=204, dependencies=[SignalLimit])
async def customer_typing(
    conversation_id: uuid.UUID,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
    token: ConversationToken = None,
    body: TypingCreate | None = None,
) -> Response:
    service = _service(runtime)
    if principal.kind == "user" and token is None:
        staff = await _staff(db, runtime, principal)
        conversation = await ChatService(runtime).get(db, principal, conversation_id, None)
        await service.typing(conversation, "staff", (body or TypingCreate()).typing, staff.name)
    else:
        conversation = await ChatService(runtime).get(db, principal, conversation_id, token)
        await service.typing(conversation, "customer", (body or TypingCreate()).typing)
    return Response(status_code=204)


@router.post("/{conversation_id}/seen", status_code=204, dependencies=[SignalLimit])
async def mark_seen(
    conversation_id: uuid.UUID,
    body: SeenCreate,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
    token: ConversationToken = None,
) -> Response:
    service = _service(runtime)
    if principal.kind == "user" and token is None:
        await service.staff_seen(db, principal.organization_id, conversation_id, body.seq)
    else:
        await service.customer_seen(db, principal, conversation_id, token, body.seq)
    return Response(status_code=204)


@router.post("/{conversation_id}/close", response_model=LiveConversationRead, dependencies=[MessageLimit])
async def close_conversation(
    conversation_id: uuid.UUID,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
    token: ConversationToken = None,
) -> Conversation:
    """Staff (logged in) or the customer (with the token) end the conversation; nobody can post after."""
    service = _service(runtime)
    if principal.kind == "user" and token is None:
        staff = await _staff(db, runtime, principal)
        return await service.close(db, principal.organization_id, conversation_id, staff)
    return await service.customer_close(db, principal, conversation_id, token)


@router.get(
    "/{conversation_id}/events",
    dependencies=[SignalLimit],
    responses={200: {"content": {"text/event-stream": {}}, "description": "Live events"}},
)
async def conversation_events(
    conversation_id: uuid.UUID,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
    token: ConversationToken = None,
    after: Annotated[
        int, Query(ge=0, le=SQL_INT_MAX, description="Replay messages with a higher seq first")
    ] = 0,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    """Server-Sent Events: the messages after `after`, the status, then live `message`, `typing`, `seen` and
    `status` events; a `: ping` comment every ~15 s. The fallback for clients without WebSocket."""
    conversation = await ChatService(runtime).get(db, principal, conversation_id, token)
    resumed = clamp_seq(last_event_id)
    if resumed is not None:
        after = max(after, resumed)
    return StreamingResponse(
        live_stream(
            metrics.track_connection("customer_sse", _service(runtime).customer_stream(conversation, after))
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.websocket("/{conversation_id}/live")
async def conversation_socket(
    websocket: WebSocket,
    conversation_id: uuid.UUID,
    key: Annotated[str, Query(max_length=MAX_TOKEN_CHARS)] = "",
    token: Annotated[str, Query(max_length=MAX_TOKEN_CHARS)] = "",
    after: Annotated[int, Query(ge=0, le=SQL_INT_MAX)] = 0,
) -> None:
    """The customer's live channel. Query: `key` (public key), `token` (the conversation's), `after` (last
    seq the client has). A key that is unknown or used from an origin it does not allow is refused at the
    handshake (HTTP 401/403); too many connections, HTTP 429; a wrong token or conversation: close 4404."""
    runtime: Runtime = websocket.app.state.runtime
    ip = websocket.client.host if websocket.client else ""
    try:
        async with session_scope(runtime.sessionmaker) as db:
            principal = await ApiKeyService(db).authenticate(key, origin=websocket.headers.get("origin"))
            if not principal.can(Scope.chat):
                raise Forbidden("This credential may not use the chat API.", code="insufficient_scope")
            await check_chat_limit(runtime, principal, ip, ChatLimit.signal)
            try:
                conversation = await ChatService(runtime).get(db, principal, conversation_id, token or None)
            except NotFound:
                conversation = None
    except AppError as exc:
        await _refuse(websocket, exc)
        return
    await websocket.accept()
    if conversation is None:
        await websocket.close(code=CLOSE_NOT_FOUND, reason="conversation not found")
        return
    service = _service(runtime)
    sender = asyncio.create_task(_send_events(websocket, service, conversation, after))
    receiver = asyncio.create_task(_receive(websocket, service, principal, conversation, token, ip))
    connections = metrics.LIVE_CONNECTIONS.labels("customer_websocket")
    connections.inc()
    try:
        done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        connections.dec()
    for task in pending:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    if sender in done and not sender.cancelled() and sender.exception() is None:
        with contextlib.suppress(Exception):
            await websocket.close(code=CLOSE_RECONNECT)


async def _refuse(websocket: WebSocket, exc: AppError) -> None:
    """Refuses the handshake with the HTTP status and JSON error an HTTP request would get."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        await websocket.send_denial_response(JSONResponse(exc.to_dict(), exc.status_code, headers=headers))
    else:
        await websocket.close(code=4000 + exc.status_code if exc.status_code >= 400 else CLOSE_FORBIDDEN)


async def _send_events(
    websocket: WebSocket, service: LiveChatService, conversation: Conversation, after: int
) -> None:
    async for event in service.customer_stream(conversation, after):
        if event is HEARTBEAT:
            continue  # the server's WebSocket pings keep the connection alive
        await websocket.send_text(json.dumps(event, ensure_ascii=False))


async def _receive(
    websocket: WebSocket,
    service: LiveChatService,
    principal: Principal,
    conversation: Conversation,
    token: str,
    ip: str,
) -> None:
    """Client events: {"type": "typing", "typing": bool} and {"type": "seen", "seq": n}; others ignored."""
    runtime = service.runtime
    while True:
        try:
            raw = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        event = _parse(raw)
        if event is None:
            continue
        try:
            await check_chat_limit(runtime, principal, ip, ChatLimit.signal)
            if event["type"] == "typing":
                await service.typing(conversation, "customer", bool(event.get("typing", True)))
            elif event["type"] == "seen" and isinstance(event.get("seq"), int):
                async with session_scope(runtime.sessionmaker) as db:
                    await service.customer_seen(db, principal, conversation.id, token or None, event["seq"])
        except TooManyRequests:
            continue  # signals are best effort: dropped, not fatal
        except NotFound:
            await websocket.close(code=CLOSE_NOT_FOUND)
            return


def _parse(raw: str) -> dict[str, Any] | None:
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("type"), str) else None


# -- staff --------------------------------------------------------------------------------------------------


@router.post("/{conversation_id}/takeover", response_model=LiveConversationRead)
async def take_over(
    conversation_id: uuid.UUID, principal: ChatPrincipal, db: DbSession, runtime: RuntimeDep
) -> Conversation:
    staff = await _staff(db, runtime, principal)
    return await _service(runtime).take_over(db, principal.organization_id, conversation_id, staff)


@router.post("/{conversation_id}/handback", response_model=LiveConversationRead)
async def hand_back(
    conversation_id: uuid.UUID, principal: ChatPrincipal, db: DbSession, runtime: RuntimeDep
) -> Conversation:
    staff = await _staff(db, runtime, principal)
    return await _service(runtime).hand_back(db, principal.organization_id, conversation_id, staff)


@router.post("/{conversation_id}/assign", response_model=LiveConversationRead)
async def assign(
    conversation_id: uuid.UUID,
    body: AssignCreate,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
) -> Conversation:
    staff = await _staff(db, runtime, principal)
    return await _service(runtime).assign(db, principal.organization_id, conversation_id, staff, body.user_id)


@router.post("/{conversation_id}/notes", status_code=201, response_model=MessageRead)
async def add_note(
    conversation_id: uuid.UUID, body: NoteCreate, principal: ChatPrincipal, db: DbSession, runtime: RuntimeDep
) -> MessageRead:
    staff = await _staff(db, runtime, principal)
    message = await _service(runtime).add_note(
        db, principal.organization_id, conversation_id, staff, body.content
    )
    return MessageRead.model_validate(message)


@router.post("/{conversation_id}/replies", status_code=201, response_model=MessageRead)
async def reply(
    conversation_id: uuid.UUID,
    body: MessageCreate,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
) -> MessageRead:
    staff = await _staff(db, runtime, principal)
    message = await _service(runtime).reply(
        db, principal.organization_id, conversation_id, staff, body.content
    )
    return MessageRead.model_validate(message)
