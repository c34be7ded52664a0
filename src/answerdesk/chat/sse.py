"""Server-Sent Events framing of a streamed reply: ``token`` events, then ``done`` or ``error``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import structlog

from answerdesk.chat.service import Reply, ReplyEvent
from answerdesk.integrations.llm import TokenDelta
from answerdesk.kit.errors import AppError, error_body

log = structlog.get_logger(__name__)


def frame(event: str, data: dict[str, Any]) -> bytes:
    # json.dumps never emits raw newlines, so one data line per event is always valid SSE.
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def reply_stream(events: AsyncIterator[ReplyEvent], *, request_id: str) -> AsyncIterator[bytes]:
    """Frames the reply. The ``done`` event's message is the final text: a client replaces what it streamed
    with it (an answer can change at the end, e.g. when the model failed and quoted passages replace it)."""
    try:
        async for event in events:
            if isinstance(event, TokenDelta):
                yield frame("token", {"text": event.text})
            elif isinstance(event, Reply):
                yield frame("done", event.read.model_dump(mode="json"))
    except AppError as exc:
        yield frame("error", exc.to_dict())
    except Exception:
        log.exception("chat.stream_failed")
        yield frame(
            "error",
            error_body(
                "internal_error", f"Sorry, something went wrong (request id {request_id}). Please try again."
            ),
        )


async def live_stream(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """Frames live events: ``event:`` is the event's type, message events carry ``id: seq`` (so a browser's
    EventSource resumes with Last-Event-ID), and heartbeats are comments that keep proxies from timing out."""
    yield b"retry: 2000\n\n"
    async for event in events:
        kind = str(event.get("type", "message"))
        if kind == "heartbeat":
            yield b": ping\n\n"
            continue
        head = f"id: {event['message']['seq']}\n" if kind == "message" and "message" in event else ""
        yield head.encode() + frame(kind, event)
