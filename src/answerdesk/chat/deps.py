"""Chat API dependencies: the caller with the chat scope, the conversation token, and rate limits."""

from __future__ import annotations

import enum
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from answerdesk.auth.deps import RuntimeDep, require_scope
from answerdesk.auth.models import Scope
from answerdesk.auth.service import Principal
from answerdesk.kit.bounds import MAX_TOKEN_CHARS
from answerdesk.kit.errors import Forbidden, TooManyRequests
from answerdesk.kit.web import client_ip
from answerdesk.runtime import Runtime

ChatPrincipal = Annotated[Principal, Depends(require_scope(Scope.chat))]
ConversationToken = Annotated[
    str | None,
    Header(
        alias="X-Conversation-Token",
        max_length=MAX_TOKEN_CHARS,
        description="The token returned when the conversation started; required with a public key",
    ),
]


class ChatLimit(enum.StrEnum):
    start = "start"  # new conversations
    message = "message"  # messages, handoff, rating, close
    signal = "signal"  # typing, seen, live connections


def ip_limit(runtime: Runtime, group: ChatLimit) -> str:
    s = runtime.settings
    return {
        ChatLimit.start: s.chat_start_limit_per_ip,
        ChatLimit.message: s.chat_message_limit_per_ip,
        ChatLimit.signal: s.chat_signal_limit_per_ip,
    }[group]


async def check_chat_limit(runtime: Runtime, principal: Principal, ip: str, group: ChatLimit) -> None:
    """Public-key callers (browsers) are held to per-IP and per-key limits; servers with secret keys are not,
    since one server speaks for many visitors."""
    if principal.kind != "public":
        return
    checks = [(ip_limit(runtime, group), f"chat:{group}:ip:{ip}")]
    if principal.api_key_id is not None:
        checks.append((runtime.settings.chat_limit_per_key, f"chat:{group}:key:{principal.api_key_id}"))
    for spec, key in checks:
        if not await runtime.limiter.hit(spec, key):
            raise TooManyRequests(
                "Too many requests; please slow down.",
                retry_after=await runtime.limiter.blocked_for(spec, key),
            )


def chat_limit(group: ChatLimit) -> Callable[..., Coroutine[Any, Any, None]]:
    async def check(request: Request, principal: ChatPrincipal, runtime: RuntimeDep) -> None:
        await check_chat_limit(runtime, principal, client_ip(request), group)

    return check


def require_member(principal: Principal) -> Principal:
    """Staff actions name the member who took them ("Anna joined the chat"): a key has no name."""
    if principal.kind != "user" or principal.user_id is None:
        raise Forbidden("Staff actions need a logged-in member (session cookie), not an API key.")
    return principal
