"""FAQ phrasings: other ways customers ask an FAQ question, typed by staff or learned from helpful answers,
folded into the question's vector so near-synonym entries are told apart."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.kit.db import session_scope
from answerdesk.knowledge.models import Chunk, Document, FaqPhrasing, PhrasingSource
from answerdesk.knowledge.phrasings import PhrasingService
from answerdesk.knowledge.question_vectors import MAX_PER_QUESTION, question_vector
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from tests.chat.support import API as CHAT
from tests.factories import bearer, make_key
from tests.knowledge.ingest_support import API, Kb, make_kb

# Two entries MiniLM barely tells apart: ASKED lands on "get" without phrasings (cosine blend 0.690 vs
# 0.678), on "check" with them (0.760).
CHECK = {
    "question": "check invoice #85632",
    "answer": "Open Billing, then Invoices, to see each invoice's status.",
}
GET = {"question": "get invoice #37777", "answer": "Open Billing, then Invoices, and press Download PDF."}
CHECK_PHRASINGS = [
    "I want to see my invoices",
    "where can I find my bills",
    "help me locate the invoice from last month",
    "can you show me the invoices of my account",
]
ASKED = "where do I find my invoices"
ORIGIN = "https://shop.example.com"


@pytest.fixture
async def kb(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> Kb:
    return await make_kb(client, db, runtime)


async def faq(kb: Kb, body: dict[str, Any]) -> str:
    response = await kb.client.post(f"{API}/faqs", headers=kb.headers, json=body)
    assert response.status_code == 202, response.text
    doc_id: str = response.json()["id"]
    await kb.ready(doc_id)
    return doc_id


async def phrasings(kb: Kb, doc_id: str) -> list[dict[str, Any]]:
    response = await kb.client.get(f"{API}/documents/{doc_id}/phrasings", headers=kb.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def first_hit(kb: Kb, query: str) -> str:
    document_id: str = (await kb.search(query, k=2))[0]["document_id"]
    return document_id


async def question_vector_of(runtime: Runtime, doc_id: str) -> np.ndarray:
    async with session_scope(runtime.sessionmaker) as db:
        blob = await db.scalar(
            sa.select(Chunk.question_embedding).where(Chunk.document_id == uuid.UUID(doc_id))
        )
    assert blob is not None
    return np.frombuffer(blob, dtype="<f4")


def same_vector(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to int8 quantisation, whose activation scale depends on what was embedded in one batch."""
    return float(a @ b) / float(np.linalg.norm(a) * np.linalg.norm(b)) > 0.995  # the question alone: ~0.83


async def chunk_question_vector(runtime: Runtime, chunk_id: int) -> np.ndarray:
    async with session_scope(runtime.sessionmaker) as db:
        blob = await db.scalar(sa.select(Chunk.question_embedding).where(Chunk.id == chunk_id))
    assert blob is not None
    return np.frombuffer(blob, dtype="<f4")


async def test_staff_phrasings_tell_near_synonym_entries_apart(kb: Kb, runtime: Runtime) -> None:
    check_id = await faq(kb, CHECK)
    get_id = await faq(kb, GET)
    assert await first_hit(kb, ASKED) == get_id  # one vector per question: the wrong entry

    edit = await kb.client.put(
        f"{API}/faqs/{check_id}", headers=kb.headers, json={**CHECK, "phrasings": [*CHECK_PHRASINGS, "  "]}
    )
    assert edit.status_code == 202, edit.text
    await kb.ready(check_id)
    listed = await phrasings(kb, check_id)
    assert [(p["text"], p["source"]) for p in listed] == [(t, "staff") for t in CHECK_PHRASINGS]
    assert await first_hit(kb, ASKED) == check_id

    # The stored question vector is the question's folded with its phrasings', as ingestion makes it.
    embedder = await runtime.embedder()
    expected = question_vector(embedder.embed([CHECK["question"]])[0], embedder.embed(CHECK_PHRASINGS))
    assert same_vector(await question_vector_of(runtime, check_id), expected)

    # Leaving phrasings out keeps them; rewording the question keeps them with it.
    reworded = {**CHECK, "question": "check the status of invoice #85632"}
    assert (
        await kb.client.put(f"{API}/faqs/{check_id}", headers=kb.headers, json=reworded)
    ).status_code == 202
    await kb.ready(check_id)
    assert len(await phrasings(kb, check_id)) == len(CHECK_PHRASINGS)
    assert await first_hit(kb, ASKED) == check_id

    # An empty list removes them, and the entry is matched by its question alone again.
    cleared = await kb.client.put(
        f"{API}/faqs/{check_id}", headers=kb.headers, json={**CHECK, "phrasings": []}
    )
    assert cleared.status_code == 202
    await kb.ready(check_id)
    assert await phrasings(kb, check_id) == []
    assert same_vector(await question_vector_of(runtime, check_id), embedder.embed([CHECK["question"]])[0])


