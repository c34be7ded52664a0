"""Thirty days of made-up but plausible support history for the demo organization.

Conversations with answers, handoffs, staff replies, ratings and thumbs, and tickets with reviewed drafts, so
the dashboard and the gap report have something to show on first run.

Deterministic (a seeded random generator) and idempotent: every row's id derives from its number, so a second
run adds nothing."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Membership
from answerdesk.chat.models import (
    AnswerMode,
    Channel,
    Conversation,
    ConversationStatus,
    Message,
    MessageFeedback,
)
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.security import hash_token, new_token
from answerdesk.knowledge.models import Chunk, Document
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import (
    Author,
    Draft,
    DraftStatus,
    NativeStatus,
    Ticket,
    TicketMessage,
    TicketSource,
)

DAYS = 30
SEED = 20261207
NAMESPACE = uuid.UUID("5b0f3c1e-8d4a-4f6e-9a51-3e2d7c0b9a10")
HISTORY_TICKET_PREFIX = "demo-history-"

# Questions the help centre cannot answer: the gap report groups these.
UNANSWERABLE: tuple[str, ...] = (
    "Can I pay my invoice with Bitcoin?",
    "Do you accept crypto payments like Ethereum?",
    "Is paying in cryptocurrency possible?",
    "Do you offer Windows VPS servers?",
    "Can I get a Windows server with RDP access?",
    "Do you have managed Kubernetes clusters?",
    "Can I run Docker containers on my plan?",
    "Is there a Minecraft server hosting plan?",
    "Do you have game servers for Minecraft?",
    "Do you have a data centre in Singapore?",
    "Can my site be hosted in Asia for faster loading there?",
    "Is there a student discount?",
    "Do you give discounts for students or schools?",
    "Can I get a dedicated IP address for my site?",
)
HUMAN_REQUESTS: tuple[str, ...] = (
    "I'd like to talk to a person please.",
    "Can I speak to someone from support?",
    "Please connect me with an agent.",
    "I need a human, this is about a refund.",
)
FRUSTRATED: tuple[str, ...] = (
    "My website has been down for two hours and nobody answers!!",
    "This is the third time my e-mail stops working this week. Unacceptable.",
    "I was charged twice and I want my money back now.",
    "Your migration broke my shop, I'm losing orders.",
)
STAFF_REPLIES: tuple[str, ...] = (
    "Hi, this is Sam from Northwind support. I'm looking into it right now.",
    "Thanks for waiting! I've checked your account and fixed the setting; please try again.",
    "I'm sorry about the trouble. I've refunded the duplicate charge, you'll see it in 3 to 5 days.",
    "Good question: that isn't something we offer today, but I've passed it on to our product team.",
)
THANKS: tuple[str, ...] = ("Thanks, that worked!", "Great, thank you.", "Perfect, thanks a lot.", "ok thanks")
NAMES: tuple[str, ...] = (
    "Anna Keller", "Ben Ortiz", "Chloé Martin", "David Kim", "Elif Yilmaz", "Finn Larsen", "Grace Lee",
    "Hugo Silva", "Isabel Costa", "Jonas Weber", "Kavya Rao", "Liam Murphy", "Mia Novak", "Noah Fischer",
)  # fmt: skip
TICKET_SUBJECTS: tuple[tuple[str, str], ...] = (
    ("Domain transfer stuck", "My domain transfer has been pending for five days. What is holding it up?"),
    ("Invoice question", "Why is my latest invoice higher than last month?"),
    ("Cannot send e-mail", "Outgoing mail fails with 'relay access denied' since this morning."),
    ("SSL on subdomain", "How do I get an SSL certificate for shop.mysite.example?"),
    ("Restore a backup", "I deleted a folder by mistake yesterday. Can you restore it from a backup?"),
    ("Upgrade my plan", "I need more disk space. How do I upgrade and is the change immediate?"),
    ("Website slow", "My WordPress site takes 8 seconds to load since the weekend."),
    ("DNS records", "Please help me add the TXT record for Google Workspace verification."),
)


@dataclass(frozen=True)
class Faq:
    question: str
    answer: str


def _faqs() -> list[Faq]:
    raw = (resources.files("answerdesk.demo") / "content" / "faq.json").read_text(encoding="utf-8")
    return [Faq(item["question"], item["answer"]) for item in json.loads(raw)]


def _id(organization_id: uuid.UUID, kind: str, n: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{organization_id}:{kind}:{n}")


def _when(rnd: random.Random, now: datetime, day: int) -> datetime:
    """A moment `day` days ago, mostly in European office hours."""
    hour = rnd.choices(
        range(24), weights=[1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 8, 9, 10, 9, 8, 6, 5, 4, 4, 3, 2, 1]
    )[0]
    start = (now - timedelta(days=day)).replace(hour=hour, minute=rnd.randrange(60), second=rnd.randrange(60))
    return min(start, now - timedelta(minutes=20))


class _Builder:
    """Collects one organization's history rows; the texts of customer questions get query vectors."""

    def __init__(
        self,
        organization_id: uuid.UUID,
        staff_user_id: uuid.UUID | None,
        now: datetime,
        sources: dict[str, dict[str, object]],
    ) -> None:
        self.org = organization_id
        self.staff = staff_user_id
        self.now = now
        self.sources = sources  # FAQ question → the citation of its passage in the knowledge base
        self.conversations: list[Conversation] = []
        self.messages: list[Message] = []
        self.feedback: list[MessageFeedback] = []
        self.questions: list[Message] = []

    def conversation(self, n: int, rnd: random.Random, started: datetime) -> Conversation:
        name = rnd.choice(NAMES)
        c = Conversation(
            id=_id(self.org, "conversation", n),
            organization_id=self.org,
            channel=Channel.widget if rnd.random() < 0.85 else Channel.api,
            token_hash=hash_token(new_token()),
            customer_name=name,
            customer_email=f"{name.split()[0].lower()}.{n}@example.com",
            status=ConversationStatus.bot,
            message_count=0,
            language="en",
            created_at=started,
            last_message_at=started,
        )
        self.conversations.append(c)
        return c

    def say(
        self,
        c: Conversation,
        sender: str,
        text: str,
        at: datetime,
        *,
        mode: str | None = None,
        mood: str | None = None,
        cites: str | None = None,
    ) -> Message:
        c.message_count += 1
        m = Message(
            id=_id(self.org, f"message:{c.id}", c.message_count),
            organization_id=self.org,
            conversation_id=c.id,
            seq=c.message_count,
            sender=sender,
            author_user_id=self.staff if sender == "staff" else None,
            content=text,
            # Knowledge answers cite the FAQ they come from (else the gap report would call them refusals).
            citations=[self._citation(cites)] if cites and mode not in (None, AnswerMode.faq) else [],
            suggestions=[],
            mode=mode,
            model="demo-model" if mode == AnswerMode.llm else None,
            sentiment_label=mood,
            sentiment_score={"negative": -0.6, "neutral": 0.0, "positive": 0.6}.get(mood or ""),
            frustrated=False,
            language="en" if sender == "customer" else None,
            details={},
            created_at=at,
        )
        c.last_message_at = at
        if mood:
            c.last_sentiment = mood
        self.messages.append(m)
        if sender == "customer" and c.message_count == 1:
            self.questions.append(m)
        return m

    def _citation(self, question: str) -> dict[str, object]:
        found = self.sources.get(question)
        if found is not None:
            return found
        # No knowledge base (history seeded on its own): a citation of the help centre as a whole.
        doc = uuid.uuid5(NAMESPACE, f"{self.org}:help-centre")
        return {"n": 1, "title": "Help centre", "source": "faq.json", "chunk_id": 0, "document_id": str(doc)}

    def thumb(self, c: Conversation, answer: Message, helpful: bool, at: datetime) -> None:
        self.feedback.append(
            MessageFeedback(
                organization_id=self.org,
                conversation_id=c.id,
                message_id=answer.id,
                helpful=helpful,
                reason=None if helpful else "not_asked",
                created_at=at,
            )
        )


