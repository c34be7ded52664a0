"""Drafting a reply to a ticket with the answer pipeline, plus triage (category, priority, sentiment).

Confidence (0..1) says how safe a draft is to send unchanged, from how it was made:
- a curated FAQ answer matched the question: 0.95;
- nothing relevant in the knowledge base, or the customer asked for a person: 0.05;
- a written answer: 0.35 + 0.55 * how far the best cited passage's similarity lies between the
  relevance threshold and 0.85 (0 at the threshold, 1 at 0.85 and above); halved when the model
  failed and passages were quoted instead; at most 0.3 when the answer cites nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from answerdesk.answers.pipeline import AnswerPipeline, AnswerRequest, AnswerResult
from answerdesk.answers.prompt import ReplyExample, Turn
from answerdesk.answers.settings import AiSettings, ai_settings_of
from answerdesk.chat.models import AnswerMode
from answerdesk.kit.db import session_scope
from answerdesk.kit.errors import NotFound
from answerdesk.knowledge.embedding import Vectors
from answerdesk.languages.detect import detect_language
from answerdesk.languages.names import code_of
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService, org_language
from answerdesk.tickets.categories import CategorySet, categories_of, categorise_ticket
from answerdesk.tickets.classify import triage
from answerdesk.tickets.learning import TRACE_KEY as EXAMPLES_TRACE_KEY
from answerdesk.tickets.learning import similar_examples
from answerdesk.tickets.models import Author, Draft, DraftStatus, Ticket, TicketMessage
from answerdesk.tickets.repository import DraftRepository, MessageRepository, TicketRepository
from answerdesk.tickets.sync import supersede_drafts

log = structlog.get_logger(__name__)
HISTORY_MESSAGES = 8
MAX_TURN_CHARS = 2000
NOT_FOUND = "Ticket not found."


@dataclass(frozen=True)
class _Snapshot:
    organization_name: str
    ai: AiSettings
    categories: CategorySet
    subject: str
    tid: str
    department: str
    external_priority: str | None
    client_context: dict[str, Any]
    history: list[Turn]
    question: str
    search_text: str
    answers_message_id: uuid.UUID | None
    language: str | None  # known before this draft: the ticket's, else the WHMCS client's, else the org's


def last_customer_run(messages: Sequence[TicketMessage]) -> list[TicketMessage]:
    """The customer's messages since the last staff reply; empty when staff spoke last."""
    thread = [m for m in messages if m.author in (Author.customer, Author.staff)]
    run: list[TicketMessage] = []
    for message in reversed(thread):
        if message.author != Author.customer:
            break
        run.append(message)
    return list(reversed(run))


async def draft_reply(
    runtime: Runtime,
    organization_id: uuid.UUID,
    ticket_id: uuid.UUID,
    *,
    instruction: str | None = None,
    force: bool = False,
) -> Draft | None:
    """A new draft for the ticket; None when staff spoke last (or, unless forced, a draft already
    answers the latest customer message — so a repeated job does nothing)."""
    async with session_scope(runtime.sessionmaker) as db:
        ticket = await TicketRepository(db).get(organization_id, ticket_id)
        if ticket is None:
            raise NotFound(NOT_FOUND)
        messages = await MessageRepository(db).for_ticket(organization_id, ticket_id)
        pending = last_customer_run(messages)
        if not pending and not force:
            return None
        if not force:
            for draft in await DraftRepository(db).open_for_ticket(organization_id, ticket_id):
                if draft.answers_message_id == pending[-1].id:
                    return draft
        org = await OrganizationService(db).get(organization_id)
        snapshot = _snapshot(org.name, org.settings or {}, ticket, messages, pending, instruction)
    customer_text = "\n\n".join(m.content for m in pending[-3:]) if pending else snapshot.question
    # The draft is written in the customer's language (the model is told so; quoted help says which
    # language it is in), and a question in another language than the help centre is translated to search.
    language = await asyncio.to_thread(detect_language, customer_text) or snapshot.language
    analyzer = await runtime.sentiment()
    sentiment = await asyncio.to_thread(analyzer.analyze_one, customer_text[-4000:])
    # One embedding of the customer's own words serves both the category and the knowledge search.
    embedder = await runtime.embedder()
    vector = await asyncio.to_thread(embedder.embed_query, snapshot.search_text)
    category = await categorise_ticket(
        runtime,
        snapshot.categories,
        snapshot.subject,
        customer_text,
        department=snapshot.department,
        vector=vector,
    )
    decided = triage(
        snapshot.subject,
        customer_text,
        category=category,
        given_priority=snapshot.external_priority,
        frustrated=sentiment.frustrated,
        sentiment_score=sentiment.score,
    )
    examples = await similar_examples(runtime, organization_id, vector, exclude_ticket_id=ticket_id)
    result = await _answer(
        runtime, organization_id, snapshot, vector, [e.example for e in examples], language
    )
    async with session_scope(runtime.sessionmaker) as db:
        ticket = await TicketRepository(db).get(organization_id, ticket_id, for_update=True)
        if ticket is None:
            raise NotFound(NOT_FOUND)
        await supersede_drafts(db, organization_id, ticket_id, "replaced by a newer draft")
        ticket.category = decided.category
        ticket.priority = decided.priority
        ticket.urgency_score = decided.urgency
        ticket.sentiment_label, ticket.sentiment_score = sentiment.label, sentiment.score
        ticket.frustrated = sentiment.frustrated
        ticket.language = language
        ticket.drafting_since = ticket.drafting_instruction = None
        ticket.classification = {
            "category": decided.category,
            "priority": decided.priority,
            "reasons": decided.reasons + [f"sentiment: {r}" for r in sentiment.reasons],
        }
        draft = DraftRepository(db).add(
            Draft(
                organization_id=organization_id,
                ticket_id=ticket_id,
                status=DraftStatus.draft,
                text=result.text,
                citations=[c.as_dict() for c in result.citations],
                trace={**result.trace(), EXAMPLES_TRACE_KEY: [e.trace() for e in examples]},
                confidence=confidence_of(result, snapshot.ai.relevance_threshold),
                mode=result.mode,
                model=result.model,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                latency_ms=result.latency_ms,
                instruction=instruction,
                answers_message_id=snapshot.answers_message_id,
            )
        )
        await db.flush()
    log.info(
        "tickets.drafted",
        ticket_id=str(ticket_id),
        mode=result.mode,
        confidence=draft.confidence,
        category=decided.category,
        priority=decided.priority,
    )
    return draft


