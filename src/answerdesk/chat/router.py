"""Chat API: start a conversation, send a message (JSON or Server-Sent Events), read the conversation."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.chat.deps import ChatLimit, ChatPrincipal, ConversationToken, chat_limit
from answerdesk.chat.schemas import (
    ConversationCreate,
    ConversationCreated,
    ConversationRead,
    MessageCreate,
    ReplyRead,
)
from answerdesk.chat.service import ChatService, channel_for
from answerdesk.chat.sse import reply_stream
from answerdesk.kit.bounds import SQL_INT_MAX
from answerdesk.kit.web import request_id_var

router = APIRouter(prefix="/conversations", tags=["chat"])


@router.post(
    "",
    status_code=201,
    response_model=ConversationCreated,
    dependencies=[Depends(chat_limit(ChatLimit.start))],
)
async def start_conversation(
    principal: ChatPrincipal, db: DbSession, runtime: RuntimeDep, body: ConversationCreate | None = None
) -> ConversationCreated:
    conversation, token = await ChatService(runtime).start(
        db, principal.organization_id, body or ConversationCreate(), channel_for(principal)
    )
    return ConversationCreated(id=conversation.id, token=token)


@router.get("/{conversation_id}", response_model=ConversationRead)
async def get_conversation(
    conversation_id: uuid.UUID,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
    token: ConversationToken = None,
    after: Annotated[int, Query(ge=0, le=SQL_INT_MAX, description="Only messages with a higher seq")] = 0,
) -> ConversationRead:
    service = ChatService(runtime)
    conversation = await service.get(db, principal, conversation_id, token)
    return await service.read(db, conversation, after_seq=after)


@router.post(
    "/{conversation_id}/messages",
    response_model=ReplyRead,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE when asked for"}},
    dependencies=[Depends(chat_limit(ChatLimit.message))],
)
async def post_message(
    conversation_id: uuid.UUID,
    body: MessageCreate,
    request: Request,
    principal: ChatPrincipal,
    db: DbSession,
    runtime: RuntimeDep,
    token: ConversationToken = None,
) -> Response:
    service = ChatService(runtime)
    # Validation, access and storing the customer's message happen first, so they fail with an HTTP status.
    accepted = await service.accept(db, principal, conversation_id, token, body.content)
    # The boundary of this request's unit of work: the message is kept, and the connection goes back to
    # the pool before the answer (seconds of streaming) is written.
    await db.commit()
    if "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(
            reply_stream(service.respond(accepted), request_id=request_id_var.get()),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    reply = await service.answer(accepted)
    return JSONResponse(reply.read.model_dump(mode="json"))
