"""Turning a sent reply into an FAQ of the knowledge base, with the customer's personal data stripped.

The question is the customer's question condensed (the subject and the customer message the reply
answered), the answer the staff's final text; both go through :func:`strip_personal_data`. The
FAQ's document id is kept in the draft's trace, so saving the same reply twice returns the same
FAQ (while it exists) instead of adding a duplicate.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import session_scope
from answerdesk.kit.errors import Conflict, NotFound, ValidationFailed
from answerdesk.knowledge.queueing import queue_ingest
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from answerdesk.tickets.models import Author, Draft, DraftStatus, Ticket, TicketMessage
from answerdesk.tickets.privacy import domains_in, domains_of, strip_personal_data
from answerdesk.tickets.repository import (
    ConnectionRepository,
    DraftRepository,
    MessageRepository,
    TicketRepository,
)

log = structlog.get_logger(__name__)
FAQ_TAG = "from-ticket"
FAQ_TRACE_KEY = "faq_document_id"
QUESTION_CHARS = 400
AUTO_SEND_LABEL = "auto-send"
_WHITESPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


@dataclass(frozen=True)
class FaqPair:
    question: str
    answer: str


def condense_question(subject: str, message: str, limit: int = QUESTION_CHARS) -> str:
    """Subject and message on one line, cut at a sentence (or word) end within ``limit`` characters."""
    subject = _WHITESPACE.sub(" ", subject).strip().rstrip(":")
    body = _WHITESPACE.sub(" ", message).strip()
    if not body:
        text = subject
    elif not subject or subject.lower() in body.lower():
        text = body
    else:
        text = f"{subject}: {body}"
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit // 3:
        return head[: ends[-1]]
    return head.rsplit(" ", 1)[0].rstrip(",;:-") + "…"


def faq_pair(
    ticket: Ticket, question_message: str, answer: str, customer_texts: Sequence[str] = ()
) -> FaqPair:
    """The FAQ a reply makes, without the client's names, domains, addresses, numbers or signatures."""
    context = ticket.client_context or {}
    names = [ticket.client_name, str(context.get("first_name") or ""), str(context.get("company") or "")]
    context_domains = context.get("domains") or []
    if isinstance(context_domains, str):
        context_domains = [context_domains]
    domains = domains_of(ticket.client_email, [str(d) for d in context_domains])
    # Domains the customer wrote are theirs (their site, their mail server) as far as we can tell.
    for text in (ticket.subject, question_message, *customer_texts):
        domains.extend(domains_in(text))
    tids = [ticket.tid] if ticket.tid else []

    def clean(text: str) -> str:
        return strip_personal_data(text, names, known_domains=domains, known_ticket_numbers=tids)

    question = condense_question(clean(ticket.subject), clean(question_message))
    answer_text = clean(answer)
    if not question or not answer_text:
        raise ValidationFailed("Nothing is left of this reply once personal data is removed.")
    return FaqPair(question, answer_text)


def faq_document_id(draft: Draft) -> uuid.UUID | None:
    value = (draft.trace or {}).get(FAQ_TRACE_KEY)
    return uuid.UUID(str(value)) if value else None


async def save_reply_as_faq(
    db: AsyncSession,
    runtime: Runtime,
    organization_id: uuid.UUID,
    ticket_id: uuid.UUID,
    draft_id: uuid.UUID,
) -> uuid.UUID:
    """The FAQ document id (queued for ingestion after the commit); the same one when saved before."""
    draft = await DraftRepository(db).get(organization_id, draft_id, for_update=True)
    if draft is None or draft.ticket_id != ticket_id:
        raise NotFound("Draft not found.")
    if draft.status != DraftStatus.sent:
        raise Conflict(f"Only a sent reply can become an FAQ; this one is {draft.status}.")
    knowledge = KnowledgeService.of(db, runtime)
    existing = faq_document_id(draft)
    if existing is not None:
        try:
            await knowledge.get(organization_id, existing)
        except NotFound:
            pass  # deleted from the knowledge base since: make it again
        else:
            return existing
    ticket = await TicketRepository(db).get(organization_id, ticket_id)
    if ticket is None:
        raise NotFound("Ticket not found.")
    messages = await MessageRepository(db).for_ticket(organization_id, ticket_id)
    pair = faq_pair(
        ticket,
        answered_message(draft, messages),
        draft.final_text or draft.text,
        [m.content for m in messages if m.author == Author.customer],
    )
    doc = await knowledge.create_faq(organization_id, pair.question, pair.answer, [FAQ_TAG])
    queue_ingest(db, runtime, doc)
    draft.trace = {**(draft.trace or {}), FAQ_TRACE_KEY: str(doc.id)}
    await db.flush()
    log.info("tickets.saved_as_faq", draft_id=str(draft.id), document_id=str(doc.id))
    return doc.id


def answered_message(draft: Draft, messages: Sequence[TicketMessage]) -> str:
    """The customer message this reply answered: the one drafted from, else the latest before it."""
    customer = [m for m in messages if m.author == Author.customer]
    if draft.answers_message_id is not None:
        for message in customer:
            if message.id == draft.answers_message_id:
                return message.content
    before = [m for m in customer if m.created_at <= draft.created_at]
    chosen = before[-1] if before else (customer[0] if customer else None)
    return chosen.content if chosen is not None else ""


async def saves_approved_as_faq(db: AsyncSession, organization_id: uuid.UUID) -> bool:
    """The organization's "save every approved reply as an FAQ" setting.

    Stored on the WHMCS connection; organizations without WHMCS keep it in their settings under
    ``tickets.save_approved_as_faq``. Either being on turns it on.
    """
    connection = await ConnectionRepository(db).get(organization_id)
    if connection is not None and connection.save_approved_as_faq:
        return True
    org = await OrganizationService(db).get(organization_id)
    tickets: Any = (org.settings or {}).get("tickets") or {}
    return isinstance(tickets, dict) and bool(tickets.get("save_approved_as_faq"))


async def save_if_enabled(
    runtime: Runtime, organization_id: uuid.UUID, draft_id: uuid.UUID
) -> uuid.UUID | None:
    """After a reply was sent: the FAQ, when the organization wants every approved reply saved.

    Runs in its own transaction and never raises: the reply has left already, and a failure here
    must not make it look unsent.
    """
    try:
        async with session_scope(runtime.sessionmaker) as db:
            if not await saves_approved_as_faq(db, organization_id):
                return None
            draft = await DraftRepository(db).get(organization_id, draft_id)
            # Auto-sent replies were never reviewed by a person: not knowledge yet.
            if (
                draft is None
                or draft.status != DraftStatus.sent
                or draft.approved_by in (None, AUTO_SEND_LABEL)
            ):
                return None
            return await save_reply_as_faq(db, runtime, organization_id, draft.ticket_id, draft_id)
    except Exception as exc:  # logged, not raised: the send itself succeeded
        log.warning("tickets.auto_faq_failed", draft_id=str(draft_id), error=str(exc))
        return None
