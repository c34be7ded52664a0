"""The customer's language: detected and stored, questions translated for the search, answers and bot texts
in the customer's language (the model through the real adapter and the fake OpenAI server on 127.0.0.1)."""

from __future__ import annotations

import uuid

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import Sender
from answerdesk.kit.db import session_scope
from answerdesk.knowledge.models import Chunk
from answerdesk.languages.texts import Text, say
from answerdesk.runtime import Runtime
from tests.chat.live_support import customer_headers, customer_says, live, live_org, start_conversation
from tests.chat.support import API, add_document, make_chat, stored_messages
from tests.fakes.openai_server import FakeOpenAIServer

ENGLISH_QUESTION = "How can I check that my nameserver change has worked?"
GERMAN_QUESTION = "Wie kann ich prüfen, ob die Änderung meiner Nameserver schon funktioniert hat?"


async def test_a_german_question_is_searched_in_english_and_answered_in_german(
    llm_client: httpx.AsyncClient, db: AsyncSession, llm_runtime: Runtime, fake_openai: FakeOpenAIServer
) -> None:
    chat = await make_chat(llm_client, db, llm_runtime)
    # The fake "translates": its reply to the query rewrite is scripted, then the answer's.
    fake_openai.replies = [ENGLISH_QUESTION, "Öffnen Sie cPanel > Domains [1]."]
    cid, _ = await chat.start()
    response = await chat.send(cid, GERMAN_QUESTION)
    assert response.status_code == 200, response.text

    rewrite, answer = fake_openai.requests
    assert not rewrite.stream
    assert "Write the query in English" in rewrite.messages[0]["content"]
    assert GERMAN_QUESTION in rewrite.messages[1]["content"]
    # The search used the English query and found the passage that answers it: the one holding the check.
    bot = (await stored_messages(llm_runtime, cid))[-1]
    assert bot.details["query"] == ENGLISH_QUESTION
    found = [p["chunk_id"] for p in bot.details["passages"]]
    # Among the passages the model is given (k=5; FAQ entries on the same topic may rank above it).
    assert await chunk_with(llm_runtime, chat.organization_id, "dig NS yourdomain.example") in found
    assert response.json()["citations"][0]["chunk_id"] == found[0]
    # The model is told, by name, to answer in German, and sees the customer's own words.
    assert answer.stream
    system = answer.messages[0]["content"]
    assert "Language: reply in German" in system
    assert GERMAN_QUESTION in answer.messages[-1]["content"]
    # Stored: the message's language and the conversation's.
    customer = response.json()["customer_message"]
    assert customer["language"] == "de"
    read = await chat.client.get(f"{API}/{cid}", headers=chat.headers)
    assert read.json()["language"] == "de"


async def chunk_with(runtime: Runtime, organization_id: uuid.UUID, words: str) -> int:
    async with runtime.sessionmaker() as db:
        chunk_id = await db.scalar(
            sa.select(Chunk.id).where(Chunk.organization_id == organization_id, Chunk.text.contains(words))
        )
    assert chunk_id is not None
    return int(chunk_id)


async def test_the_same_language_as_the_knowledge_base_needs_no_rewrite(
    llm_client: httpx.AsyncClient, db: AsyncSession, llm_runtime: Runtime, fake_openai: FakeOpenAIServer
) -> None:
    chat = await make_chat(llm_client, db, llm_runtime)
    fake_openai.reply = "Open cPanel > Domains [1]."
    reply = await chat.ask(ENGLISH_QUESTION)
    assert len(fake_openai.requests) == 1 and fake_openai.requests[0].stream
    assert "Language: reply in English" in fake_openai.requests[0].messages[0]["content"]
    assert reply["customer_message"]["language"] == "en"


async def test_a_failed_translation_searches_with_the_question_as_written(
    llm_client: httpx.AsyncClient, db: AsyncSession, llm_runtime: Runtime, fake_openai: FakeOpenAIServer
) -> None:
    chat = await make_chat(llm_client, db, llm_runtime)
    response = await chat.client.put(
        "/api/v1/ai-settings", headers=chat.headers, json={"model": "fake/500", "fallback_model": "fake/500"}
    )
    assert response.status_code == 200
    cid, _ = await chat.start()
    assert (await chat.send(cid, GERMAN_QUESTION)).status_code == 200
    bot = (await stored_messages(llm_runtime, cid))[-1]
    assert bot.details["query"] == GERMAN_QUESTION