def _snapshot(
    organization_name: str,
    org_settings: dict[str, Any],
    ticket: Ticket,
    messages: Sequence[TicketMessage],
    pending: Sequence[TicketMessage],
    instruction: str | None,
) -> _Snapshot:
    thread = [m for m in messages if m.author in (Author.customer, Author.staff)]
    earlier = thread[: len(thread) - len(pending)] if pending else thread
    history = [
        Turn("customer" if m.author == Author.customer else "staff", m.content[:MAX_TURN_CHARS])
        for m in earlier[-HISTORY_MESSAGES:]
    ]
    latest = "\n\n".join(m.content[:MAX_TURN_CHARS] for m in pending) if pending else ""
    return _Snapshot(
        organization_name=organization_name,
        ai=ai_settings_of(org_settings),
        categories=categories_of(org_settings),
        subject=ticket.subject,
        tid=ticket.tid,
        department=ticket.department,
        external_priority=ticket.external_priority,
        client_context=dict(ticket.client_context or {}),
        history=history,
        question=frame_question(ticket.subject, latest, ticket.client_context or {}, instruction),
        search_text=f"{ticket.subject}\n{latest}".strip()[:MAX_TURN_CHARS],
        answers_message_id=pending[-1].id if pending else None,
        language=ticket.language
        or code_of(str((ticket.client_context or {}).get("language") or ""))
        or org_language(org_settings),
    )


def frame_question(subject: str, message: str, context: dict[str, Any], instruction: str | None) -> str:
    """Subject and the customer's words first, then what the reply needs to know.

    The subject leads so that a message like "It still fails" reads as a whole question (the
    pipeline would otherwise treat it as a chat follow-up and rewrite it for search).
    """
    parts = [f"Subject: {subject}"] if subject else []
    parts.append(message.strip() or subject)
    if context:
        facts = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in context.items())
        parts.append(f"(Customer account: {facts})")
    if instruction:
        parts.append(f"(Staff asked for this version of the reply: {instruction.strip()})")
    return "\n\n".join(parts)


async def _answer(
    runtime: Runtime,
    organization_id: uuid.UUID,
    snapshot: _Snapshot,
    vector: Vectors,
    examples: Sequence[ReplyExample] = (),
    language: str | None = None,
) -> AnswerResult:
    # ``vector`` is of the customer's own words (search_text): the framing (account facts, staff
    # instruction) is for the model, and would only blur the question's embedding and its relevance score.
    request = AnswerRequest(
        organization_id=organization_id,
        organization_name=snapshot.organization_name,
        question=snapshot.question,
        history=snapshot.history,
        ai=snapshot.ai,
        question_vector=vector,
        examples=examples,
        language=language,
    )
    result: AnswerResult | None = None
    async for event in AnswerPipeline(runtime).run(request):
        if isinstance(event, AnswerResult):
            result = event
    assert result is not None  # the pipeline always ends with one AnswerResult
    return result


def confidence_of(result: AnswerResult, relevance_threshold: float) -> float:
    """How sure the draft is, from the relevance gate's probability above the organization's cut."""
    if result.mode == AnswerMode.faq:
        return 0.95
    if result.mode in (AnswerMode.no_answer, AnswerMode.handoff):
        return 0.05
    probability = result.gate.get("probability", 0.0)
    span = max(1e-6, 1.0 - relevance_threshold)
    closeness = min(1.0, max(0.0, (probability - relevance_threshold) / span))
    value = 0.35 + 0.55 * closeness
    if result.mode == AnswerMode.fallback:
        value *= 0.5
    if not result.citations:
        value = min(value, 0.3)
    return round(value, 3)
