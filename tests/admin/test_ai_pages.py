"""AI settings page and Playground over HTTP: validation in words, persistence, roles, streaming, details."""

from __future__ import annotations

import html
import re
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.admin.routes.ai import render_answer
from answerdesk.answers.pipeline import NO_ANSWER
from answerdesk.answers.prompt import DEFAULT_SYSTEM_PROMPT, GUARDRAIL_RULES
from answerdesk.answers.service import AiSettingsService
from answerdesk.auth.models import Role
from answerdesk.auth.service import AuditService
from answerdesk.chat.models import Channel
from answerdesk.chat.repository import ConversationFilter
from answerdesk.chat.schemas import ConversationCreate
from answerdesk.chat.service import ChatService
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from tests.chat.support import parse_sse, seed_demo_subset, stored_messages
from tests.factories import LoggedIn, logged_in, make_member, make_org
from tests.fakes.openai_server import FakeOpenAIServer

PLAYGROUND = "/admin/ai/playground"
FAQ_QUESTION = "How do I point my domain to your nameservers?"
VALID = {
    "model": "acme/large",
    "fallback_model": "",
    "temperature": "0.7",
    "max_tokens": "900",
    "top_p": "",
    "system_prompt": "You help {organization} customers.\r\nBe brief.",
    "answer_language": "German",
    "retrieval_k": "7",
    "relevance_threshold": "0.5",
    "faq_threshold": "0.9",
}


async def member_of(
    client: httpx.AsyncClient, db: AsyncSession, role: Role = Role.admin, org: Organization | None = None
) -> tuple[Organization, LoggedIn]:
    org = org or await make_org(db, "AI Co")
    m = await make_member(db, org, role)
    return org, await logged_in(client, m.user.email)


def field_value(page: str, name: str) -> str:
    match = re.search(rf'<input id="ai-{name}" name="{name}"[^>]*?value="([^"]*)"', page, re.S)
    assert match, f"no input {name}"
    return html.unescape(match.group(1))


def field_hint(page: str, name: str) -> str:
    match = re.search(rf'<small id="{name}-hint"[^>]*>(.*?)</small>', page, re.S)
    assert match, f"no hint for {name}"
    return html.unescape(match.group(1))


# --- AI settings -----------------------------------------------------------------------------------


