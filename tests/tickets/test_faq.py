"""Save as FAQ: one click on a sent reply, or every approved reply by setting; personal data stripped."""

from __future__ import annotations

import uuid

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.jobs import InProcessQueue
from answerdesk.knowledge.models import Document
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from answerdesk.tickets.models import Draft
from tests.factories import bearer, make_key
from tests.fakes.whmcs_server import FakeWhmcsServer
from tests.tickets.native import native_ticket
from tests.tickets.support import API, Org, api_json, connect, make_tenant

QUESTION = (
    "Hello,\nsince this morning mail to john@acme-shop.com bounces. My IP is 203.0.113.9, "
    "call me on +44 20 7946 0958.\n\nThanks,\nJohn Smith"
)
REPLY = (
    "Hi John,\n\nThe mailbox of john@acme-shop.com was full, so mail to www.acme-shop.com bounced. "
    "Raise the quota in cPanel under Email Accounts (ticket #482913).\n\nKind regards,\nSarah\nAcme Hosting"
)


async def faqs_of(runtime: Runtime, organization_id: uuid.UUID) -> list[Document]:
    async with runtime.sessionmaker() as db:
        rows = await db.scalars(
            sa.select(Document).where(Document.organization_id == organization_id, Document.source == "faq")
        )
        return list(rows.all())


async def send_reply(client: httpx.AsyncClient, org: Org, ticket_id: uuid.UUID, text: str = REPLY) -> str:
    sent = await api_json(
        await client.post(f"{API}/{ticket_id}/reply", headers=org.headers, json={"text": text})
    )
    assert sent["status"] == "sent"
    return str(sent["id"])


async def test_one_click_saves_a_stripped_faq_once(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    ticket = await native_ticket(runtime, org.id, QUESTION, subject="Mail bounces for acme-shop.com")
    draft_id = await send_reply(client, org, ticket.id)
    url = f"{API}/{ticket.id}/replies/{draft_id}/faq"
    saved = await api_json(await client.post(url, headers=org.headers), 201)
    assert isinstance(runtime.jobs, InProcessQueue)
    await runtime.jobs.drain(timeout=120)  # the FAQ was queued for ingestion after the commit
    (doc,) = await faqs_of(runtime, org.id)
    assert saved["document_id"] == str(doc.id)
    assert doc.tags == ["from-ticket"] and doc.status == "ready"
    assert doc.question == (
        "Mail bounces for [domain]: Since this morning mail to [email] bounces. "
        "My IP is [IP address], call me on [phone]."
    )
    assert doc.answer == (
        "The mailbox of [email] was full, so mail to [domain] bounced. "
        "Raise the quota in cPanel under Email Accounts (ticket [ticket number])."
    )
    for secret in ("John", "Smith", "acme-shop", "203.0.113", "7946", "482913", "Sarah"):
        assert secret not in f"{doc.question} {doc.answer}"
    # A second click returns the same FAQ instead of a duplicate.
    again = await api_json(await client.post(url, headers=org.headers), 201)
    assert again["document_id"] == saved["document_id"] and len(await faqs_of(runtime, org.id)) == 1


async def test_only_sent_replies_and_only_with_the_knowledge_scope(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    ticket = await native_ticket(runtime, org.id)
    async with runtime.sessionmaker() as session:
        pending = Draft(organization_id=org.id, ticket_id=ticket.id, text="A draft", mode="extractive")
        session.add(pending)
        await session.commit()
    refused = await client.post(f"{API}/{ticket.id}/replies/{pending.id}/faq", headers=org.headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
    draft_id = await send_reply(client, org, ticket.id, "Raise the quota.")
    organization = await db.get(Organization, org.id)
    assert organization is not None
    tickets_only = bearer(await make_key(db, organization, scopes=["tickets"]))
    forbidden = await client.post(f"{API}/{ticket.id}/replies/{draft_id}/faq", headers=tickets_only)
    assert forbidden.status_code == 403
    other = await make_tenant(db)
    hidden = await client.post(f"{API}/{ticket.id}/replies/{draft_id}/faq", headers=other.headers)
    assert hidden.status_code == 404
    assert await faqs_of(runtime, org.id) == []


async def test_org_setting_saves_every_approved_reply(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    organization = await db.get(Organization, org.id)
    assert organization is not None
    organization.settings = {**(organization.settings or {}), "tickets": {"save_approved_as_faq": True}}
    await db.commit()
    ticket = await native_ticket(runtime, org.id, "How do I raise my mailbox quota?", subject="Quota")
    draft_id = await send_reply(client, org, ticket.id, "In cPanel, open Email Accounts and edit the quota.")
    (doc,) = await faqs_of(runtime, org.id)
    assert doc.question == "How do I raise my mailbox quota?"  # the subject says nothing more
    assert doc.answer == "In cPanel, open Email Accounts and edit the quota."
    async with runtime.sessionmaker() as session:
        draft = await session.get(Draft, uuid.UUID(draft_id))
        assert draft is not None and draft.trace["faq_document_id"] == str(doc.id)


async def test_setting_on_the_whmcs_connection_counts_too(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_tenant(db)
    await connect(runtime, org.id, whmcs_server, save_approved_as_faq=True)
    ticket = await native_ticket(runtime, org.id, "How do I add a mailbox?", subject="Mailbox")
    await send_reply(client, org, ticket.id, "Email Accounts → Create.")
    assert [d.answer for d in await faqs_of(runtime, org.id)] == ["Email Accounts → Create."]


async def test_setting_off_saves_nothing(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    ticket = await native_ticket(runtime, org.id)
    await send_reply(client, org, ticket.id, "Done.")
    assert await faqs_of(runtime, org.id) == []
