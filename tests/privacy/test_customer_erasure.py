"""A customer's export and erasure through the API: after erasure no table and no index file holds their
e-mail or a sentence they wrote, while other customers' data stays."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, AuditLog, Role, Scope
from answerdesk.auth.service import AuditService
from answerdesk.chat.models import Conversation, Message
from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from answerdesk.tickets.faq import save_reply_as_faq
from answerdesk.tickets.models import Author, Draft, DraftStatus, TicketMessage
from tests.chat.support import add_document
from tests.factories import bearer, logged_in, make_key, make_member, make_org
from tests.knowledge.ingest_support import drain
from tests.privacy.support import API, files_containing, tables_containing
from tests.tickets.native import native_ticket

EMAIL = "Alice.Privacy@Example.org"
PHONE = "+44 20 7946 0958"
CHAT_SENTENCE = "My quuxwidget order for the Lisbon office never arrived last Tuesday."
CHAT_SECOND = "Please call me back about the zorbly invoice before Friday."
RATING_COMMENT = "The quuxwidget helper was wonderful and very quick."
TICKET_SENTENCE = "The quuxwidget parcel was returned to the depot in Porto."
FEEDBACK_COMMENT = "The quuxwidget answer ignored my Lisbon delivery entirely."
BOB_EMAIL = "bob@example.net"
BOB_SENTENCE = "Bob's router keeps dropping the connection every hour."
CHAT = "/api/v1/conversations"


async def start_chat(client: httpx.AsyncClient, headers: dict[str, str], **customer: str) -> str:
    response = await client.post(CHAT, headers=headers, json={"customer": customer})
    assert response.status_code == 201, response.text
    conversation_id: str = response.json()["id"]
    return conversation_id


async def say(client: httpx.AsyncClient, headers: dict[str, str], conversation_id: str, text: str) -> None:
    response = await client.post(
        f"{CHAT}/{conversation_id}/messages", headers=headers, json={"content": text}
    )
    assert response.status_code == 200, response.text


async def arrange(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> dict[str, Any]:
    org = await make_org(db)
    headers = bearer(await make_key(db, org))
    await add_document(
        runtime,
        org.id,
        "shipping.md",
        "# Shipping\n\nOrders ship within two days. Lost parcels are resent free.",
    )
    alice = await start_chat(client, headers, name="Alice Privacy", email=EMAIL, phone=PHONE)
    await say(client, headers, alice, CHAT_SENTENCE)
    await say(client, headers, alice, CHAT_SECOND)
    read = await client.get(f"{CHAT}/{alice}", headers=headers)
    answer = next(m for m in read.json()["messages"] if m["sender"] == "bot")
    thumbs = await client.post(
        f"{CHAT}/{alice}/feedback",
        headers=headers,
        json={"message_id": answer["id"], "helpful": False, "reason": "wrong", "comment": FEEDBACK_COMMENT},
    )
    assert thumbs.status_code in (200, 201), thumbs.text
    rated = await client.post(
        f"{CHAT}/{alice}/rating", headers=headers, json={"rating": 5, "comment": RATING_COMMENT}
    )
    assert rated.status_code == 200, rated.text
    # Another customer quoting her: his conversation stays, her words and address go from it.
    bob = await start_chat(client, headers, name="Bob", email=BOB_EMAIL)
    await say(client, headers, bob, f"My colleague {EMAIL.lower()} told me this. {CHAT_SENTENCE}")
    await say(client, headers, bob, BOB_SENTENCE)

    ticket = await native_ticket(
        runtime,
        org.id,
        TICKET_SENTENCE,
        subject="Quuxwidget order missing",
        client_email=EMAIL.lower(),
        client_name="Alice Privacy",
    )
    async with session_scope(runtime.sessionmaker) as s:
        s.add(
            TicketMessage(
                organization_id=org.id,
                ticket_id=ticket.id,
                author=Author.staff,
                content=f"Hi Alice, about your note: “{TICKET_SENTENCE}” We have resent it.",
            )
        )
        draft = Draft(
            organization_id=org.id,
            ticket_id=ticket.id,
            status=DraftStatus.sent,
            text="We have resent your parcel.",
            final_text="We have resent your parcel from our warehouse; it arrives within two days.",
            mode="extractive",
            trace={"query": TICKET_SENTENCE, "passages": []},
        )
        s.add(draft)
        # What other areas write about a customer (an audit target, here): swept too.
        AuditService(s).record("ticket.replied", organization_id=org.id, target=EMAIL.lower())
    async with session_scope(runtime.sessionmaker) as s:
        faq_id = await save_reply_as_faq(s, runtime, org.id, ticket.id, draft.id)
    await drain(runtime)
    async with runtime.sessionmaker() as s:
        await runtime.retriever.index_for(s, org.id)
    await runtime.retriever.wait_idle(org.id)
    return {"org": org, "headers": headers, "alice": alice, "bob": bob, "ticket": ticket, "faq_id": faq_id}


async def test_erasure_leaves_no_trace_in_any_table_or_index_file(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    setup = await arrange(client, db, runtime)
    org, headers = setup["org"], setup["headers"]
    index_dir = runtime.retriever.index_dir
    theirs = [EMAIL, PHONE, CHAT_SENTENCE, CHAT_SECOND, RATING_COMMENT, TICKET_SENTENCE, FEEDBACK_COMMENT]
    # The scans see what is there: before erasure her words are in the tables and the FAQ in the index files.
    before = await tables_containing(runtime, theirs)
    assert set(before) == set(theirs), before
    assert "quuxwidget" in files_containing(index_dir, ["quuxwidget"])

    exported = await client.post(f"{API}/export", headers=headers, json={"email": EMAIL.upper()})
    assert exported.status_code == 200, exported.text
    data = exported.json()
    # As held: the chat kept the address as typed (domain lowercased), the ticket in lowercase.
    emails = ["Alice.Privacy@example.org", EMAIL.lower()]
    assert data["contact"] == {"names": ["Alice Privacy"], "emails": emails, "phones": [PHONE]}
    [conversation] = data["conversations"]
    said = [m["content"] for m in conversation["messages"] if m["sender"] == "customer"]
    assert said == [CHAT_SENTENCE, CHAT_SECOND]
    assert any(m["sender"] == "bot" for m in conversation["messages"])
    assert data["ratings"] == [{"conversation_id": setup["alice"], "rating": 5, "comment": RATING_COMMENT}]
    [thumbs] = data["answer_feedback"]
    assert (thumbs["helpful"], thumbs["reason"], thumbs["comment"]) == (False, "wrong", FEEDBACK_COMMENT)
    [ticket] = data["tickets"]
    assert [m["author"] for m in ticket["messages"]] == ["customer", "staff"]
    assert ticket["messages"][0]["content"] == TICKET_SENTENCE

    erased = await client.post(f"{API}/erase", headers=headers, json={"email": f"  {EMAIL} "})
    assert erased.status_code == 200, erased.text
    counts = erased.json()
    assert counts["conversations"] == 1 and counts["tickets"] == 1 and counts["ratings"] == 1
    assert counts["messages"] >= 4  # two of hers, the bot's answers
    assert counts["ticket_messages"] == 2 and counts["drafts"] == 1 and counts["faq_documents"] == 1
    # Bob's message quoting her, and the bot's answer to it whose retrieval trace holds the quoted query.
    assert counts["scrubbed"]["message"] == 2
    assert counts["scrubbed"]["audit_log"] == 1
    await drain(runtime)  # the index refresh queued after the commit

    assert await tables_containing(runtime, [*theirs, "quuxwidget", "zorbly"]) == {}
    assert files_containing(index_dir, [*theirs, "quuxwidget", "zorbly"]) == {}
    assert any(index_dir.rglob("*.manifest.json"))  # the index is still there, without her

    # Bob keeps his conversation and his own words; the quote of her is marked as erased.
    async with runtime.sessionmaker() as s:
        bob_messages = (
            await s.scalars(
                sa.select(Message.content)
                .where(Message.conversation_id == uuid.UUID(setup["bob"]), Message.sender == "customer")
                .order_by(Message.seq)
            )
        ).all()
        assert bob_messages == ["My colleague [erased] told me this. [erased]", BOB_SENTENCE]
        audit = (
            await s.scalars(sa.select(AuditLog).where(AuditLog.action == "privacy.customer_erased"))
        ).one()
        assert audit.target == counts["email_hash"] and audit.organization_id == org.id
        assert await s.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 1

    again = await client.post(f"{API}/export", headers=headers, json={"email": EMAIL})
    assert again.json()["conversations"] == [] and again.json()["tickets"] == []


async def test_privacy_api_needs_admin_rights_and_a_real_email(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    chat_key = await make_key(db, org, scopes=[Scope.chat, Scope.tickets])
    public_key = await make_key(db, org, kind=ApiKeyKind.public, origins=["https://shop.example"])
    for token in (chat_key, public_key):
        response = await client.post(f"{API}/erase", headers=bearer(token), json={"email": "a@b.example"})
        assert response.status_code in (401, 403), response.text
        assert "error" in response.json()
    staff = await make_member(db, org, Role.staff)
    session = await logged_in(client, staff.user.email)
    response = await client.post(f"{API}/export", headers=session.headers(), json={"email": "a@b.example"})
    assert response.status_code == 403
    admin_key = await make_key(db, org)
    bad = await client.post(f"{API}/erase", headers=bearer(admin_key), json={"email": "not an address"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    nothing = await client.post(f"{API}/erase", headers=bearer(admin_key), json={"email": "nobody@b.example"})
    assert nothing.status_code == 200 and nothing.json()["conversations"] == 0
