"""A ticket from the chat widget's "leave a message": classified, transcript as a note, a draft queued."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.errors import ValidationFailed
from answerdesk.kit.jobs import InProcessQueue
from answerdesk.runtime import Runtime
from answerdesk.tickets.service import TicketService, subject_from_message, transcript_note
from tests.tickets.support import drafts_of, make_tenant, messages_of


def test_subject_is_the_first_line_cut_at_a_word() -> None:
    assert subject_from_message("\n  My site is down\nsince noon") == "My site is down"
    long = "Please help " * 20
    subject = subject_from_message(long)
    assert subject.endswith("…") and len(subject) <= 81 and not subject[:-1].endswith(" ")


def test_transcript_note_names_the_speakers() -> None:
    at = utcnow().replace(hour=14, minute=2)
    note = transcript_note(
        [("visitor", "Is my site down?", at), ("assistant", "Let me check.", None), ("agent", "Hi!", at)],
        customer_name="Ann",
        conversation_id="c-1",
    )
    assert note.splitlines() == [
        "Chat transcript (conversation c-1):",
        f"[{at:%Y-%m-%d} 14:02] Ann: Is my site down?",
        "Assistant: Let me check.",
        f"[{at:%Y-%m-%d} 14:02] Staff: Hi!",
    ]


async def test_create_from_conversation(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_tenant(db)
    conversation_id = uuid.uuid4()
    earlier = utcnow() - timedelta(minutes=5)
    async with session_scope(runtime.sessionmaker) as session:
        ticket = await TicketService(session, runtime).create_from_conversation(
            org.id,
            customer_name=" Ann Lee ",
            customer_email="ann@example.com",
            message="My email is not working and mail bounces, this is urgent!",
            transcript=[
                ("visitor", "Why does my mail bounce?", earlier),
                ("assistant", "I could not find an answer.", earlier + timedelta(seconds=3)),
            ],
            conversation_id=conversation_id,
        )
    assert ticket.source == "native" and ticket.status == "open" and ticket.awaiting_reply
    assert ticket.subject == "My email is not working and mail bounces, this is urgent!"
    assert ticket.category == "email" and ticket.priority == "urgent"
    assert ticket.client_name == "Ann Lee" and ticket.client_email == "ann@example.com"
    assert ticket.classification["reasons"][-1] == f"left from chat {conversation_id}"
    note, customer = await messages_of(runtime, ticket.id)
    assert note.author == "note" and str(conversation_id) in note.content
    assert "Ann Lee: Why does my mail bounce?" in note.content
    assert customer.author == "customer" and customer.content.startswith("My email is not working")
    assert isinstance(runtime.jobs, InProcessQueue)
    await runtime.jobs.drain(timeout=120)
    (draft,) = await drafts_of(runtime, ticket.id)
    assert draft.status == "draft" and draft.answers_message_id == customer.id


async def test_an_empty_message_is_refused(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_tenant(db)
    async with runtime.sessionmaker() as session:
        with pytest.raises(ValidationFailed):
            await TicketService(session, runtime).create_from_conversation(
                org.id, customer_name="", customer_email="a@b.example", message="  ", transcript=[]
            )
