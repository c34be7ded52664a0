"""kit.db.insert_built: a row written at once through Core, its instance detached and whole."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import Channel, Message, Sender
from answerdesk.chat.repository import MessageRepository
from answerdesk.chat.schemas import ConversationCreate, MessageRead
from answerdesk.chat.service import ChatService, counted_message
from answerdesk.kit.db import insert_built, utcnow
from answerdesk.runtime import Runtime
from tests.factories import make_org


async def test_a_message_is_written_at_once_and_reads_whole(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)
    conversation, _ = await ChatService(runtime).start(db, org.id, ConversationCreate(), Channel.api)
    conversation.message_count += 1
    message = await MessageRepository(db).insert(
        counted_message(conversation, Sender.customer, "Is my domain renewed?", language="en")
    )

    assert sa.inspect(message).detached
    read = MessageRead.model_validate(message)  # every field readable: none would load from the database
    assert (read.seq, read.content, read.mode) == (1, "Is my domain renewed?", None)
    stored = await db.scalar(sa.select(Message).where(Message.id == message.id))
    assert stored is not None
    assert (stored.language, stored.citations, stored.details, stored.model) == ("en", [], {}, None)


async def test_a_column_with_another_default_must_be_set(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)
    conversation, _ = await ChatService(runtime).start(db, org.id, ConversationCreate(), Channel.api)
    unset_citations = Message(
        id=uuid.uuid4(),
        created_at=utcnow(),
        organization_id=org.id,
        conversation_id=conversation.id,
        seq=1,
        sender=Sender.customer,
        content="hello",
        suggestions=[],
        frustrated=False,
        details={},
    )
    with pytest.raises(TypeError, match="citations"):
        await insert_built(db, unset_citations)
    written = sa.select(sa.func.count()).where(Message.conversation_id == conversation.id)
    assert await db.scalar(written) == 0
