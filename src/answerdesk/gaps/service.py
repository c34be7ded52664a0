"""Knowledge gaps: find the questions the bot fell short on, group them by meaning, rank them, and turn a
group into an FAQ entry (drafted from a staff reply, else by the model), which marks the group answered."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.answers.settings import ai_settings_of, completion_params
from answerdesk.answers.words import content_words
from answerdesk.chat.models import AnswerMode, Sender
from answerdesk.chat.service import ChatService, vector_bytes
from answerdesk.gaps.cluster import cluster, medoid
from answerdesk.gaps.models import GapResolution
from answerdesk.gaps.repository import NOT_KNOWLEDGE_GAPS, GapRepository, Turn
from answerdesk.gaps.schemas import (
    FaqDraftRead,
    GapFaqCreate,
    GapGroupRead,
    GapQuestionRead,
    GapReason,
    GapsRead,
    GapStatus,
)
from answerdesk.integrations.llm import ChatMessage, LLMError
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import NotFound, ValidationFailed
from answerdesk.knowledge.models import Document, PhrasingSource
from answerdesk.knowledge.phrasings import PhrasingService
from answerdesk.knowledge.queueing import queue_ingest
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from answerdesk.tickets.privacy import domains_in, domains_of, strip_personal_data

log = structlog.get_logger(__name__)

DEFAULT_DAYS = 30
MAX_DAYS = 365
# Grouping is quadratic in memory and time: the most recent questions are grouped, the older ones dropped
# (about a second for 4,000 on one core).
MAX_QUESTIONS = 4000
EXAMPLES = 5
FAQ_TAG = "from-gaps"
DRAFT_MAX_TOKENS = 400
GROUP_NOT_FOUND = "Gap group not found (the questions may have left the report's window)."


@dataclass
class GapQuestion:
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    text: str
    asked_at: datetime
    reasons: set[GapReason] = field(default_factory=set)

    def read(self) -> GapQuestionRead:
        return GapQuestionRead(
            message_id=self.message_id,
            conversation_id=self.conversation_id,
            text=self.text,
            asked_at=self.asked_at,
            reasons=sorted(self.reasons),
        )


@dataclass
class GapGroup:
    key: uuid.UUID
    question: str
    questions: list[GapQuestion]  # most recent first
    status: GapStatus
    faq_document_id: uuid.UUID | None
    asked_since_answer: int

    @property
    def customers(self) -> int:
        return len({q.conversation_id for q in self.questions})

    def read(self) -> GapGroupRead:
        reasons: dict[GapReason, int] = {}
        for q in self.questions:
            for reason in q.reasons:
                reasons[reason] = reasons.get(reason, 0) + 1
        return GapGroupRead(
            key=self.key,
            question=self.question,
            status=self.status,
            customers=self.customers,
            questions=len(self.questions),
            reasons=dict(sorted(reasons.items())),
            first_asked_at=min(q.asked_at for q in self.questions),
            last_asked_at=max(q.asked_at for q in self.questions),
            examples=[q.read() for q in examples_of(self.questions)],
            faq_document_id=self.faq_document_id,
            asked_since_answer=self.asked_since_answer,
        )


@dataclass
class GapReport:
    days: int
    since: datetime
    questions: int
    truncated: bool
    cluster_ms: float
    groups: list[GapGroup]

    def read(self, limit: int | None = None) -> GapsRead:
        return GapsRead(
            days=self.days,
            since=self.since,
            questions=self.questions,
            truncated=self.truncated,
            cluster_ms=round(self.cluster_ms, 1),
            groups=[g.read() for g in self.groups[:limit]],
        )


def examples_of(questions: Sequence[GapQuestion], limit: int = EXAMPLES) -> list[GapQuestion]:
    """The most recent questions, one per wording (the same words asked twice show once)."""
    seen: set[str] = set()
    chosen = []
    for q in questions:
        wording = " ".join(q.text.casefold().split())
        if wording in seen:
            continue
        seen.add(wording)
        chosen.append(q)
        if len(chosen) == limit:
            break
    return chosen


def find_gap_questions(
    turns: Sequence[Turn], handoffs: Mapping[uuid.UUID, datetime | None], since: datetime
) -> list[GapQuestion]:
    """The customer questions the bot fell short on, with why, from each conversation's messages in order.

    - refused: the answer was "nothing in the help centre", or cited no source at all;
    - unhelpful: the customer gave the answer a thumbs down;
    - handed off: the customer asked for a person (in words, or with the button) after the bot answered a
      question; that question is the gap, unless it already counts for a reason above.
    Messages like "thanks" or "hi" that carry no topic are never gaps.
    """
    found: dict[uuid.UUID, GapQuestion] = {}
    by_conversation: dict[uuid.UUID, list[Turn]] = {}
    for turn in turns:
        by_conversation.setdefault(turn.conversation_id, []).append(turn)

    def flag(question: Turn, reason: GapReason) -> None:
        if question.created_at < since or not content_words(question.content):
            return
        gap = found.get(question.id)
        if gap is None:
            gap = found[question.id] = GapQuestion(
                question.id, question.conversation_id, question.seq, question.content, question.created_at
            )
        if reason == GapReason.handed_off and gap.reasons:
            return
        gap.reasons.add(reason)

    for conversation_id, conversation in by_conversation.items():
        asked: Turn | None = None  # the latest customer message
        answered: list[tuple[Turn, Turn]] = []  # (question, the bot's knowledge answer)
        for turn in conversation:
            if turn.sender == Sender.customer:
                asked = turn
                continue
            if asked is None:
                continue
            if turn.mode == AnswerMode.quota:
                continue  # the plan's answers had run out: nothing was looked up, so nothing fell short
            if turn.mode == AnswerMode.handoff:
                # "A person, please": the question before it is what the bot did not answer well.
                if answered:
                    flag(answered[-1][0], GapReason.handed_off)
                continue
            if turn.mode == AnswerMode.no_answer or (
                turn.mode not in NOT_KNOWLEDGE_GAPS and turn.citation_count == 0
            ):
                flag(asked, GapReason.refused)
            if turn.helpful is False:
                flag(asked, GapReason.unhelpful)
            answered.append((asked, turn))
        handoff_at = handoffs.get(conversation_id)
        if handoff_at is not None:
            before = [q for q, answer in answered if answer.created_at <= handoff_at]
            if before:
                flag(before[-1], GapReason.handed_off)
    return sorted(found.values(), key=lambda g: (g.asked_at, g.message_id), reverse=True)


class GapService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def report(
        self,
        db: AsyncSession,
        organization_id: uuid.UUID,
        *,
        days: int = DEFAULT_DAYS,
        now: datetime | None = None,
    ) -> GapReport:
        if not 1 <= days <= MAX_DAYS:
            raise ValidationFailed(
                f"days must be between 1 and {MAX_DAYS}.", details=[{"loc": ["query", "days"]}]
            )
        since = (now or utcnow()) - timedelta(days=days)
        repo = GapRepository(db)
        candidates = await repo.candidates(organization_id, since)
        turns = await repo.turns(organization_id, [c.conversation_id for c in candidates])
        questions = find_gap_questions(turns, {c.conversation_id: c.handoff_at for c in candidates}, since)
        truncated = len(questions) > MAX_QUESTIONS
        questions = questions[:MAX_QUESTIONS]  # the most recent
        vectors = await self._vectors(db, organization_id, questions)
        started = time.perf_counter()
        groups = await asyncio.to_thread(cluster, vectors)
        cluster_ms = (time.perf_counter() - started) * 1000
        resolutions = await repo.resolutions(organization_id, [q.message_id for q in questions])
        built = [self._group(vectors, questions, rows, resolutions) for rows in groups]
        built.sort(
            key=lambda g: (
                g.status != GapStatus.open,
                -g.customers,
                -max(q.asked_at for q in g.questions).timestamp(),
                str(g.key),
            )
        )
        log.info(
            "gaps.report", organization_id=str(organization_id), questions=len(questions),
            groups=len(built), cluster_ms=round(cluster_ms, 1),
        )  # fmt: skip
        return GapReport(days, since, len(questions), truncated, cluster_ms, built)

    async def group(
        self, db: AsyncSession, organization_id: uuid.UUID, key: uuid.UUID, *, days: int = DEFAULT_DAYS
    ) -> GapGroup:
        """The group that holds question `key` now (groups are recomputed, a question stays findable)."""
        report = await self.report(db, organization_id, days=days)
        for group in report.groups:
            if group.key == key or any(q.message_id == key for q in group.questions):
                return group
        raise NotFound(GROUP_NOT_FOUND)

    @staticmethod
    def _group(
        vectors: np.ndarray[Any, np.dtype[np.float32]],
        questions: Sequence[GapQuestion],
        rows: Sequence[int],
        resolutions: Mapping[uuid.UUID, GapResolution],
    ) -> GapGroup:
        members = [questions[r] for r in rows]  # rows come in question order: most recent first
        representative = questions[medoid(vectors, rows)]
        links = [resolutions[q.message_id] for q in members if q.message_id in resolutions]
        status, document_id, since_answer = GapStatus.open, None, 0
        if links:
            latest = max(links, key=lambda r: r.created_at)
            document_id = latest.document_id
            answered_at = min(r.created_at for r in links)
            # Questions like it that still failed after the FAQ existed: the FAQ did not catch them.
            since_answer = sum(
                1 for q in members if q.message_id not in resolutions and q.asked_at > answered_at
            )
            status = GapStatus.open if since_answer else GapStatus.answered
        return GapGroup(
            representative.message_id, representative.text, members, status, document_id, since_answer
        )

    async def _vectors(
        self, db: AsyncSession, organization_id: uuid.UUID, questions: Sequence[GapQuestion]
    ) -> np.ndarray[Any, np.dtype[np.float32]]:
        """The stored query vectors; questions from before they were stored are embedded now, once."""
        stored = await GapRepository(db).vectors(organization_id, [q.message_id for q in questions])
        missing = [q for q in questions if q.message_id not in stored]
        if missing:
            embedder = await self.runtime.embedder()
            made = await asyncio.to_thread(embedder.embed, [q.text for q in missing])
            fresh = {q.message_id: vector_bytes(v) for q, v in zip(missing, made, strict=True)}
            await ChatService(self.runtime).remember_query_vectors(db, organization_id, fresh)
            stored = {**stored, **fresh}
        if not questions:
            return np.zeros((0, 0), dtype=np.float32)
        return np.frombuffer(b"".join(stored[q.message_id] for q in questions), dtype="<f4").reshape(
            len(questions), -1
        )

    # -- FAQ from a group ---------------------------------------------------------------------------------

    async def draft(self, db: AsyncSession, organization_id: uuid.UUID, group: GapGroup) -> FaqDraftRead:
        """The FAQ to propose: the question, and a staff reply from those conversations (personal data
        removed) when there is one, else the model's draft (to check), else an empty answer."""
        repo = GapRepository(db)
        conversations = sorted({q.conversation_id for q in group.questions})
        customers = await repo.customers(organization_id, conversations)
        representative = next(q for q in group.questions if q.message_id == group.key)
        question = self._clean(representative.text, customers.get(representative.conversation_id), [])
        replies = await repo.staff_replies(organization_id, conversations)
        for q in group.questions:  # most recent first: the freshest staff knowledge wins
            reply = next((r for r in replies if r[0] == q.conversation_id and r[1] > q.seq), None)
            if reply is None:
                continue
            answer = self._clean(reply[2], customers.get(q.conversation_id), [q.text])
            if answer:
                return FaqDraftRead(question=question or representative.text, answer=answer, source="staff")
        if self.runtime.llm is not None:
            drafted = await self._llm_draft(db, organization_id, question or representative.text, group)
            if drafted:
                return FaqDraftRead(question=question or representative.text, answer=drafted, source="llm")
        return FaqDraftRead(question=question or representative.text, answer="", source="none")

    @staticmethod
    def _clean(text: str, customer: tuple[str | None, str | None] | None, their_texts: Sequence[str]) -> str:
        name, email = customer or (None, None)
        domains = domains_of(email or "") if email else []
        for written in (text, *their_texts):
            domains.extend(domains_in(written))
        names = [n for n in (name or "", *(name or "").split()) if len(n) > 1]
        return strip_personal_data(text, names, known_domains=domains)

    async def _llm_draft(
        self, db: AsyncSession, organization_id: uuid.UUID, question: str, group: GapGroup
    ) -> str:
        assert self.runtime.llm is not None
        org = await OrganizationService(db).get(organization_id)
        params = completion_params(ai_settings_of(org.settings), self.runtime.settings).model_copy(
            update={"temperature": 0.2, "max_tokens": DRAFT_MAX_TOKENS}
        )
        others = [q.text for q in examples_of(group.questions) if q.message_id != group.key][:4]
        messages = [
            ChatMessage(
                role="system",
                content=(
                    f"You draft FAQ entries for the help centre of {org.name}. Write a short, friendly "
                    "answer (2 to 5 sentences) to the customer question. You do not know "
                    "this company's facts: "
                    "wherever one is needed (a price, a name, a link, a time, a yes or no), write a "
                    "placeholder in [square brackets] for staff to fill in. Answer in the question's "
                    "language. Reply with the answer only."
                ),
            ),
            ChatMessage(
                role="user",
                content=f"Question: {question}"
                + (
                    "\nOther ways customers asked it:\n" + "\n".join(f"- {t}" for t in others)
                    if others
                    else ""
                ),
            ),
        ]
        try:
            done = await self.runtime.llm.complete(messages, params)
        except LLMError as exc:
            log.warning("gaps.draft_failed", error=str(exc))
            return ""
        return done.text.strip()

    async def create_faq(
        self, db: AsyncSession, organization_id: uuid.UUID, body: GapFaqCreate, user_id: uuid.UUID | None
    ) -> Document:
        """The FAQ entry (ingested after the commit, so new questions like these get it), with the group's
        questions linked to it: the group shows as answered."""
        questions = await GapRepository(db).customer_messages(
            organization_id, list(dict.fromkeys(body.message_ids))
        )
        ids = [mid for mid, _ in questions]
        doc = await KnowledgeService.of(db, self.runtime).create_faq(
            organization_id, body.question, body.answer, sorted({*body.tags, FAQ_TAG})
        )
        # The ways customers asked it become the entry's phrasings, so the next such wording finds it.
        await PhrasingService(db, self.runtime).add_to_entry(doc, questions, source=PhrasingSource.gap)
        queue_ingest(db, self.runtime, doc)
        await GapRepository(db).link(organization_id, ids, doc.id, user_id)
        await db.flush()
        log.info("gaps.faq_created", document_id=str(doc.id), questions=len(ids))
        return doc
