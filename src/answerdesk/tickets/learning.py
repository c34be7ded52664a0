"""Learning from approved replies: remembered when staff send them, given to new drafts as examples,
and suggested as an FAQ once several answer the same kind of question.

What is remembered is what save-as-FAQ would keep (:func:`answerdesk.tickets.faq.faq_pair`: the question
condensed, both texts with the customer's personal data stripped) with the MiniLM vector of that question.
Search is a NumPy cosine over the organization's newest :data:`MEMORY_ROWS` rows: at a few thousand
384-float rows it takes about a millisecond, and the FAISS index in ``retrieval/`` is built for the
knowledge base's chunks (persisted, rebuilt on ingest), not for a small table that grows one row per reply.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import structlog
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.answers.prompt import ReplyExample
from answerdesk.kit.db import session_scope
from answerdesk.kit.errors import AppError, NotFound
from answerdesk.knowledge.embedding.base import Vectors
from answerdesk.knowledge.queueing import queue_ingest
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.runtime import Runtime
from answerdesk.tickets.faq import AUTO_SEND_LABEL, FAQ_TAG, answered_message, faq_pair, save_reply_as_faq
from answerdesk.tickets.models import ApprovedReply, Author, Draft, DraftStatus
from answerdesk.tickets.repository import (
    ApprovedReplyRepository,
    DraftRepository,
    MessageRepository,
    TicketRepository,
)

log = structlog.get_logger(__name__)

MEMORY_ROWS = 5000
# An example must be about the same thing: below this cosine (MiniLM, question to question) it would
# teach the model the wrong content. Measured on bench/data/learning (see bench/draft_examples.py).
EXAMPLE_MIN_SIMILARITY = 0.5
# Replies this close answer the same kind of question (a tighter cut than for examples: an FAQ is a claim).
CLUSTER_SIMILARITY = 0.6
MIN_CLUSTER = 3
TRACE_KEY = "examples"


def was_edited(draft: Draft) -> bool:
    """Staff changed the draft before sending (whitespace aside), or wrote the reply themselves."""
    if draft.mode == "manual":
        return True
    final = draft.final_text if draft.final_text is not None else draft.text
    return " ".join(final.split()) != " ".join(draft.text.split())


def to_blob(vector: Vectors) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def matrix_of(rows: Sequence[ApprovedReply], dim: int) -> NDArray[np.float32]:
    return _stack([row.embedding for row in rows], dim)


def _stack(blobs: Sequence[bytes], dim: int) -> NDArray[np.float32]:
    """The vectors stacked (one of another dimension, from another model, is zero: never similar)."""
    out = np.zeros((len(blobs), dim), dtype=np.float32)
    for i, blob in enumerate(blobs):
        vector = np.frombuffer(blob, dtype="<f4")
        if vector.shape == (dim,):
            out[i] = vector
    return out


def nearest(
    matrix: NDArray[np.float32], vector: NDArray[np.float32], k: int, min_similarity: float
) -> list[tuple[int, float]]:
    """(row, cosine) of the ``k`` rows nearest ``vector`` with at least ``min_similarity``, best first."""
    if k <= 0 or not len(matrix):
        return []
    scores = matrix @ np.asarray(vector, dtype=np.float32)
    order = np.argsort(-scores, kind="stable")[:k]
    return [(int(i), float(scores[i])) for i in order if scores[i] >= min_similarity]


def clusters(matrix: NDArray[np.float32], threshold: float, min_size: int) -> list[list[int]]:
    """Groups of at least ``min_size`` rows around a centre each is ``threshold``-similar to; centre first.

    Greedy: the row with the most neighbours (the most typical question) founds a group of itself and
    its neighbours, those rows leave, and so on. Each row ends in at most one group.
    """
    if len(matrix) < min_size:
        return []
    close = (matrix @ matrix.T) >= threshold
    free = np.ones(len(matrix), dtype=bool)
    groups: list[list[int]] = []
    while True:
        counts = (close & free[None, :] & free[:, None]).sum(axis=1)
        centre = int(np.argmax(counts))
        if counts[centre] < min_size:
            return groups
        members = [i for i in np.flatnonzero(close[centre] & free) if i != centre]
        groups.append([centre, *(int(i) for i in members)])
        free[centre] = False
        free[members] = False


# -- remembering -------------------------------------------------------------------------------------------


async def remember_approved(runtime: Runtime, organization_id: uuid.UUID, draft_id: uuid.UUID) -> bool:
    """After a reply was sent: remember it when a person approved it. True when a row was added.

    Runs in its own transaction and never raises: the reply has left already.
    """
    try:
        async with session_scope(runtime.sessionmaker) as db:
            memory = ApprovedReplyRepository(db)
            draft = await DraftRepository(db).get(organization_id, draft_id)
            # Auto-sent replies were never reviewed by a person: nothing to learn from yet.
            if (
                draft is None
                or draft.status != DraftStatus.sent
                or draft.approved_by in (None, AUTO_SEND_LABEL)
                or await memory.by_draft(organization_id, draft_id) is not None
            ):
                return False
            ticket = await TicketRepository(db).get(organization_id, draft.ticket_id)
            if ticket is None:
                return False
            messages = await MessageRepository(db).for_ticket(organization_id, ticket.id)
            pair = faq_pair(
                ticket,
                answered_message(draft, messages),
                draft.final_text or draft.text,
                [m.content for m in messages if m.author == Author.customer],
            )
            embedder = await runtime.embedder()
            vector = await asyncio.to_thread(embedder.embed_query, pair.question)
            memory.add(
                ApprovedReply(
                    organization_id=organization_id,
                    ticket_id=ticket.id,
                    draft_id=draft.id,
                    question=pair.question,
                    answer=pair.answer,
                    edited=was_edited(draft),
                    category=ticket.category,
                    embedding=to_blob(vector),
                )
            )
            await db.flush()
        log.info("tickets.reply_remembered", draft_id=str(draft_id))
        return True
    except Exception as exc:  # logged, not raised: the send itself succeeded
        log.warning("tickets.remember_failed", draft_id=str(draft_id), error=str(exc))
        return False


# -- examples for a new draft ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundExample:
    id: uuid.UUID
    similarity: float
    example: ReplyExample

    def trace(self) -> dict[str, object]:
        return {"id": str(self.id), "similarity": round(self.similarity, 4)}


async def similar_examples(
    runtime: Runtime,
    organization_id: uuid.UUID,
    vector: Vectors,
    *,
    exclude_ticket_id: uuid.UUID | None = None,
    k: int | None = None,
) -> list[FoundExample]:
    """The organization's approved replies to the questions most like ``vector``, most similar first."""
    k = runtime.settings.ticket_reply_examples if k is None else k
    if k <= 0:
        return []
    query = np.asarray(vector, dtype=np.float32)
    async with session_scope(runtime.sessionmaker) as db:
        memory = ApprovedReplyRepository(db)
        candidates = [
            (rid, blob)
            for rid, ticket_id, blob in await memory.vectors(organization_id, MEMORY_ROWS)
            # A reply from this very ticket would answer the question with itself.
            if exclude_ticket_id is None or ticket_id != exclude_ticket_id
        ]
        if not candidates:
            return []
        found = nearest(_stack([b for _, b in candidates], query.shape[0]), query, k, EXAMPLE_MIN_SIMILARITY)
        rows = await memory.by_ids(organization_id, [candidates[i][0] for i, _ in found])
    return [
        FoundExample(row.id, score, ReplyExample(row.question, row.answer))
        for i, score in found
        if (row := rows.get(candidates[i][0])) is not None
    ]