async def test_settings_page_shows_defaults_the_effective_prompt_and_the_extractive_banner(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    await member_of(client, db)
    page = await client.get("/admin/ai")
    assert page.status_code == 200
    assert "<h1>AI settings</h1>" in page.text
    assert "Extractive mode: no LLM API key configured — answers quote your knowledge base" in page.text
    assert f'placeholder="{runtime.settings.llm_model}"' in page.text
    textarea = re.search(r'<textarea id="ai-system_prompt"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert textarea and html.unescape(textarea.group(1)) == DEFAULT_SYSTEM_PROMPT
    assert GUARDRAIL_RULES.splitlines()[1] in html.unescape(page.text)
    assert field_value(page.text, "temperature") == "0.2" and field_value(page.text, "top_p") == ""
    assert 'href="/admin/ai" aria-current="page"' in page.text


async def test_saved_settings_persist_are_used_and_audited(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await member_of(client, db)
    saved = await client.post("/admin/ai", data={**VALID, "csrf_token": admin.csrf})
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/ai"
    page = await client.get("/admin/ai")
    assert "AI settings saved" in page.text
    assert field_value(page.text, "model") == "acme/large"
    assert field_value(page.text, "temperature") == "0.7" and field_value(page.text, "retrieval_k") == "7"
    assert "You help {organization} customers.\nBe brief.</textarea>" in page.text
    async with runtime.sessionmaker() as fresh:
        ai = await AiSettingsService(fresh).get(org.id)
        entries = await AuditService(fresh).list(org.id)
    assert (ai.model, ai.fallback_model, ai.top_p, ai.answer_language) == ("acme/large", None, None, "German")
    assert ai.system_prompt == "You help {organization} customers.\nBe brief."
    assert (ai.retrieval_k, ai.relevance_threshold, ai.faq_threshold) == (7, 0.5, 0.9)
    audit = [e for e in entries if e.action == "ai_settings.update"]
    assert len(audit) == 1 and "Model" in audit[0].target and "System prompt" in audit[0].target

    # The untouched default prompt is stored as "use the default", so a better default reaches everyone.
    back = {**VALID, "system_prompt": DEFAULT_SYSTEM_PROMPT.replace("\n", "\r\n"), "csrf_token": admin.csrf}
    assert (await client.post("/admin/ai", data=back)).status_code == 303
    async with runtime.sessionmaker() as fresh:
        assert (await AiSettingsService(fresh).get(org.id)).system_prompt == ""


async def test_invalid_values_are_explained_next_to_their_fields_and_kept(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await member_of(client, db)
    bad = {
        **VALID,
        "temperature": "3",
        "max_tokens": "lots",
        "top_p": "0",
        "answer_language": "Klingon!!",
        "relevance_threshold": "1.5",
        "csrf_token": admin.csrf,
    }
    page = await client.post("/admin/ai", data=bad)
    assert page.status_code == 422
    assert "nothing was saved" in page.text
    assert field_hint(page.text, "temperature") == "Enter a number from 0 to 2."
    assert field_hint(page.text, "max_tokens") == "Enter a whole number, such as 5."
    assert field_hint(page.text, "top_p") == "Enter a number above 0 and at most 1."
    assert "Use 'auto', a language name" in field_hint(page.text, "answer_language")
    assert field_hint(page.text, "relevance_threshold") == "Enter a number from 0 to 1."
    assert 'id="ai-temperature" name="temperature"' in page.text and 'aria-invalid="true"' in page.text
    for name in ("temperature", "max_tokens", "top_p", "answer_language", "model"):
        assert field_value(page.text, name) == bad[name]
    async with runtime.sessionmaker() as fresh:
        assert (await AiSettingsService(fresh).get(org.id)).model is None


async def test_staff_may_not_open_or_change_ai_settings(client: httpx.AsyncClient, db: AsyncSession) -> None:
    _, staff = await member_of(client, db, Role.staff)
    page = await client.get("/admin/ai")
    assert page.status_code == 403 and "Only organization admins" in page.text
    change = await client.post("/admin/ai", data={**VALID, "csrf_token": staff.csrf})
    assert change.status_code == 403
    dash = await client.get("/admin")
    assert 'href="/admin/ai"' not in dash.text and f'href="{PLAYGROUND}"' in dash.text


async def test_saving_without_the_csrf_token_is_refused(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await member_of(client, db)
    response = await client.post("/admin/ai", data=VALID)
    assert response.status_code == 403 and "did not come from this site" in response.text


async def test_banner_names_the_model_and_host_when_an_llm_is_configured(
    llm_client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await member_of(llm_client, db)
    page = await llm_client.get("/admin/ai")
    assert "LLM: fake/ok via 127.0.0.1" in page.text
    assert 'placeholder="none"' in page.text  # no instance fallback model


# --- Playground ------------------------------------------------------------------------------------


def test_answers_render_markdown_safely_and_link_known_citations() -> None:
    out = render_answer(
        "<script>alert(1)</script> **Open** `DNS` [1][9]\n\n- step [2]\n\n[x](javascript:alert(1)) ![i](http://h/i.png)",
        [{"n": 1}, {"n": 2}],
        "m2",
    )
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<strong>Open</strong>" in out and "<code>DNS</code>" in out and "<li>step" in out
    assert '<a class="pg-cite" href="#m2-src-1" aria-label="Source 1">[1]</a>[9]' in out
    assert 'href="#m2-src-2"' in out
    assert "javascript:" not in out.replace("[x](javascript:alert(1))", "") and "<img" not in out


async def start(client: httpx.AsyncClient, who: LoggedIn) -> str:
    response = await client.post(f"{PLAYGROUND}/conversations", headers=who.headers())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def ask(client: httpx.AsyncClient, who: LoggedIn, cid: str, question: str) -> httpx.Response:
    return await client.post(
        f"{PLAYGROUND}/conversations/{cid}/messages",
        data={"content": question},
        headers={**who.headers(), "Accept": "text/event-stream"},
    )


async def test_staff_get_a_streamed_faq_answer_with_its_details(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, staff = await member_of(client, db, Role.staff)
    await seed_demo_subset(runtime, org.id)
    page = await client.get(PLAYGROUND)
    assert page.status_code == 200 and "<h1>Playground</h1>" in page.text
    assert "Extractive mode" in page.text and "/static/playground.js" in page.text
    cid = await start(client, staff)
    reply = await ask(client, staff, cid, FAQ_QUESTION)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(reply.text)
    assert [e.event for e in events][-1] == "done" and events[0].event == "token"
    done = events[-1].data
    assert done["message"]["mode"] == "faq" and done["citations"]

    shown = await client.get(f"{PLAYGROUND}/conversations/{cid}/messages", params={"after": 0})
    assert shown.status_code == 200
    n = done["citations"][0]["n"]
    assert f'href="#m2-src-{n}"' in shown.text and f'id="m2-src-{n}"' in shown.text
    assert 'data-mode="faq"' in shown.text and ">FAQ</span>" in shown.text
    assert f"<dd>{FAQ_QUESTION}</dd>" in shown.text  # the standalone query
    assert "faq.json" in shown.text and "Cosine" in shown.text and "none (no model call)" in shown.text
    stored = await stored_messages(runtime, cid)
    assert [m.sender for m in stored] == ["customer", "bot"]
    passage = stored[1].details["passages"][0]
    # The cosine shown is the better of the entry's and, for an FAQ entry, its question's.
    cosine = max(passage["dense_score"] or 0.0, passage["question_score"] or 0.0)
    assert f"{passage['score']:.4f}" in shown.text and f"{cosine:.3f}" in shown.text
    assert stored[0].sentiment_label and f"pg-sentiment-{stored[0].sentiment_label}" in shown.text

    # Reloading with the conversation in the URL shows it again; the refusal offers a person.
    refusal = parse_sse((await ask(client, staff, cid, "What is the capital of France?")).text)[-1].data
    assert refusal["message"]["mode"] == "no_answer" and refusal["handoff"] is True
    again = await client.get(PLAYGROUND, params={"c": cid})
    assert again.text.count('data-testid="pg-bot"') == 2 and "Offers a human" in again.text
    assert NO_ANSWER in html.unescape(again.text)
    assert f'href="/admin/chats/{cid}"' in again.text


async def test_llm_answers_show_model_and_token_counts(
    llm_client: httpx.AsyncClient, llm_app: FastAPI, db: AsyncSession, fake_openai: FakeOpenAIServer
) -> None:
    runtime: Runtime = llm_app.state.runtime
    org, admin = await member_of(llm_client, db)
    await seed_demo_subset(runtime, org.id)
    fake_openai.reply = "Use **dig** to check your nameservers [1]."
    cid = await start(llm_client, admin)
    events = parse_sse((await ask(llm_client, admin, cid, "How can I check my nameserver change?")).text)
    assert len([e for e in events if e.event == "token"]) > 1  # streamed token by token
    message = events[-1].data["message"]
    assert message["mode"] == "llm"
    shown = (await llm_client.get(f"{PLAYGROUND}/conversations/{cid}/messages", params={"after": 1})).text
    assert "<strong>dig</strong>" in shown and ">LLM</span>" in shown and "<dd>fake/ok</dd>" in shown
    assert f"{message['prompt_tokens']} prompt · {message['completion_tokens']} completion" in shown


async def test_playground_only_touches_its_own_conversations(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await member_of(client, db)
    async with runtime.sessionmaker() as s:
        customer_chat, _ = await ChatService(runtime).start(s, org.id, ConversationCreate(), Channel.widget)
        await s.commit()
    other = await make_org(db, "Elsewhere")
    async with runtime.sessionmaker() as s:
        foreign, _ = await ChatService(runtime).start(s, other.id, ConversationCreate(), Channel.playground)
        await s.commit()
    for cid in (str(customer_chat.id), str(foreign.id), str(uuid.uuid4()), "not-a-uuid"):
        sent = await ask(client, admin, cid, "Hello?")
        assert sent.status_code == 404 and sent.json()["error"]["message"] == "Conversation not found.", cid
        assert (await client.get(f"{PLAYGROUND}/conversations/{cid}/messages")).status_code == 404
    page = await client.get(PLAYGROUND, params={"c": str(foreign.id)})
    assert page.status_code == 200 and "not a playground conversation of this organization" in page.text
    assert await stored_messages(runtime, str(customer_chat.id)) == []


async def test_bad_messages_come_back_as_readable_json(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await member_of(client, db)
    cid = await start(client, admin)
    async with runtime.sessionmaker() as s:
        rows, total = await ChatService(runtime).list(s, org.id, ConversationFilter(), limit=5, offset=0)
    assert total == 1 and rows[0].channel == Channel.playground
    assert rows[0].customer_name and rows[0].customer_name.startswith("Playground (")
    empty = await ask(client, admin, cid, "   ")
    assert empty.status_code == 422 and empty.json()["error"]["message"] == "The message is empty."
    long = await ask(client, admin, cid, "x" * (runtime.settings.max_message_chars + 1))
    assert long.status_code == 422 and "too long" in long.json()["error"]["message"]
    no_csrf = await client.post(f"{PLAYGROUND}/conversations/{cid}/messages", data={"content": "Hi"})
    assert no_csrf.status_code == 403
    assert (await client.post(f"{PLAYGROUND}/conversations")).status_code == 403
    assert await stored_messages(runtime, cid) == []
