"""Helpers for the backup tests (no tests here): an instance with every kind of data, and its picture."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from answerdesk.auth.service import Principal
from answerdesk.backups import dumps, repository
from answerdesk.chat.models import Channel, Conversation, Message
from answerdesk.chat.schemas import ConversationCreate
from answerdesk.chat.service import ChatService
from answerdesk.kit.db import session_scope
from answerdesk.knowledge.models import Document
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import Ticket, TicketMessage
from tests.chat.support import add_document
from tests.factories import make_member, make_org
from tests.tickets.native import native_ticket

REFUNDS = "# Refunds\n\nWe refund hosting plans within 30 days. Ask billing to refund an invoice.\n"
SSL = "# SSL certificates\n\nAutoSSL renews every certificate 30 days before it expires.\n"
QUERIES = ("how do I get a refund", "when is my ssl certificate renewed")


async def seed(runtime: Runtime) -> uuid.UUID:
    """An organization with a member, two ingested documents, a chat with its answer, and a ticket."""
    async with runtime.sessionmaker() as db:
        org = await make_org(db, "Acme Hosting")
        await make_member(db, org)
    await add_document(runtime, org.id, "refunds.md", REFUNDS)
    await add_document(runtime, org.id, "ssl.md", SSL)
    chat = ChatService(runtime)
    async with session_scope(runtime.sessionmaker) as db:
        conversation, _ = await chat.start(db, org.id, ConversationCreate(), Channel.api)
        caller = Principal(organization_id=org.id, kind="secret", scopes=frozenset({"chat"}))
        accepted = await chat.accept(db, caller, conversation.id, None, QUERIES[0])
    await chat.answer(accepted)
    await native_ticket(runtime, org.id, "Please refund my last invoice.")
    return org.id


async def picture(runtime: Runtime, org_id: uuid.UUID) -> dict[str, Any]:
    """What must come back: rows that matter, originals' bytes, and the search hits."""
    async with runtime.sessionmaker() as db:
        docs = (await db.scalars(sa.select(Document).order_by(Document.title))).all()
        originals = {d.storage_key: await runtime.storage.get(d.storage_key) for d in docs if d.storage_key}
        messages = await db.execute(
            sa.select(Message.sender, Message.content, Message.citations)
            .join(Conversation)
            .order_by(Message.seq)
        )
        tickets = await db.execute(sa.select(Ticket.subject, Ticket.tid).order_by(Ticket.tid))
        ticket_messages = await db.scalars(sa.select(TicketMessage.content))
        hits = {
            q: [(r.hit.chunk_id, r.hit.text) for r in await runtime.retriever.search(db, org_id, q, k=3)]
            for q in QUERIES
        }
    return {
        "documents": [(d.id, d.title, d.status, d.chunk_count) for d in docs],
        "originals": originals,
        "messages": [tuple(r) for r in messages],
        "tickets": [tuple(r) for r in tickets],
        "ticket_messages": list(ticket_messages),
        "hits": hits,
    }


async def counts(runtime: Runtime) -> dict[str, int]:
    return await dumps.run_sync_on(runtime.engine, repository.table_counts)