async def test_one_phrasing_can_be_removed_and_others_are_not_reachable(
    client: httpx.AsyncClient, db: AsyncSession, kb: Kb, runtime: Runtime
) -> None:
    doc_id = await faq(kb, {**CHECK, "phrasings": CHECK_PHRASINGS[:2]})
    first, second = await phrasings(kb, doc_id)
    gone = await kb.client.delete(f"{API}/documents/{doc_id}/phrasings/{first['id']}", headers=kb.headers)
    assert gone.status_code == 204
    await kb.ready(doc_id)
    assert [p["id"] for p in await phrasings(kb, doc_id)] == [second["id"]]
    embedder = await runtime.embedder()
    expected = question_vector(embedder.embed([CHECK["question"]])[0], embedder.embed([second["text"]]))
    assert same_vector(await question_vector_of(runtime, doc_id), expected)

    again = await kb.client.delete(f"{API}/documents/{doc_id}/phrasings/{first['id']}", headers=kb.headers)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    other = await make_kb(client, db, runtime, "Other org")
    for response in (
        await other.client.get(f"{API}/documents/{doc_id}/phrasings", headers=other.headers),
        await other.client.delete(
            f"{API}/documents/{doc_id}/phrasings/{second['id']}", headers=other.headers
        ),
    ):
        assert response.status_code == 404, response.text
    assert len(await phrasings(kb, doc_id)) == 1


async def test_phrasings_are_bounded(kb: Kb) -> None:
    too_many = [f"another way to ask number {i}" for i in range(MAX_PER_QUESTION + 1)]
    for bad in (too_many, ["x" * 501]):
        response = await kb.client.post(f"{API}/faqs", headers=kb.headers, json={**CHECK, "phrasings": bad})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "validation_error"
    assert await kb.docs() == []


async def _ask(
    client: httpx.AsyncClient, headers: dict[str, str], question: str, email: str | None = None
) -> tuple[str, dict[str, Any]]:
    started = await client.post(CHAT, headers=headers, json={"customer": {"email": email}} if email else None)
    assert started.status_code == 201, started.text
    cid = started.json()["id"]
    headers = {**headers, "X-Conversation-Token": started.json()["token"]}
    reply = await client.post(f"{CHAT}/{cid}/messages", headers=headers, json={"content": question})
    assert reply.status_code == 200, reply.text
    return cid, {"headers": headers, **reply.json()}


async def _rate(client: httpx.AsyncClient, cid: str, reply: dict[str, Any], helpful: bool) -> None:
    response = await client.post(
        f"{CHAT}/{cid}/feedback",
        headers=reply["headers"],
        json={"message_id": reply["message"]["id"], "helpful": helpful},
    )
    assert response.status_code == 200, response.text


async def test_an_answer_rated_helpful_teaches_its_faq_entry(
    client: httpx.AsyncClient, db: AsyncSession, kb: Kb, runtime: Runtime
) -> None:
    doc_id = await faq(kb, CHECK)
    await faq(kb, GET)
    org = await db.get_one(Organization, kb.organization_id)
    public = {**bearer(await make_key(db, org, ApiKeyKind.public, origins=[ORIGIN])), "Origin": ORIGIN}

    asked = "I need to look at the status of my invoice, mail me at jo@example.org"
    cid, reply = await _ask(client, public, asked)
    cited = {c["document_id"] for c in reply["message"]["citations"]}
    assert doc_id in cited, reply["message"]
    await _rate(client, cid, reply, True)
    await kb.ready(doc_id)
    (learned,) = await phrasings(kb, doc_id)
    assert learned["source"] == "learned"
    assert "jo@example.org" not in learned["text"] and "status of my invoice" in learned["text"]
    embedder = await runtime.embedder()
    expected = question_vector(embedder.embed([CHECK["question"]])[0], embedder.embed([learned["text"]]))
    assert same_vector(await question_vector_of(runtime, doc_id), expected)

    # Rated again the same way: nothing more; changed to unhelpful: taken back.
    await _rate(client, cid, reply, True)
    assert len(await phrasings(kb, doc_id)) == 1
    await _rate(client, cid, reply, False)
    await kb.ready(doc_id)
    assert await phrasings(kb, doc_id) == []

    # An FAQ question asked word for word adds nothing new.
    pay = await faq(
        kb, {"question": "How do I pay an invoice by bank transfer?", "answer": "Use IBAN DE00 1234."}
    )
    cid, reply = await _ask(client, public, "How do I pay an invoice by bank transfer?")
    assert pay in {c["document_id"] for c in reply["message"]["citations"]}, reply["message"]
    await _rate(client, cid, reply, True)
    assert await phrasings(kb, pay) == []