def _play(b: _Builder, n: int, rnd: random.Random, faqs: list[Faq], started: datetime) -> None:
    """One conversation, by a drawn scenario; times are kept before `now`."""
    c = b.conversation(n, rnd, started)
    t = started

    def step(lo: int, hi: int) -> datetime:
        return t + timedelta(seconds=rnd.randint(lo, hi))

    kind = rnd.choices(
        ["answered", "answered_twice", "no_answer", "human", "frustrated", "fallback"],
        weights=[45, 15, 14, 10, 8, 3],
    )[0]
    if kind in ("answered", "answered_twice", "fallback"):
        faq = rnd.choice(faqs)
        b.say(c, "customer", faq.question, t, mood=rnd.choice(["neutral"] * 4 + ["positive"]))
        mode = (
            AnswerMode.fallback
            if kind == "fallback"
            else rnd.choices([AnswerMode.llm, AnswerMode.faq, AnswerMode.extractive], weights=[6, 3, 1])[0]
        )
        t = step(2, 9)
        answer = b.say(c, "bot", faq.answer, t, mode=mode, cites=faq.question)
        if kind == "answered_twice":
            follow = rnd.choice(faqs)
            t = step(30, 240)
            b.say(c, "customer", follow.question, t, mood="neutral")
            t = step(2, 9)
            answer = b.say(c, "bot", follow.answer, t, mode=AnswerMode.llm, cites=follow.question)
        if rnd.random() < 0.5:
            t = step(20, 120)
            b.say(c, "customer", rnd.choice(THANKS), t, mood="positive")
        if rnd.random() < 0.35:
            b.thumb(c, answer, rnd.random() < 0.85, step(5, 60))
        if rnd.random() < 0.4:
            c.rating = rnd.choices([5, 4, 3, 2], weights=[6, 3, 1, 1])[0]
    elif kind == "no_answer":
        b.say(c, "customer", rnd.choice(UNANSWERABLE), t, mood="neutral")
        t = step(2, 6)
        answer = b.say(
            c, "bot", "I couldn't find that in our help centre. Would you like to talk to a person?", t,
            mode=AnswerMode.no_answer,
        )  # fmt: skip
        c.handoff_at = t
        if rnd.random() < 0.3:
            b.thumb(c, answer, False, step(5, 30))
        if rnd.random() < 0.6:
            t = step(60, 1800)
            b.say(c, "staff", rnd.choice(STAFF_REPLIES), t)
            if rnd.random() < 0.5:
                c.rating = rnd.choice([3, 4, 5])
    else:
        text = rnd.choice(HUMAN_REQUESTS if kind == "human" else FRUSTRATED)
        b.say(c, "customer", text, t, mood="neutral" if kind == "human" else "negative")
        c.frustrated = kind == "frustrated"
        t = step(1, 4)
        b.say(c, "bot", "Of course, I'm asking a colleague to join this chat.", t, mode=AnswerMode.handoff)
        c.handoff_at = t
        c.status = ConversationStatus.human
        if rnd.random() < 0.85:
            t = step(30, 900 if kind == "frustrated" else 2400)
            b.say(c, "staff", rnd.choice(STAFF_REPLIES), t)
            t = step(60, 600)
            b.say(c, "customer", rnd.choice(THANKS), t, mood=rnd.choice(["neutral", "positive"]))
        if rnd.random() < 0.5:
            c.rating = rnd.choices([5, 4, 3, 2, 1], weights=[3, 3, 2, 2, 1 if kind == "human" else 3])[0]
    if c.last_message_at > b.now:  # never in the future
        c.last_message_at = b.now
    closes = c.rating is not None or rnd.random() < 0.4
    if closes and b.now - c.last_message_at > timedelta(hours=1):
        c.status = ConversationStatus.closed
        c.closed_at = c.last_message_at + timedelta(minutes=5)


