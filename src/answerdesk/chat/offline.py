"""Leave a message when nobody is online: the customer's message and the chat's transcript become a ticket."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.service import Principal
from answerdesk.chat import announce
from answerdesk.chat.models import Conversation, ConversationStatus, Message, Sender
from answerdesk.chat.schemas import LeaveMessageCreate, LeftMessageRead, MessageRead
from answerdesk.chat.service import ChatService, append_message
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import Conflict, ValidationFailed
from answerdesk.languages.texts import Text, english, say
from answerdesk.runtime import Runtime
from answerdesk.tickets.service import TicketService

RECEIVED = english(Text.message_received)  # customers get it in their language (languages/texts.py)
CLOSED = "This conversation is closed. Start a new one to leave us a message."
EMAIL_NEEDED = "Enter your e-mail address, so that we can reply."
# A double click, or a retry after the reply was lost, sends the same message again: same ticket.
REPEAT_WINDOW = timedelta(minutes=10)
DETAILS_KEY = "left_message"  # in the confirmation's details: the ticket it made, and what made it


@dataclass(frozen=True)
class LeftMessage:
    ticket_id: uuid.UUID
    number: str
    message: Message

    def read(self) -> LeftMessageRead:
        return LeftMessageRead(
            ticket_id=self.ticket_id, number=self.number, message=MessageRead.model_validate(self.message)
        )


class LeaveMessageService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.chat = ChatService(runtime)

    async def leave(
        self,
        db: AsyncSession,
        principal: Principal,
        conversation_id: uuid.UUID,
        token: str | None,
        body: LeaveMessageCreate,
    ) -> LeftMessage:
        """Opens a native ticket with the transcript (never internal notes), says so in the chat, and stops
        the conversation waiting for staff: the ticket is now how the customer gets an answer."""
        text = self._text(body.message)
        conversation = await self.chat.get(db, principal, conversation_id, token, for_update=True)
        await _serialised(db, conversation)
        if conversation.status == ConversationStatus.closed:
            raise Conflict(CLOSED)
        email = str(body.email) if body.email else conversation.customer_email
        if not email:
            raise ValidationFailed(EMAIL_NEEDED, details=[{"loc": ["body", "email"], "type": "missing"}])
        name = body.name or conversation.customer_name or ""
        messages = await self.chat.messages(db, conversation)
        asked = fingerprint(text, email, name)
        earlier = repeat_of(messages, asked, utcnow() - REPEAT_WINDOW)
        if earlier is not None:
            left = earlier.details[DETAILS_KEY]
            return LeftMessage(uuid.UUID(left["ticket_id"]), str(left["number"]), earlier)
        ticket = await TicketService(db, self.runtime).create_from_conversation(
            conversation.organization_id,
            customer_name=name,
            customer_email=email,
            message=text,
            transcript=transcript_of(messages),
            conversation_id=conversation.id,
        )
        conversation.customer_email = conversation.customer_email or email
        conversation.customer_name = conversation.customer_name or (name or None)
        confirmation = append_message(
            db,
            conversation,
            Sender.system,
            say(Text.message_received, conversation.language, number=ticket.tid),
            events=self.runtime.events,
        )
        confirmation.details = {
            DETAILS_KEY: {"ticket_id": str(ticket.id), "number": ticket.tid, "fingerprint": asked}
        }
        if conversation.waiting_since is not None:
            conversation.waiting_since = None
            announce.status_changed(db, self.runtime.events, conversation)
        await db.flush()
        return LeftMessage(ticket.id, ticket.tid, confirmation)

    def _text(self, message: str) -> str:
        text = message.strip()
        if not text:
            raise ValidationFailed("Write a message first.", details=[{"loc": ["body", "message"]}])
        limit = self.runtime.settings.max_message_chars
        if len(text) > limit:
            raise ValidationFailed(
                f"The message is too long: {len(text)} characters, at most {limit}.",
                details=[{"loc": ["body", "message"], "max_length": limit}],
            )
        return text


async def _serialised(db: AsyncSession, conversation: Conversation) -> None:
    """SQLite ignores FOR UPDATE; writing the row takes its write lock instead, so a concurrent request for
    the same chat (a double click) waits here until the first commits, then reads what it committed."""
    conversation.updated_at = utcnow()
    await db.flush()
    await db.refresh(conversation)


def fingerprint(message: str, email: str, name: str) -> str:
    return hashlib.sha256("\x00".join((message, email.strip().lower(), name)).encode()).hexdigest()


def repeat_of(messages: Sequence[Message], asked: str, since: datetime) -> Message | None:
    """The confirmation of the same message left since `since`, if any."""
    for m in reversed(messages):
        left: Any = (m.details or {}).get(DETAILS_KEY) if m.sender == Sender.system else None
        if isinstance(left, dict) and left.get("fingerprint") == asked and m.created_at >= since:
            return m
    return None


def transcript_of(messages: Sequence[Message]) -> list[tuple[str, str, datetime | None]]:
    """(sender, text, when) for the tickets service: what the customer saw, never staff's internal notes."""
    return [(m.sender, m.content, m.created_at) for m in messages if m.sender != Sender.note]
