"""Answers without an LLM (the embedded default): FAQ answers, quoted passages, honest refusals, handoff."""

from __future__ import annotations

import json

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.answers.extractive import EXTRACTIVE_LABEL
from answerdesk.answers.pipeline import HANDOFF, NO_ANSWER
from answerdesk.demo.seed import demo_files
from answerdesk.runtime import Runtime
from tests.chat.support import make_chat, stored_messages

FAQ = {item["question"]: item["answer"] for item in json.loads(dict(demo_files())["faq.json"])}


async def test_faq_question_gets_the_curated_answer_as_written(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime)
    question = "How do I point my domain to your nameservers?"
    reply = await chat.ask(question)
    message = reply["message"]
    assert message["mode"] == "faq"
    assert message["content"].startswith(FAQ[question])
    assert len(reply["citations"]) == 1
    citation = reply["citations"][0]
    assert f"[{citation['n']}]" in message["content"]
    assert citation["source"] == "faq.json"
    assert reply["handoff"] is False
    assert message["prompt_tokens"] is None  # no model was asked


async def test_question_outside_the_knowledge_base_gets_an_honest_refusal(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime)
    for question in ("What is the capital of France?", "Can you recommend a good pizza place?"):
        reply = await chat.ask(question)
        assert reply["message"]["mode"] == "no_answer", question
        assert reply["message"]["content"] == NO_ANSWER
        assert reply["citations"] == []
        assert reply["handoff"] is True


async def test_extractive_answer_quotes_and_cites_the_right_passage(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime)
    reply = await chat.ask("How can I check that my nameserver change has worked?")
    message = reply["message"]
    assert message["mode"] == "extractive"
    assert message["content"].startswith(EXTRACTIVE_LABEL)
    assert reply["citations"], message
    assert reply["citations"][0]["source"] == "dns.md"
    for citation in reply["citations"]:
        assert f"[{citation['n']}]" in message["content"]
    # Every citation points at the passage the answer quotes: the chunk text holds the quoted lines.
    stored = await stored_messages(runtime, message["conversation_id"])
    passages = {p["n"]: p for p in stored[-1].details["passages"]}
    for citation in reply["citations"]:
        assert passages[citation["n"]]["chunk_id"] == citation["chunk_id"]
    assert reply["suggestions"] and all(s != message["content"] for s in reply["suggestions"])


async def test_follow_up_is_answered_in_context(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime)
    cid, _ = await chat.start()
    first = await chat.send(cid, "How do I set up my email in Thunderbird?")
    assert first.status_code == 200 and first.json()["citations"]
    follow = await chat.send(cid, "and what about the ports?")
    assert follow.status_code == 200
    stored = await stored_messages(runtime, cid)
    query = stored[-1].details["query"]
    assert query != "and what about the ports?" and "Thunderbird" in query
    assert follow.json()["citations"][0]["source"] == "email-setup.md"


async def test_customer_messages_get_sentiment_and_frustration_sets_handoff(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime)
    cid, _ = await chat.start()
    calm = await chat.send(cid, "Thanks, that was really helpful!")
    assert calm.json()["customer_message"]["sentiment_label"] == "positive"
    angry = await chat.send(cid, "This is the THIRD time my email has stopped working. Absolutely useless!!!")
    customer = angry.json()["customer_message"]
    assert customer["sentiment_label"] == "negative"
    assert customer["frustrated"] is True
    assert angry.json()["handoff"] is True
    conversation = (await chat.get(cid)).json()
    assert conversation["handoff"] is True


async def test_asking_for_a_human_hands_off_without_an_answer(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    reply = await chat.ask("Can I talk to a real person please?")
    assert reply["message"]["mode"] == "handoff"
    assert reply["message"]["content"] == HANDOFF
    assert reply["handoff"] is True


async def test_empty_knowledge_base_refuses(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    reply = await chat.ask("How do I reset my cPanel password?")
    assert reply["message"]["mode"] == "no_answer"
    assert reply["handoff"] is True


async def test_streamed_offline_answer_has_the_same_shape(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime)
    cid, _ = await chat.start()
    events = await chat.stream(cid, "How do I reset my cPanel password?")
    assert [e.event for e in events][-1] == "done"
    tokens = "".join(e.data["text"] for e in events if e.event == "token")
    done = events[-1].data
    assert done["message"]["sender"] == "bot"
    assert tokens == done["message"]["content"]
    assert set(done) == {"message", "customer_message", "citations", "suggestions", "handoff"}