async def test_erasing_the_customer_removes_what_was_learned_from_them(
    client: httpx.AsyncClient, db: AsyncSession, kb: Kb, runtime: Runtime
) -> None:
    doc_id = await faq(kb, CHECK)
    org = await db.get_one(Organization, kb.organization_id)
    public = {**bearer(await make_key(db, org, ApiKeyKind.public, origins=[ORIGIN])), "Origin": ORIGIN}
    cid, reply = await _ask(
        client, public, "how can I see whether my invoice was paid", "erase.me@example.org"
    )
    await _rate(client, cid, reply, True)
    await kb.ready(doc_id)
    assert len(await phrasings(kb, doc_id)) == 1

    erased = await client.post(
        "/api/v1/privacy/erase", headers=kb.headers, json={"email": "erase.me@example.org"}
    )
    assert erased.status_code == 200, erased.text
    await kb.ready(doc_id)
    assert await phrasings(kb, doc_id) == []
    async with session_scope(runtime.sessionmaker) as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(FaqPhrasing)) == 0
    embedder = await runtime.embedder()
    assert same_vector(await question_vector_of(runtime, doc_id), embedder.embed([CHECK["question"]])[0])


async def test_an_faq_file_brings_its_own_phrasings_and_keeps_learned_ones(kb: Kb, runtime: Runtime) -> None:
    entries = [
        {**CHECK, "phrasings": CHECK_PHRASINGS},
        {**GET},
    ]
    data = json.dumps(entries).encode()
    doc_id = await kb.upload_ok("faq.json", data, "application/json")
    await kb.ready(doc_id)
    check_chunk = next(r for r in await kb.search(CHECK["question"], k=2) if CHECK["question"] in r["text"])
    assert await first_hit(kb, ASKED) == doc_id  # one document: compare the chunk instead
    assert (await kb.search(ASKED, k=1))[0]["chunk_id"] == check_chunk["chunk_id"]
    embedder = await runtime.embedder()
    expected = question_vector(embedder.embed([CHECK["question"]])[0], embedder.embed(CHECK_PHRASINGS))
    assert same_vector(await chunk_question_vector(runtime, check_chunk["chunk_id"]), expected)

    # A phrasing learned on a file's entry outlives a re-upload that keeps the question.
    async with session_scope(runtime.sessionmaker) as db:
        [learned] = await PhrasingService(db, runtime).add(
            kb.organization_id,
            check_chunk["chunk_id"],
            ["status of the bill I got"],
            source=PhrasingSource.learned,
        )
    await kb.ready(doc_id)
    again = await kb.upload_ok(
        "faq.json", json.dumps([*entries, {"q": "New?", "a": "Yes."}]).encode(), "application/json"
    )
    assert again == doc_id
    await kb.ready(doc_id)
    assert [p["text"] for p in await phrasings(kb, doc_id)] == [learned.text]
    chunk = next(r for r in await kb.search(CHECK["question"], k=3) if CHECK["question"] in r["text"])
    expected = question_vector(
        embedder.embed([CHECK["question"]])[0], embedder.embed([*CHECK_PHRASINGS, learned.text])
    )
    assert same_vector(await chunk_question_vector(runtime, chunk["chunk_id"]), expected)


async def test_phrasings_learned_close_together_share_one_reingestion(kb: Kb, runtime: Runtime) -> None:
    runtime.settings.phrasing_delay_seconds = 0.3
    doc_id = await faq(kb, CHECK)
    revision = (await kb.doc(doc_id))["updated_at"]
    chunk_id = (await kb.search(CHECK["question"], k=1))[0]["chunk_id"]
    learned = ["I want to see my invoices", "where can I find my bills"]
    for text in learned:  # two customers rate their answers helpful, a moment apart
        async with session_scope(runtime.sessionmaker) as db:
            assert await PhrasingService(db, runtime).add(
                kb.organization_id, chunk_id, [text], source=PhrasingSource.learned
            )
    async with session_scope(runtime.sessionmaker) as db:
        doc = await db.get_one(Document, uuid.UUID(doc_id))
        assert doc.revision == 1 and doc.status == "ready"  # nothing re-ingested yet
    await kb.ready(doc_id)
    async with session_scope(runtime.sessionmaker) as db:
        doc = await db.get_one(Document, uuid.UUID(doc_id))
        assert doc.revision == 2  # one re-ingestion took both
    assert (await kb.doc(doc_id))["updated_at"] != revision
    new_chunk = (await kb.search(CHECK["question"], k=1))[0]["chunk_id"]
    embedder = await runtime.embedder()
    expected = question_vector(embedder.embed([CHECK["question"]])[0], embedder.embed(learned))
    assert same_vector(await chunk_question_vector(runtime, new_chunk), expected)
