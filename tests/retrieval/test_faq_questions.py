"""FAQ-question vectors: stored at ingestion, backfilled for older FAQ chunks, matched without embedding."""

from __future__ import annotations

import json

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.knowledge.chunk import split_faq
from answerdesk.knowledge.models import Chunk
from answerdesk.runtime import Runtime
from tests.chat.support import add_document
from tests.factories import make_org

FAQ = [
    {"question": "How do I reset my password?", "answer": "Use 'Forgot password' on the login page."},
    {"question": "Which payment methods do you accept?", "answer": "Cards, PayPal and bank transfer."},
    {"question": "How long does delivery take?", "answer": "Two to three working days."},
]
GUIDE = "# Shipping\n\nParcels leave the warehouse the same day when ordered before 2 pm on a weekday.\n"


async def faq_chunks(db: AsyncSession, organization_id: object) -> list[Chunk]:
    await db.commit()  # a fresh snapshot on SQLite
    return list(
        await db.scalars(
            sa.select(Chunk).where(Chunk.organization_id == organization_id, Chunk.kind == "faq")
        )
    )


async def test_ingestion_stores_each_faq_question_vector(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)
    await add_document(runtime, org.id, "faq.json", json.dumps(FAQ))
    await add_document(runtime, org.id, "guide.md", GUIDE)
    chunks = await faq_chunks(db, org.id)
    assert len(chunks) == len(FAQ)
    embedder = await runtime.embedder()
    for chunk in chunks:
        qa = split_faq(chunk.text)
        assert qa is not None and chunk.question_embedding is not None
        stored = np.frombuffer(chunk.question_embedding, dtype="<f4")
        # int8 ONNX in a batch of another length pads differently: near 1, not exactly 1.
        assert float(stored @ embedder.embed([qa[0]])[0]) > 0.98
    text_chunks = await db.scalars(
        sa.select(Chunk).where(Chunk.organization_id == org.id, Chunk.kind == "text")
    )
    assert all(c.question_embedding is None for c in text_chunks)


async def test_a_paraphrase_finds_its_faq_by_the_question_alone(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)
    await add_document(runtime, org.id, "faq.json", json.dumps(FAQ))
    await add_document(runtime, org.id, "guide.md", GUIDE)
    found = await runtime.retriever.search(db, org.id, "i forgot my login password", k=3)
    assert found[0].hit.kind == "faq" and "reset my password" in found[0].hit.text
    # The question's cosine comes with the hit, well above the whole entry's.
    assert found[0].question_score is not None and found[0].dense_score is not None
    assert found[0].question_score > found[0].dense_score
    assert found[0].similarity == found[0].question_score
    assert all(r.question_score is None for r in found if r.hit.kind == "text")


async def test_faq_chunks_ingested_without_question_vectors_are_backfilled_at_index_build(
    db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    await add_document(runtime, org.id, "faq.json", json.dumps(FAQ))
    # As ingested before chunks carried question vectors.
    await db.execute(sa.update(Chunk).where(Chunk.organization_id == org.id).values(question_embedding=None))
    await db.commit()
    runtime.retriever.forget(org.id)

    found = await runtime.retriever.search(db, org.id, "what can I pay with", k=3)
    assert "payment methods" in found[0].hit.text
    assert found[0].question_score is not None  # matched by its question, embedded at the rebuild
    await runtime.retriever.wait_idle(org.id)
    stored = [c.question_embedding for c in await faq_chunks(db, org.id)]
    assert all(blob is not None and len(blob) == 384 * 4 for blob in stored)
