"""Drafts: made by the sync job where the customer spoke last, regenerated, rejected; native tickets."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.answers.passages import Citation
from answerdesk.answers.pipeline import AnswerResult
from answerdesk.chat.models import AnswerMode
from answerdesk.kit.jobs import InProcessQueue
from answerdesk.runtime import Runtime
from answerdesk.tickets.drafting import confidence_of
from tests.chat.support import seed_demo_subset
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.whmcs_server import FakeWhmcs, FakeWhmcsServer
from tests.tickets.support import API, api_json, connect, drafts_of, make_tenant, ticket_by_external


async def drain(runtime: Runtime) -> None:
    assert isinstance(runtime.jobs, InProcessQueue)
    await runtime.jobs.drain(timeout=120)


async def test_sync_job_drafts_only_where_the_customer_spoke_last(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org = await make_tenant(db)
    await seed_demo_subset(runtime, org.id)
    await connect(runtime, org.id, whmcs_server)
    waiting = fake.add_ticket("Email setup", "How do I set up my email account in Outlook? Which IMAP port?")
    answered = fake.add_ticket("DNS", "How do I point my domain to your nameservers?")
    fake.add_reply(answered.id, "Use ns1 and ns2.", admin="Support Staff", status="Open")
    await runtime.jobs.enqueue("tickets.sync", organization_id=str(org.id))
    await drain(runtime)
    waiting_row = await ticket_by_external(runtime, org.id, waiting.id)
    answered_row = await ticket_by_external(runtime, org.id, answered.id)
    assert await drafts_of(runtime, answered_row.id) == []
    (draft,) = await drafts_of(runtime, waiting_row.id)
    assert draft.status == "draft" and draft.mode == "extractive" and draft.citations
    assert 0.3 <= draft.confidence <= 0.9
    assert waiting_row.category == "email" and waiting_row.sentiment_label is not None
    assert waiting_row.classification["reasons"]
    # Nothing was sent to WHMCS: auto-send is off by default.
    assert fake.calls("AddTicketReply") == []
    listed = await api_json(await client.get(API, headers=org.headers, params={"awaiting": "true"}))
    assert [t["id"] for t in listed["items"]] == [str(waiting_row.id)]
    assert listed["items"][0]["draft_status"] == "draft"


async def test_regenerate_with_instruction_then_reject(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    await seed_demo_subset(runtime, org.id)
    created = await api_json(
        await client.post(
            API,
            headers=org.headers,
            json={
                "subject": "cPanel",
                "message": "How do I log in to cPanel?",
                "customer_email": "bo@example.com",
            },
        ),
        201,
    )
    await drain(runtime)
    first = await api_json(
        await client.post(
            f"{API}/{created['id']}/draft", headers=org.headers, json={"instruction": "shorter"}
        ),
        201,
    )
    assert first["instruction"] == "shorter" and first["status"] == "draft"
    detail = await api_json(await client.get(f"{API}/{created['id']}", headers=org.headers))
    assert [d["status"] for d in detail["drafts"]] == ["superseded", "draft"]
    rejected = await api_json(
        await client.post(
            f"{API}/{created['id']}/reject", headers=org.headers, json={"reason": "wrong product"}
        )
    )
    assert rejected["status"] == "rejected"
    nothing = await client.post(f"{API}/{created['id']}/approve", headers=org.headers, json={})
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "conflict"


async def test_native_ticket_draft_edited_and_approved(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    await seed_demo_subset(runtime, org.id)
    created = await api_json(
        await client.post(
            API,
            headers=org.headers,
            json={
                "subject": "Website down",
                "message": "Our website is down and we are losing sales, please fix it urgently!",
                "customer_name": "Bo",
                "customer_email": "bo@example.com",
            },
        ),
        201,
    )
    assert created["status"] == "open" and created["source"] == "native"
    await drain(runtime)
    detail = await api_json(await client.get(f"{API}/{created['id']}", headers=org.headers))
    assert detail["priority"] == "urgent" and any("outage" in r for r in detail["classification"]["reasons"])
    draft = detail["drafts"][-1]
    sent = await api_json(
        await client.post(
            f"{API}/{created['id']}/approve",
            headers=org.headers,
            json={"text": "We are on it, Bo.", "status": "in_progress"},
        )
    )
    assert sent["status"] == "sent" and sent["id"] == draft["id"]
    assert sent["text"] == draft["text"] and sent["final_text"] == "We are on it, Bo."
    after = await api_json(await client.get(f"{API}/{created['id']}", headers=org.headers))
    assert after["status"] == "in_progress" and after["awaiting_reply"] is False
    assert [m["author"] for m in after["messages"]] == ["customer", "staff"]
    note = await api_json(
        await client.post(
            f"{API}/{created['id']}/reply", headers=org.headers, json={"text": "VIP", "note": True}
        )
    )
    assert note["author"] == "note"
    stats = await api_json(await client.get(f"{API}/stats", headers=org.headers))
    assert stats["by_status"] == {"in_progress": 1}
    assert stats["drafts"] == {"unchanged": 0, "edited": 1, "rejected": 0}


async def test_llm_draft_sees_the_thread_and_client_context(
    llm_runtime: Runtime, fake_openai: FakeOpenAIServer, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    runtime = llm_runtime
    async with runtime.sessionmaker() as session:
        org = await make_tenant(session)
    await seed_demo_subset(runtime, org.id)
    await connect(runtime, org.id, whmcs_server)
    customer = fake.add_client("Ada", "Lovelace", companyname="Analytical Ltd", overdue_invoices=2)
    ticket = fake.add_ticket("Outlook", "Outlook will not send e-mails.", client=customer.id)
    fake.add_reply(ticket.id, "Which error does Outlook show?", admin="Support Staff")
    fake.add_reply(ticket.id, "It says the SMTP server rejected the login.")
    await runtime.jobs.enqueue("tickets.sync", organization_id=str(org.id))
    await drain(runtime)
    stored = await ticket_by_external(runtime, org.id, ticket.id)
    (draft,) = await drafts_of(runtime, stored.id)
    assert draft.mode == "llm" and draft.model and draft.status == "draft"
    answer_calls = [r for r in fake_openai.requests if r.body.get("stream")]
    prompt = str(answer_calls[-1].body["messages"])
    assert "Which error does Outlook show?" in prompt  # the thread is the history
    assert "SMTP server rejected the login" in prompt
    assert "Analytical Ltd" in prompt and "overdue invoices: 2" in prompt
    assert "lovelace" not in prompt.lower()  # only what a reply needs: no surname, no e-mail


def test_confidence_follows_the_relevance_gate_above_the_organizations_cut() -> None:
    cited = [Citation(n=1, title="DNS", source="dns.md", chunk_id=1, document_id=uuid.uuid4())]

    def answer(probability: float, mode: AnswerMode = AnswerMode.llm) -> AnswerResult:
        return AnswerResult(text="…", mode=mode, citations=cited, gate={"probability": probability})

    assert confidence_of(answer(0.4), 0.4) == 0.35  # just past the cut: least sure of an answered draft
    assert confidence_of(answer(0.7), 0.4) == 0.625
    assert confidence_of(answer(1.0), 0.4) == 0.9
    assert confidence_of(answer(1.0), 0.8) == 0.9  # a stricter organization: the same scale above its cut
    assert confidence_of(answer(0.9, AnswerMode.fallback), 0.4) < confidence_of(answer(0.9), 0.4)
    assert confidence_of(answer(0.2, AnswerMode.faq), 0.4) == 0.95
    assert confidence_of(answer(0.9, AnswerMode.no_answer), 0.4) == 0.05


async def test_drafts_are_written_in_the_customers_language(
    llm_runtime: Runtime, fake_openai: FakeOpenAIServer, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    runtime = llm_runtime
    async with runtime.sessionmaker() as session:
        org = await make_tenant(session)
    await seed_demo_subset(runtime, org.id)
    await connect(runtime, org.id, whmcs_server)
    german = fake.add_ticket(
        "Outlook", "Outlook sendet keine E-Mails mehr. Welchen Port muss ich für den Postausgang eintragen?"
    )
    # The question, translated for the search; then the answer.
    fake_openai.replies = [
        "Outlook does not send e-mails any more. Which port do I enter for outgoing mail (SMTP)?",
        "Tragen Sie für den Postausgang Port 465 mit SSL/TLS ein [1].",
    ]
    await runtime.jobs.enqueue("tickets.sync", organization_id=str(org.id))
    await drain(runtime)
    stored = await ticket_by_external(runtime, org.id, german.id)
    assert stored.language == "de"
    (draft,) = await drafts_of(runtime, stored.id)
    assert draft.mode == "llm" and draft.text.startswith("Tragen Sie"), draft.text
    rewrite, answer = fake_openai.requests[-2:]
    assert "Postausgang" in str(rewrite.body["messages"]) and "English" in str(rewrite.body["messages"])
    assert "Language: reply in German" in answer.messages[0]["content"]

    # Too short to tell: the WHMCS client's language decides.
    french_client = fake.add_client("Jean", "Dupont")
    french_client.language = "french"
    short = fake.add_ticket("Merci", "ok ???", client=french_client.id)
    await runtime.jobs.enqueue("tickets.sync", organization_id=str(org.id))
    await drain(runtime)
    assert (await ticket_by_external(runtime, org.id, short.id)).language == "fr"
