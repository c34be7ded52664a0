"""The AI answer quota: counted per period before answering, never past the limit, a human offered after."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.billing.service import AnswerQuota
from answerdesk.languages.texts import Text, say
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from tests.billing.support import answers_used, put_on_plan
from tests.chat.support import Chat, add_document, make_chat, seed_demo_subset
from tests.conftest import app_client, make_settings, started_app
from tests.factories import bearer, make_key, make_org
from tests.fakes.openai_server import FakeOpenAIServer

FAQ_QUESTION = "How do I point my domain to your nameservers?"
OUTSIDE = "What is the capital of France?"
QUOTA_TEXT = say(Text.cannot_answer, "en")


async def test_answers_are_counted_until_the_limit_then_a_person_is_offered(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime)
    org = await db.get_one(Organization, chat.organization_id)
    await put_on_plan(db, runtime.settings, org, answers_per_month=2)

    # Nothing relevant found: said so, offered a person, not counted.
    reply = await chat.ask(OUTSIDE)
    assert reply["message"]["mode"] == "no_answer"
    assert await answers_used(db, org.id) == 0
    for _ in range(2):
        reply = await chat.ask(FAQ_QUESTION)
        assert reply["message"]["mode"] == "faq" and reply["handoff"] is False
    assert await answers_used(db, org.id) == 2

    conversation_id, _ = await chat.start()
    response = await chat.send(conversation_id, FAQ_QUESTION)
    assert response.status_code == 200  # a normal reply, never an error
    reply = response.json()
    assert reply["handoff"] is True
    assert reply["message"]["mode"] == "quota"
    assert reply["message"]["content"] == QUOTA_TEXT
    assert reply["citations"] == []
    assert await answers_used(db, org.id) == 2
    usage = (await client.get("/api/v1/billing/usage", headers=chat.headers)).json()
    assert usage["answers_used"] == 2 and usage["answers_limit"] == 2
    # The conversation stays with the bot until the customer takes the offer; staff see the handoff.
    conversation = (await chat.get(conversation_id)).json()
    assert conversation["handoff"] is True and conversation["status"] == "bot"


async def test_quota_reply_in_the_customers_language_and_over_sse(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    chat = Chat(client, bearer(await make_key(db, org)), runtime, org.id)
    await put_on_plan(db, runtime.settings, org, answers_per_month=0)
    # A German help centre, so that there is something to answer from: otherwise it is a "don't know".
    await add_document(
        runtime,
        org.id,
        "outlook.md",
        "# E-Mail in Outlook einrichten\n\nUm Ihr E-Mail-Konto in Outlook einzurichten, öffnen Sie Datei > "
        "Konto hinzufügen, geben Sie Ihre E-Mail-Adresse ein und wählen Sie IMAP. Posteingangsserver: "
        "mail.example.com, Port 993.",
    )
    conversation_id, _ = await chat.start(language="de")
    events = await chat.stream(conversation_id, "Wie richte ich mein E-Mail-Konto in Outlook ein?")
    assert [e.event for e in events] == ["token", "done"]
    done = events[-1].data
    assert done["handoff"] is True and done["message"]["mode"] == "quota"
    assert done["message"]["content"] == say(Text.cannot_answer, "de")
    assert events[0].data["text"] == say(Text.cannot_answer, "de")


async def test_asking_for_a_person_is_not_an_ai_answer(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    chat = Chat(client, bearer(await make_key(db, org)), runtime, org.id)
    await put_on_plan(db, runtime.settings, org, answers_per_month=0)
    reply = await chat.ask("I want to talk to a human")
    assert reply["message"]["mode"] == "handoff" and reply["handoff"] is True


async def test_no_model_call_once_the_quota_is_used_up(
    llm_client: httpx.AsyncClient, llm_runtime: Runtime, fake_openai: FakeOpenAIServer
) -> None:
    async with llm_runtime.sessionmaker() as db:
        org = await make_org(db)
        chat = Chat(llm_client, bearer(await make_key(db, org)), llm_runtime, org.id)
        await put_on_plan(db, llm_runtime.settings, org, answers_per_month=1)
    await seed_demo_subset(llm_runtime, org.id, ("dns.md",))
    first = await chat.ask("How can I check that my nameserver change has worked?")
    assert first["message"]["mode"] == "llm"
    calls = len(fake_openai.requests)
    assert calls >= 1
    second = await chat.ask("How long does DNS propagation take?")
    assert second["message"]["mode"] == "quota" and second["handoff"] is True
    # A follow-up, which the model would first make standalone: not even that call.
    response = await chat.send(second["message"]["conversation_id"], "And how long does that take?")
    assert response.status_code == 200, response.text
    assert response.json()["message"]["mode"] == "quota"
    assert len(fake_openai.requests) == calls


async def test_a_failed_answer_is_given_back(
    llm_client: httpx.AsyncClient, llm_runtime: Runtime, fake_openai: FakeOpenAIServer
) -> None:
    """The answer is counted before the model is called; the model failing with nothing to quote instead
    leaves the customer without an answer, and the count is given back."""
    async with llm_runtime.sessionmaker() as db:
        org = await make_org(db)
        chat = Chat(llm_client, bearer(await make_key(db, org)), llm_runtime, org.id)
        await put_on_plan(db, llm_runtime.settings, org, answers_per_month=5)
    reply = await chat.ask(OUTSIDE)
    assert reply["message"]["mode"] == "no_answer"
    async with llm_runtime.sessionmaker() as db:
        assert await answers_used(db, org.id) == 0


async def test_concurrent_reservations_from_two_processes_never_overshoot(
    database_url: str, tmp_path: Path
) -> None:
    """Two app instances (each its own engine and pool, as two replicas) count against one row."""
    settings = make_settings(database_url, tmp_path / "data")
    async with started_app(settings) as one, started_app(settings) as two:
        rt1: Runtime = one.state.runtime
        rt2: Runtime = two.state.runtime
        async with rt1.sessionmaker() as db:
            org = await make_org(db)
            await put_on_plan(db, settings, org, answers_per_month=7)
        quotas = [AnswerQuota(rt.sessionmaker, settings, rt.jobs) for rt in (rt1, rt2)]
        limit = 7
        results = await asyncio.gather(*(quotas[i % 2].reserve(org.id) for i in range(24)))
        granted = [r for r in results if r is not None]
        assert len(granted) == limit
        assert sorted(r.used for r in granted) == list(range(1, limit + 1))
        async with rt2.sessionmaker() as db:
            assert await answers_used(db, org.id) == limit
        # A released answer can be taken again, once.
        await quotas[0].release(granted[0])
        again = await asyncio.gather(*(quotas[i % 2].reserve(org.id) for i in range(6)))
        assert sum(r is not None for r in again) == 1


async def test_concurrent_chat_answers_on_two_replicas(database_url: str, tmp_path: Path) -> None:
    """Customers asking at once through two app instances: exactly the plan's answers are given."""
    settings = make_settings(database_url, tmp_path / "data")
    async with started_app(settings) as one, started_app(settings) as two:
        rt1: Runtime = one.state.runtime
        async with rt1.sessionmaker() as db:
            org = await make_org(db)
            key = await make_key(db, org)
            await put_on_plan(db, settings, org, answers_per_month=3)
        await seed_demo_subset(rt1, org.id, ("faq.json",))
        async with app_client(one) as c1, app_client(two, ip="203.0.113.11") as c2:
            chats = [Chat(c, bearer(key), rt1, org.id) for c in (c1, c2)]
            replies = await asyncio.gather(*(chats[i % 2].ask(FAQ_QUESTION) for i in range(8)))
        modes = sorted(r["message"]["mode"] for r in replies)
        assert modes == ["faq"] * 3 + ["quota"] * 5
        async with rt1.sessionmaker() as db:
            assert await answers_used(db, org.id) == 3


