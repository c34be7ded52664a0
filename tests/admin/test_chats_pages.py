"""Chats page over HTTP: list, filters and search, paging, transcripts, tenants, escaping."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.admin.routes.chats import ChatFilters
from answerdesk.answers.passages import Citation
from answerdesk.answers.pipeline import AnswerResult
from answerdesk.auth.models import Role
from answerdesk.chat.feedback import FeedbackService
from answerdesk.chat.models import AnswerMode, Channel, Conversation, ConversationStatus, Sender
from answerdesk.chat.repository import ConversationRepository
from answerdesk.chat.schemas import ConversationCreate, CustomerIn, FeedbackCreate
from answerdesk.chat.service import ChatService, append_message
from answerdesk.runtime import Runtime
from answerdesk.sentiment import SentimentResult
from answerdesk.tenants.models import Organization
from tests.factories import logged_in, make_member, make_org

PAGE = "/admin/chats"
NOW = datetime.now(UTC)


async def conversation(
    runtime: Runtime,
    org: Organization,
    messages: list[str],
    *,
    channel: Channel = Channel.widget,
    name: str | None = None,
    email: str | None = None,
    sentiment: str = "neutral",
    frustrated: bool = False,
    answer: AnswerResult | None = None,
    **fields: object,
) -> Conversation:
    """Customer messages (and a bot answer after the first), stored the way the chat service stores them."""
    async with runtime.sessionmaker() as db:
        customer = CustomerIn(name=name, email=email)
        c, _ = await ChatService(runtime).start(db, org.id, ConversationCreate(customer=customer), channel)
        for i, text in enumerate(messages):
            mood = SentimentResult(sentiment, 0.0, frustrated, False, ())  # type: ignore[arg-type]
            append_message(db, c, Sender.customer, text, sentiment=mood)
            if i == 0 and answer is not None:
                append_message(db, c, Sender.bot, answer.text, result=answer)
        for key, value in fields.items():
            setattr(c, key, value)
        await db.commit()
        return c


def customers(page: str) -> list[str]:
    cells = re.findall(r'<tr data-testid="chat-row">\s*<td><a href="/admin/chats/[^"]+">(.*?)</a>', page)
    return [html.unescape(c) for c in cells]


async def admin_of(client: httpx.AsyncClient, db: AsyncSession, role: Role = Role.admin) -> Organization:
    org = await make_org(db, "Chats Co")
    m = await make_member(db, org, role)
    await logged_in(client, m.user.email)
    return org


async def test_list_shows_each_conversation_newest_activity_first(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await admin_of(client, db, Role.staff)  # staff read chats too
    now = datetime.now(UTC)  # not the module's NOW: "5 min ago" must hold however long the run has been
    empty = await client.get(PAGE)
    assert (
        empty.status_code == 200 and "<h1>Chats</h1>" in empty.text and "No conversations yet" in empty.text
    )
    await conversation(runtime, org, ["Hi"], last_message_at=now - timedelta(days=2))
    await conversation(
        runtime,
        org,
        ["Where is my invoice?", "Still waiting!"],
        name="Ada Lovelace",
        email="ada@example.com",
        sentiment="negative",
        frustrated=True,
        handoff_at=now,
        rating=2,
        last_message_at=now - timedelta(minutes=5),
    )
    await conversation(
        runtime, org, ["Thanks"], channel=Channel.api, email="bob@example.com", last_message_at=now
    )
    page = await client.get(PAGE)
    assert customers(page.text) == ["bob@example.com", "Ada Lovelace", "Anonymous visitor"]
    ada = re.search(r"Ada Lovelace</a>(.*?)</tr>", page.text, re.S)
    assert ada
    row = " ".join(re.sub(r"<[^>]+>", " ", ada.group(1)).split())
    assert row == "ada@example.com Widget Bot 2 5 min ago negative frustrated Handoff 2 ★"
    assert "1\u20133 of 3 conversations" in page.text


async def test_filters_and_search_narrow_the_list(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await admin_of(client, db)
    await conversation(
        runtime,
        org,
        ["My DNS is broken"],
        name="Dee",
        sentiment="negative",
        frustrated=True,
        rating=1,
        last_message_at=NOW - timedelta(days=10),
    )
    await conversation(
        runtime,
        org,
        ["Love the service 100%"],
        name="Pat",
        email="pat@example.org",
        sentiment="positive",
        rating=5,
        status=ConversationStatus.closed,
    )
    await conversation(runtime, org, ["Testing the bot"], channel=Channel.playground, name="Tester")
    other = await make_org(db, "Other Co")
    await conversation(runtime, other, ["My DNS is broken too"], name="Outsider")

    async def shown(**params: str) -> list[str]:
        page = await client.get(PAGE, params=params)
        assert page.status_code == 200
        return sorted(customers(page.text))

    assert await shown() == ["Dee", "Pat", "Tester"]
    assert await shown(status="closed") == ["Pat"]
    assert await shown(channel="playground") == ["Tester"]
    assert await shown(sentiment="negative") == ["Dee"]
    assert await shown(sentiment="frustrated") == ["Dee"]
    assert await shown(sentiment="positive", rating="5") == ["Pat"]
    assert await shown(rating="1") == ["Dee"]
    assert await shown(q="dns") == ["Dee"]  # message text, any case; never another organization's
    assert await shown(q="PAT@EXAMPLE") == ["Pat"]  # customer e-mail
    assert await shown(q="100%") == ["Pat"]  # LIKE wildcards are literal
    day = lambda d: (NOW + timedelta(days=d)).date().isoformat()  # noqa: E731
    assert await shown(until=day(-5)) == ["Dee"]
    assert await shown(since=day(-5)) == ["Pat", "Tester"]
    assert await shown(since=day(-10), until=day(-10)) == ["Dee"]  # "to" includes its whole day
    nothing = await client.get(PAGE, params={"q": "no such words"})
    assert "No conversations match these filters" in nothing.text


async def test_bad_filter_values_are_ignored_with_a_notice(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await admin_of(client, db)
    await conversation(runtime, org, ["Hello"], name="Only One")
    page = await client.get(
        PAGE,
        params={"status": "lost", "rating": "ten", "since": "yesterday", "sentiment": "<b>", "page": "-3"},
    )
    assert page.status_code == 200
    notices = [html.unescape(n) for n in re.findall(r'data-testid="filter-notice">(.*?)</p>', page.text)]
    assert notices == [
        "Ignored the rating filter “ten”: choose 1 to 5 stars.",
        "Ignored the from date “yesterday”: use the form YYYY-MM-DD.",
        "Ignored the status filter “lost”: it is not one of the choices.",
        "Ignored the sentiment filter “<b>”: it is not one of the choices.",
    ]
    assert "<b>" not in page.text
    assert customers(page.text) == ["Only One"]
    backwards = await client.get(PAGE, params={"since": "2026-02-01", "until": "2026-01-01"})
    assert "the “to” date is before the “from” date" in html.unescape(backwards.text)
    assert customers(backwards.text) == ["Only One"]
    assert ChatFilters.parse({"page": "99999999999"}).page == 1


async def test_fifty_per_page_with_links_that_keep_the_filters(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await admin_of(client, db)
    async with runtime.sessionmaker() as s:
        for i in range(51):
            c, _ = await ChatService(runtime).start(s, org.id, ConversationCreate(), Channel.widget)
            c.customer_name = f"Visitor {i:02d}"
            c.last_message_at = NOW - timedelta(minutes=i)
        await s.commit()
    first = await client.get(PAGE, params={"channel": "widget"})
    names = customers(first.text)
    assert len(names) == 50 and names[0] == "Visitor 00" and names[-1] == "Visitor 49"
    assert "Page 1 of 2" in first.text and "1\u201350 of 51 conversations" in first.text
    older = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert older and html.unescape(older.group(1)) == "/admin/chats?channel=widget&page=2"
    second = await client.get(html.unescape(older.group(1)))
    assert customers(second.text) == ["Visitor 50"] and 'rel="prev"' in second.text
    beyond = await client.get(PAGE, params={"page": "7"})
    assert beyond.status_code == 200 and "No conversations match" in beyond.text


async def test_transcript_shows_every_message_as_text_with_its_facts(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await admin_of(client, db)
    answer = AnswerResult(
        text="Set your nameservers in the **domain** panel [1].",
        mode=AnswerMode.faq,
        citations=[
            Citation(
                n=1,
                title="DNS guide",
                source="dns.md",
                chunk_id=7,
                document_id=uuid.uuid4(),
                section="Nameservers",
            )
        ],
        latency_ms=42,
        model=None,
    )
    c = await conversation(
        runtime,
        org,
        ["<script>alert(1)</script> how do I change DNS?", "thanks"],
        name="Ada",
        email="ada@example.com",
        sentiment="negative",
        answer=answer,
        rating=4,
        rating_comment="Quick",
    )
    page = await client.get(f"{PAGE}/{c.id}")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; how do I change DNS?" in page.text
    item = r'<li class="pg-msg pg-(\w+)" id="m(\d+)" data-testid="transcript-message">(.*?)</li>\n'
    items = re.findall(item, page.text, re.S)
    assert [(sender, seq) for sender, seq, _ in items] == [("customer", "1"), ("bot", "2"), ("customer", "3")]
    bot = " ".join(re.sub(r"<[^>]+>", " ", items[1][2]).split())
    assert (
        bot.startswith("Assistant")
        and "FAQ 42 ms" in bot
        and "DNS guide \u203a Nameservers \u00b7 dns.md" in bot
    )
    assert "**domain**" in bot  # content is shown as written, never rendered
    assert "negative" in items[0][2] and "pg-sentiment-negative" in items[0][2]
    assert "4 ★ — Quick" in page.text and "ada@example.com" in page.text


async def test_another_organizations_conversation_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    await admin_of(client, db)
    other = await make_org(db, "Not Yours")
    theirs = await conversation(runtime, other, ["private question"])
    for path in (f"{PAGE}/{theirs.id}", f"{PAGE}/{uuid.uuid4()}", f"{PAGE}/not-an-id"):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert "<h1>Not found</h1>" in page.text and "private question" not in page.text


async def test_chats_need_a_login(client: httpx.AsyncClient, database_url: str) -> None:
    page = await client.get(PAGE)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/admin/chats"


async def test_transcript_shows_the_customers_answer_feedback(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await admin_of(client, db)
    answer = AnswerResult(text="Prices start at 3 EUR.", mode=AnswerMode.extractive, latency_ms=5)
    c = await conversation(runtime, org, ["How much is hosting?"], answer=answer)
    async with runtime.sessionmaker() as session:
        locked = await ConversationRepository(session).get(org.id, c.id, for_update=True)
        assert locked is not None
        bot = next(m for m in await ChatService(runtime).messages(session, locked) if m.sender == Sender.bot)
        await FeedbackService(session).record(
            locked,
            FeedbackCreate(message_id=bot.id, helpful=False, reason="outdated", comment="<b>old</b> prices"),
        )
        await session.commit()
    page = await client.get(f"{PAGE}/{c.id}")
    assert page.status_code == 200
    shown = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    assert "Customer: not helpful · Outdated" in html.unescape(shown)
    assert "&lt;b&gt;old&lt;/b&gt; prices" in page.text  # the visitor's comment is text, never HTML
    assert "0 helpful · 1 not helpful" in shown