async def test_short_messages_keep_the_conversation_language(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    cid, _ = await chat.start(language="fr-CA")
    read = await chat.client.get(f"{API}/{cid}", headers=chat.headers)
    assert read.json()["language"] == "fr"  # the widget's language until the visitor writes
    first = (await chat.send(cid, "Wie ändere ich meine Nameserver?")).json()
    assert first["customer_message"]["language"] == "de"
    for short in ("ok", "danke", "#48213", "ERR_SSL_PROTOCOL_ERROR"):
        reply = (await chat.send(cid, short)).json()
        assert reply["customer_message"]["language"] is None, short
    read = await chat.client.get(f"{API}/{cid}", headers=chat.headers)
    assert read.json()["language"] == "de"
    # The bot's own texts follow the conversation's language.
    assert read.json()["messages"][-1]["content"] == say(Text.no_answer, "de")


async def test_a_bad_language_hint_is_422(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    response = await chat.client.post(API, headers=chat.headers, json={"language": "<script>"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    # A well-formed tag of a language we cannot name is no error: the language stays unknown.
    cid, _ = await chat.start(language="haw")
    assert (await chat.client.get(f"{API}/{cid}", headers=chat.headers)).json()["language"] is None


async def test_extractive_answer_says_the_quotes_are_in_english(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    await add_document(
        runtime,
        chat.organization_id,
        "webmail.md",
        "# Webmail\n\nOpen webmail at https://mail.example.com and sign in with your full e-mail address "
        "and your mailbox password. Roundcube is the webmail program we use for every mailbox.",
    )
    # An English-only embedder still matches a German question that shares its key words.
    reply = await chat.ask("Webmail Roundcube: wo melde ich mich mit meiner E-Mail-Adresse an?")
    message = reply["message"]
    assert message["mode"] == "extractive"
    assert message["content"].startswith("Die unten zitierte Hilfe ist auf Englisch. ")
    assert say(Text.extractive_label, "de") in message["content"]
    assert "Roundcube" in message["content"]  # the quote itself is as written


async def test_system_messages_are_in_the_customers_language(db: AsyncSession, runtime: Runtime) -> None:
    org = await live_org(db, "Ana")
    cid, token = await start_conversation(runtime, org)
    await customer_says(runtime, org, cid, token, "Hola, ¿cómo cambio los servidores DNS de mi dominio?")
    async with session_scope(runtime.sessionmaker) as s:
        await live(runtime).take_over(s, org.id, cid, org.staff)
    async with session_scope(runtime.sessionmaker) as s:
        await live(runtime).hand_back(s, org.id, cid, org.staff)
    contents = [m.content for m in await stored_messages(runtime, str(cid)) if m.sender == Sender.system]
    assert contents == ["Ana se ha unido al chat", say(Text.handed_back, "es")]


async def test_handoff_and_leave_a_message_answer_in_the_widgets_language(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await live_org(db)
    started = await client.post(API, headers=customer_headers(org), json={"language": "it-IT"})
    cid, token = started.json()["id"], started.json()["token"]
    handoff = await client.post(f"{API}/{cid}/handoff", headers=customer_headers(org, token))
    assert handoff.json()["message"]["content"] == say(Text.waiting_offline, "it")
    left = await client.post(
        f"{API}/{cid}/leave-message",
        headers=customer_headers(org, token),
        json={"message": "Il mio sito non funziona.", "email": "giulia@example.com"},
    )
    assert left.status_code == 201, left.text
    number = left.json()["number"]
    assert left.json()["message"]["content"] == say(Text.message_received, "it", number=number)
    assert left.json()["message"]["content"].startswith("Grazie — abbiamo ricevuto il tuo messaggio")


async def test_a_curated_faq_answer_is_not_sent_to_a_customer_writing_another_language(
    llm_client: httpx.AsyncClient, db: AsyncSession, llm_runtime: Runtime, fake_openai: FakeOpenAIServer
) -> None:
    chat = await make_chat(llm_client, db, llm_runtime)
    english_faq = "What are your nameservers?"
    fake_openai.reply = "Open cPanel > Domains [1]."
    assert (await chat.ask(english_faq))["message"]["mode"] == "faq"  # answered as written, no model call
    assert fake_openai.requests == []
    # The same question in German: translated for the search, then the model answers from the FAQ in German.
    fake_openai.replies = [english_faq, "Unsere Nameserver sind ns1 und ns2 [1]."]
    cid, _ = await chat.start()
    reply = (await chat.send(cid, "Welche Nameserver muss ich bei meiner Domain eintragen?")).json()
    assert reply["message"]["mode"] == "llm"
    assert reply["message"]["content"].startswith("Unsere Nameserver")
    assert "Language: reply in German" in fake_openai.requests[-1].messages[0]["content"]