# -- FAQ suggestions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaqSuggestion:
    """Approved replies answering the same kind of question; the centre's reply would become the FAQ."""

    centre_id: uuid.UUID
    question: str
    answer: str
    size: int
    questions: list[str]  # the others', for staff to judge the group


async def faq_suggestions(
    db: AsyncSession, organization_id: uuid.UUID, limit: int = 5
) -> list[FaqSuggestion]:
    rows = await ApprovedReplyRepository(db).recent(organization_id, MEMORY_ROWS, without_faq=True)
    groups = _groups(rows)
    groups.sort(key=len, reverse=True)
    return [
        FaqSuggestion(
            centre_id=rows[g[0]].id,
            question=rows[g[0]].question,
            answer=rows[g[0]].answer,
            size=len(g),
            questions=[rows[i].question for i in g[1:6]],
        )
        for g in groups[:limit]
    ]


def _groups(rows: Sequence[ApprovedReply]) -> list[list[int]]:
    if not rows:
        return []
    dim = np.frombuffer(rows[0].embedding, dtype="<f4").shape[0]
    return clusters(matrix_of(rows, dim), CLUSTER_SIMILARITY, MIN_CLUSTER)


async def create_suggested_faq(
    db: AsyncSession, runtime: Runtime, organization_id: uuid.UUID, centre_id: uuid.UUID
) -> uuid.UUID:
    """The FAQ from a suggestion's centre reply, through save-as-FAQ when its draft is still there.

    The whole group is marked with the FAQ, so it is not suggested again.
    """
    memory = ApprovedReplyRepository(db)
    rows = await memory.recent(organization_id, MEMORY_ROWS, without_faq=True)
    group = next((g for g in _groups(rows) if rows[g[0]].id == centre_id), None)
    if group is None:
        raise NotFound("This suggestion is no longer open; the list has changed since.")
    centre = rows[group[0]]
    document_id: uuid.UUID | None = None
    if centre.draft_id is not None and centre.ticket_id is not None:
        try:
            document_id = await save_reply_as_faq(
                db, runtime, organization_id, centre.ticket_id, centre.draft_id
            )
        except AppError as exc:  # the ticket or draft went since: the remembered texts are stripped already
            log.info("tickets.suggested_faq_without_draft", reply_id=str(centre.id), reason=exc.message)
    if document_id is None:
        knowledge = KnowledgeService.of(db, runtime)
        doc = await knowledge.create_faq(organization_id, centre.question, centre.answer, [FAQ_TAG])
        queue_ingest(db, runtime, doc)
        document_id = doc.id
    await memory.mark_faq(organization_id, [rows[i].id for i in group], document_id)
    await db.flush()
    log.info("tickets.suggested_faq_created", document_id=str(document_id), replies=len(group))
    return document_id