def _tickets(org_id: uuid.UUID, rnd: random.Random, now: datetime, staff: uuid.UUID | None) -> list[object]:
    rows: list[object] = []
    for n in range(1, 25):
        subject, text = rnd.choice(TICKET_SUBJECTS)
        opened = _when(rnd, now, rnd.randrange(1, DAYS))
        name = rnd.choice(NAMES)
        ticket = Ticket(
            id=_id(org_id, "ticket", n),
            organization_id=org_id,
            source=TicketSource.native,
            external_id=f"{HISTORY_TICKET_PREFIX}{n}",
            tid=f"H{2000 + n}",
            subject=subject,
            status=NativeStatus.closed,
            department="Support",
            client_name=name,
            client_email=f"{name.split()[0].lower()}.t{n}@example.com",
            awaiting_reply=False,
            opened_at=opened,
            created_at=opened,
            last_customer_message_at=opened,
        )
        rows.append(ticket)
        rows.append(TicketMessage(organization_id=org_id, ticket_id=ticket.id, author=Author.customer,
                                  author_name=name, content=text, created_at=opened))  # fmt: skip
        drafted = opened + timedelta(minutes=rnd.randint(1, 5))
        outcome = rnd.choices(["unchanged", "edited", "rejected"], weights=[5, 3, 2])[0]
        draft_text = (
            f"Hello {name.split()[0]}, thanks for reaching out about “{subject.lower()}”. Here is what to do…"
        )
        final = draft_text if outcome == "unchanged" else draft_text + " Let me know if that helps. — Sam"
        replied = drafted + timedelta(minutes=rnd.randint(10, 8 * 60))
        rows.append(
            Draft(
                organization_id=org_id, ticket_id=ticket.id, text=draft_text, mode="llm", confidence=0.7,
                status=DraftStatus.rejected if outcome == "rejected" else DraftStatus.sent,
                final_text=None if outcome == "rejected" else final,
                approved_by_user_id=None if outcome == "rejected" else staff,
                approved_at=None if outcome == "rejected" else replied,
                sent_at=None if outcome == "rejected" else replied, created_at=drafted,
            )
        )  # fmt: skip
        reply = final if outcome != "rejected" else "Hi, I've had a look and sorted this out for you. — Sam"
        rows.append(
            TicketMessage(organization_id=org_id, ticket_id=ticket.id, author=Author.staff, author_name="Sam",
                          author_user_id=staff, content=reply, created_at=replied)
        )  # fmt: skip
        ticket.last_message_at = replied
    return rows


