"""Knowledge gaps end to end: chat questions the bot fell short on, grouped and ranked by the API, an FAQ
drafted from a staff reply (personal data removed), created, and the group marked answered."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.live import LiveChatService
from answerdesk.chat.models import Message, Sender
from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from tests.chat.support import API, Chat, add_document, make_chat
from tests.factories import bearer, make_key, make_member, make_org
from tests.knowledge.ingest_support import wait_for

GAPS = "/api/v1/analytics/gaps"
WINDOWS = ["Do you offer Windows VPS?", "Is Windows hosting available?", "do you have windows vps plans"]
PAYPAL = ["Can I pay with PayPal?", "Do you accept paypal payments"]
IN_SCOPE = "How do I point my domain to your nameservers?"
DNS = """# Nameservers

To point your domain to our nameservers, log in to your registrar and replace the nameservers with
ns1.example-host.com and ns2.example-host.com. The change takes up to 24 hours to spread.

# Checking the change

Run a DNS lookup for your domain: when it shows ns1.example-host.com, the change has worked.
"""


async def _ask(chat: Chat, question: str, **customer: str) -> tuple[str, dict[str, Any]]:
    cid, _ = await chat.start(**({"customer": customer} if customer else {}))
    response = await chat.send(cid, question)
    assert response.status_code == 200, response.text
    return cid, response.json()


async def test_gaps_are_grouped_ranked_and_answered_by_a_new_faq(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    # A help centre that knows about nameservers only: Windows and PayPal questions are refused.
    chat = await make_chat(client, db, runtime, seed=False)
    await add_document(runtime, chat.organization_id, "dns.md", DNS)
    admin = await make_member(db, await _org(db, chat))
    for question in WINDOWS:
        await _ask(chat, question)
    paypal_cid, _ = await _ask(chat, PAYPAL[0], name="Jane Roe", email="jane@roe-family.net")
    await _ask(chat, PAYPAL[1])
    # An answer the customer did not like is a gap too, even though the bot had one.
    rated_cid, rated = await _ask(chat, IN_SCOPE)
    assert rated["message"]["mode"] == "extractive" and rated["citations"]
    feedback = await client.post(
        f"{API}/{rated_cid}/feedback",
        headers=chat.headers,
        json={"message_id": rated["message"]["id"], "helpful": False, "reason": "not_asked"},
    )
    assert feedback.status_code == 200, feedback.text
    liked_cid, liked = await _ask(chat, "How do I point my domain to your nameservers please?")
    await client.post(
        f"{API}/{liked_cid}/feedback",
        headers=chat.headers,
        json={"message_id": liked["message"]["id"], "helpful": True},
    )

    # The question's search vector was stored when it was answered: nothing is embedded at report time.
    async with session_scope(runtime.sessionmaker) as session:
        rows = (
            await session.scalars(
                sa.select(Message).where(
                    Message.organization_id == chat.organization_id, Message.sender == Sender.customer
                )
            )
        ).all()
        assert rows and all(m.query_embedding is not None and len(m.query_embedding) == 384 * 4 for m in rows)

    report = await client.get(GAPS, headers=chat.headers)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["questions"] == 6 and body["truncated"] is False
    groups = body["groups"]
    windows, paypal = groups[0], groups[1]
    assert windows["customers"] == 3 and windows["status"] == "open"
    assert sorted(e["text"] for e in windows["examples"]) == sorted(WINDOWS)
    assert windows["reasons"] == {"refused": 3}
    assert paypal["customers"] == 2 and sorted(e["text"] for e in paypal["examples"]) == sorted(PAYPAL)
    unhelpful = next(g for g in groups if g["question"] == IN_SCOPE)
    assert unhelpful["reasons"] == {"unhelpful": 1} and unhelpful["customers"] == 1
    assert all("please?" not in g["question"] for g in groups)  # the liked answer is no gap

    # A staff reply in one of those conversations becomes the draft, without the customer's data.
    await _staff_reply(
        runtime, chat, paypal_cid, admin.user_id,
        "Hi Jane, yes: we accept PayPal at checkout for roe-family.net and every other order. Regards, Tom",
    )  # fmt: skip
    draft = await client.get(f"{GAPS}/{paypal['key']}/draft", headers=chat.headers)
    assert draft.status_code == 200, draft.text
    assert draft.json()["source"] == "staff"
    assert "PayPal at checkout" in draft.json()["answer"]
    assert "Jane" not in draft.json()["answer"] and "roe-family.net" not in draft.json()["answer"]
    assert draft.json()["question"] in PAYPAL

    created = await client.post(
        f"{GAPS}/faq",
        headers=chat.headers,
        json={
            "question": "Can I pay with PayPal?",
            "answer": draft.json()["answer"],
            "message_ids": [e["message_id"] for e in paypal["examples"]],
        },
    )
    assert created.status_code == 202, created.text
    doc_id = created.json()["id"]

    async def ready() -> bool:
        doc = (await client.get(f"/api/v1/knowledge/documents/{doc_id}", headers=chat.headers)).json()
        return bool(doc["status"] == "ready")

    await wait_for(ready, "the gap's FAQ is ingested")
    # The ways customers asked it are kept as the entry's phrasings.
    kept = (await client.get(f"/api/v1/knowledge/documents/{doc_id}/phrasings", headers=chat.headers)).json()
    assert sorted(p["text"] for p in kept) == sorted(PAYPAL) and {p["source"] for p in kept} == {"gap"}
    after = (await client.get(GAPS, headers=chat.headers)).json()["groups"]
    answered = next(g for g in after if g["key"] == paypal["key"])
    assert answered["status"] == "answered" and answered["faq_document_id"] == doc_id
    assert after[-1]["key"] == paypal["key"]  # answered groups come after the open ones
    # New questions like it now get the FAQ, so they are no gap any more.
    _, again = await _ask(chat, "Can I pay with PayPal?")
    assert again["message"]["mode"] == "faq", again["message"]
    assert "PayPal at checkout" in again["message"]["content"]
    still = next(
        g
        for g in (await client.get(GAPS, headers=chat.headers)).json()["groups"]
        if g["key"] == paypal["key"]
    )
    assert still["status"] == "answered" and still["asked_since_answer"] == 0


async def test_gaps_are_per_organization_and_need_the_knowledge_scope(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    _, reply = await _ask(chat, "Do you offer Windows VPS?")
    assert reply["message"]["mode"] == "no_answer"
    assert len((await client.get(GAPS, headers=chat.headers)).json()["groups"]) == 1

    other = await make_org(db)
    other_headers = bearer(await make_key(db, other))
    assert (await client.get(GAPS, headers=other_headers)).json()["groups"] == []
    key = (await client.get(GAPS, headers=chat.headers)).json()["groups"][0]["key"]
    missing = await client.get(f"{GAPS}/{key}/draft", headers=other_headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    # Another organization's question ids are ignored, not linked.
    made = await client.post(
        f"{GAPS}/faq",
        headers=other_headers,
        json={"question": "Windows?", "answer": "No.", "message_ids": [key]},
    )
    assert made.status_code == 202
    mine = (await client.get(GAPS, headers=chat.headers)).json()["groups"][0]
    assert mine["status"] == "open" and mine["faq_document_id"] is None

    chat_only = bearer(await make_key(db, await _org(db, chat), scopes=["chat"]))
    refused = await client.get(GAPS, headers=chat_only)
    assert refused.status_code == 403
    for bad in ("?days=0", "?days=366", "?limit=0"):
        assert (await client.get(GAPS + bad, headers=chat.headers)).status_code == 422
    assert (await client.get(f"{GAPS}/{uuid.uuid4()}/draft", headers=chat.headers)).status_code == 404


async def _org(db: AsyncSession, chat: Chat) -> Any:
    from answerdesk.tenants.service import OrganizationService

    return await OrganizationService(db).get(chat.organization_id)


async def _staff_reply(runtime: Runtime, chat: Chat, cid: str, user_id: uuid.UUID, text: str) -> None:
    service = LiveChatService(runtime)
    async with session_scope(runtime.sessionmaker) as session:
        staff = await service.staff(session, chat.organization_id, user_id)
        await service.reply(session, chat.organization_id, uuid.UUID(cid), staff, text)


async def test_questions_from_before_vectors_were_stored_are_embedded_once(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    for question in WINDOWS:
        await _ask(chat, question)
    # Rows answered before this release have no vector.
    async with session_scope(runtime.sessionmaker) as session:
        await session.execute(
            sa.update(Message)
            .where(Message.organization_id == chat.organization_id)
            .values(query_embedding=None)
        )
    groups = (await client.get(GAPS, headers=chat.headers)).json()["groups"]
    assert len(groups) == 1 and groups[0]["customers"] == 3
    async with session_scope(runtime.sessionmaker) as session:
        stored = (
            await session.scalars(
                sa.select(Message.query_embedding).where(
                    Message.organization_id == chat.organization_id, Message.sender == Sender.customer
                )
            )
        ).all()
    assert len(stored) == 3 and all(v is not None and len(v) == 384 * 4 for v in stored)