async def test_unlimited_plan_counts_but_never_stops(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)  # the default plan: enterprise, unlimited
    quota = AnswerQuota(runtime.sessionmaker, runtime.settings, runtime.jobs)
    for n in range(1, 4):
        reservation = await quota.reserve(org.id)
        assert reservation is not None and reservation.used == n and reservation.limit is None


async def test_answers_on_an_unlimited_plan_are_on_record_when_the_reply_arrives(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)  # the default plan: enterprise, unlimited
    org_id = org.id
    chat = Chat(client, bearer(await make_key(db, org)), runtime, org_id)
    await seed_demo_subset(runtime, org_id, ("faq.json",))
    for asked in range(1, 4):
        reply = await chat.ask(FAQ_QUESTION)
        assert reply["message"]["mode"] == "faq"
        await db.rollback()  # a fresh snapshot
        assert await answers_used(db, org_id) == asked
    reply = await chat.ask(OUTSIDE)  # not answered: not counted
    assert reply["message"]["mode"] == "no_answer"
    await db.rollback()
    assert await answers_used(db, org_id) == 3


async def test_concurrent_reservations_on_one_process_are_counted_together(
    db: AsyncSession, runtime: Runtime
) -> None:
    """A burst counts in a few UPDATEs of the usage row, not one per answer, and still exactly."""
    org = await make_org(db)
    await put_on_plan(db, runtime.settings, org, answers_per_month=30)
    updates: list[str] = []

    def count_updates(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE USAGE_PERIOD"):
            updates.append(statement)

    quota = AnswerQuota(runtime.sessionmaker, runtime.settings, runtime.jobs)
    sync_engine = runtime.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count_updates)
    try:
        results = await asyncio.gather(*(quota.reserve(org.id) for _ in range(40)))
    finally:
        event.remove(sync_engine, "before_cursor_execute", count_updates)
    granted = [r for r in results if r is not None]
    assert sorted(r.used for r in granted) == list(range(1, 31))  # each count given once, none past 30
    assert await answers_used(db, org.id) == 30
    # 40 answers, counted in far fewer statements: the burst's first, then the rest together (one by one
    # only for the batch the limit cuts into).
    assert len(updates) < 40


async def test_a_reservation_whose_caller_left_is_given_back(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)
    await put_on_plan(db, runtime.settings, org, answers_per_month=10)
    quota = AnswerQuota(runtime.sessionmaker, runtime.settings, runtime.jobs)
    first = asyncio.ensure_future(quota.reserve(org.id))
    await asyncio.sleep(0)  # its count is under way: the next callers wait for the next one
    waiting = [asyncio.ensure_future(quota.reserve(org.id)) for _ in range(3)]
    await asyncio.sleep(0)
    waiting[0].cancel()
    assert await first is not None
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert all(r is not None and not isinstance(r, BaseException) for r in results[1:])
    await asyncio.sleep(0.05)
    for _ in range(50):
        if await answers_used(db, org.id) == 3:
            break
        await db.rollback()
        await asyncio.sleep(0.05)
    assert await answers_used(db, org.id) == 3  # the one who left was counted, then given back