async def _vectors(runtime: Runtime, texts: set[str]) -> dict[str, bytes]:
    """Query vectors for the customers' questions, as the chat service stores them (float32 bytes)."""
    embedder = await runtime.query_embeddings()
    return {t: np.asarray(await embedder.embed(t), dtype="<f4").tobytes() for t in sorted(texts)}


async def seed_demo_history(
    runtime: Runtime, organization_id: uuid.UUID, *, now: datetime | None = None
) -> int:
    """Adds the 30 days of history unless it is there; returns how many conversations were added."""
    now = now or utcnow()
    async with session_scope(runtime.sessionmaker) as db:
        if await db.get(Conversation, _id(organization_id, "conversation", 1)) is not None:
            return 0
        staff = await _staff_user(db, organization_id)
        sources = await _faq_citations(db, organization_id)
    rnd = random.Random(SEED)  # noqa: S311 - made-up history, not secrets
    faqs = _faqs()
    b = _Builder(organization_id, staff, now, sources)
    n = 0
    for day in range(DAYS - 1, -1, -1):
        weekend = (now - timedelta(days=day)).weekday() >= 5
        for _ in range(rnd.randint(4, 8) if weekend else rnd.randint(10, 20)):
            n += 1
            _play(b, n, rnd, faqs, _when(rnd, now, day))
    tickets = _tickets(organization_id, rnd, now, staff)
    vectors = await _vectors(runtime, {m.content for m in b.questions})
    for m in b.questions:
        m.query_embedding = vectors[m.content]
    for i, f in enumerate(b.feedback, start=1):
        f.id = _id(organization_id, "feedback", i)
    async with session_scope(runtime.sessionmaker) as db:
        # No ORM relationships order the inserts: parents first, each group flushed.
        for group in (b.conversations, b.messages, b.feedback, [t for t in tickets if isinstance(t, Ticket)],
                      [t for t in tickets if not isinstance(t, Ticket)]):  # fmt: skip
            db.add_all(group)
            await db.flush()
    return len(b.conversations)


async def _staff_user(db: AsyncSession, organization_id: uuid.UUID) -> uuid.UUID | None:
    return await db.scalar(
        sa.select(Membership.user_id).where(Membership.organization_id == organization_id).limit(1)
    )


async def _faq_citations(db: AsyncSession, organization_id: uuid.UUID) -> dict[str, dict[str, object]]:
    """FAQ question → a citation of its first passage, from the demo knowledge base when it is there."""
    rows = await db.execute(
        sa.select(Document.question, Document.title, Document.source, Document.id, sa.func.min(Chunk.id))
        .join(Chunk, Chunk.document_id == Document.id)
        .where(Document.organization_id == organization_id, Document.question.is_not(None))
        .group_by(Document.question, Document.title, Document.source, Document.id)
    )
    return {
        str(q): {"n": 1, "title": title, "source": source, "chunk_id": int(chunk), "document_id": str(doc)}
        for q, title, source, doc, chunk in rows.all()
    }
