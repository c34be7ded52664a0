"""Messages appended to one conversation at the same moment (a customer's follow-up while the bot's answer
is stored, two workers) each get their own seq, on SQLite as on PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import Sender
from answerdesk.chat.repository import ConversationRepository
from answerdesk.chat.service import append_message
from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from tests.chat.live_support import live_org, start_conversation
from tests.chat.support import stored_messages


async def test_concurrent_appends_take_distinct_seqs(db: AsyncSession, runtime: Runtime) -> None:
    org = await live_org(db)
    cid, _ = await start_conversation(runtime, org)

    async def append(text: str) -> None:
        async with session_scope(runtime.sessionmaker) as session:
            conversation = await ConversationRepository(session).get(org.id, cid, for_update=True)
            assert conversation is not None
            append_message(session, conversation, Sender.customer, text)
            await asyncio.sleep(0.01)  # the others read the conversation meanwhile, unless locked out
            await session.flush()

    await asyncio.gather(*(append(f"message {n}") for n in range(6)))

    messages = await stored_messages(runtime, str(cid))
    assert sorted(m.seq for m in messages) == list(range(1, 7))
    async with session_scope(runtime.sessionmaker) as session:
        conversation = await ConversationRepository(session).get(org.id, cid)
        assert conversation is not None and conversation.message_count == 6
