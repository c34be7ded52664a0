"""Live events about conversations, published after the commit on the conversation's and the org's channels.

`conversation:<id>` is what the customer may see (never notes); `org:<id>:chats` is for staff and carries
everything, each event with its `conversation_id` and, when the conversation changed, its summary.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import Conversation, ConversationStatus, Message, Sender
from answerdesk.chat.schemas import LiveConversationRead, MessageRead
from answerdesk.kit.events import Event, EventBus, publish_after_commit

Side = str  # "customer" or "staff"


def conversation_channel(conversation_id: uuid.UUID | str) -> str:
    return f"conversation:{conversation_id}"


def org_channel(organization_id: uuid.UUID | str) -> str:
    return f"org:{organization_id}:chats"


def summary(conversation: Conversation) -> dict[str, Any]:
    return LiveConversationRead.model_validate(conversation).model_dump(mode="json")


def status_event(conversation: Conversation, agent: str | None = None) -> Event:
    """What the customer learns about the conversation's state (the same shape on WS and SSE)."""
    return {
        "type": "status",
        "status": conversation.status,
        "waiting": is_waiting(conversation),
        "handoff": conversation.handoff_at is not None,
        "agent": agent if conversation.status == ConversationStatus.human else None,
    }


def is_waiting(conversation: Conversation) -> bool:
    return conversation.waiting_since is not None and conversation.status == ConversationStatus.bot


def message_added(db: AsyncSession, bus: EventBus, conversation: Conversation, message: Message) -> None:
    def for_customer() -> Event:
        return {"type": "message", "message": MessageRead.model_validate(message).model_dump(mode="json")}

    def for_staff() -> Event:
        return {
            **for_customer(),
            "conversation_id": str(conversation.id),
            "conversation": summary(conversation),
        }

    if message.sender != Sender.note:
        publish_after_commit(db, bus, conversation_channel(conversation.id), for_customer)
    publish_after_commit(db, bus, org_channel(conversation.organization_id), for_staff)


def status_changed(
    db: AsyncSession, bus: EventBus, conversation: Conversation, *, agent: str | None = None
) -> None:
    publish_after_commit(
        db, bus, conversation_channel(conversation.id), lambda: status_event(conversation, agent)
    )
    conversation_changed(db, bus, conversation)


def conversation_changed(db: AsyncSession, bus: EventBus, conversation: Conversation) -> None:
    """Staff-only: the summary moved (assignment, rating, unread counts)."""
    publish_after_commit(
        db,
        bus,
        org_channel(conversation.organization_id),
        lambda: {
            "type": "conversation",
            "conversation_id": str(conversation.id),
            "conversation": summary(conversation),
        },
    )


def seen(db: AsyncSession, bus: EventBus, conversation: Conversation, side: Side, seq: int) -> None:
    event: Event = {"type": "seen", "side": side, "seq": seq}
    publish_after_commit(db, bus, conversation_channel(conversation.id), event)
    publish_after_commit(
        db,
        bus,
        org_channel(conversation.organization_id),
        lambda: {**event, "conversation_id": str(conversation.id), "conversation": summary(conversation)},
    )


async def typing(
    bus: EventBus,
    organization_id: uuid.UUID,
    conversation_id: uuid.UUID,
    side: Side,
    is_typing: bool,
    name: str | None = None,
) -> None:
    """Typing is not stored: published at once."""
    event: Event = {"type": "typing", "side": side, "typing": is_typing}
    if name:
        event["name"] = name
    await bus.publish(conversation_channel(conversation_id), event)
    await bus.publish(org_channel(organization_id), {**event, "conversation_id": str(conversation_id)})
