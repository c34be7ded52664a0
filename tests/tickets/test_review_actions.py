"""Review actions beyond approve/reject: background redrafts, saved edits, un-assigning, and customer
replies to native tickets over the API."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import ValidationFailed
from answerdesk.kit.jobs import InProcessQueue
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from answerdesk.tickets.models import Draft, Ticket
from answerdesk.tickets.service import TicketService
from answerdesk.tickets.sync import sync_whmcs
from answerdesk.tickets.tasks import _drafting_failed
from tests.chat.support import seed_demo_subset
from tests.factories import make_member, make_org
from tests.fakes.whmcs_server import FakeWhmcs, FakeWhmcsServer
from tests.tickets.native import native_ticket
from tests.tickets.support import (
    API,
    api_json,
    connect,
    drafts_of,
    make_tenant,
    messages_of,
    ticket_by_external,
)


async def drain(runtime: Runtime) -> None:
    assert isinstance(runtime.jobs, InProcessQueue)
    await runtime.jobs.drain(timeout=120)


async def _ticket(runtime: Runtime, ticket_id: uuid.UUID | str) -> Ticket:
    async with runtime.sessionmaker() as db:
        ticket = await db.get(Ticket, uuid.UUID(str(ticket_id)))
        assert ticket is not None
        return ticket


async def _mark_drafting(runtime: Runtime, ticket_id: uuid.UUID, minutes_ago: float) -> None:
    async with runtime.sessionmaker() as db:
        await db.execute(
            sa.update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(drafting_since=utcnow() - timedelta(minutes=minutes_ago), drafting_instruction="shorter")
        )
        await db.commit()


async def test_background_redraft_follows_the_instruction_and_refuses_a_second_meanwhile(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    await seed_demo_subset(runtime, org.id)
    ticket = await native_ticket(runtime, org.id, "How do I log in to cPanel?", subject="cPanel")
    queued = await client.post(
        f"{API}/{ticket.id}/draft",
        headers=org.headers,
        params={"wait": "false"},
        json={"instruction": "shorter"},
    )
    body = await api_json(queued, 202)
    assert (
        body["id"] == str(ticket.id) and body["drafting_since"] and body["drafting_instruction"] == "shorter"
    )
    await drain(runtime)
    (made,) = await drafts_of(runtime, ticket.id)
    assert made.status == "draft" and made.instruction == "shorter"
    after = await _ticket(runtime, ticket.id)
    assert after.drafting_since is None and after.drafting_instruction is None

    # While one is being written, another request is refused, not queued behind it or dropped.
    await _mark_drafting(runtime, ticket.id, minutes_ago=1)
    busy = await client.post(f"{API}/{ticket.id}/draft", headers=org.headers, params={"wait": "false"})
    assert busy.status_code == 409 and "already being written" in busy.json()["error"]["message"]
    # A request that never arrived (the worker died) does not block the ticket for ever.
    await _mark_drafting(runtime, ticket.id, minutes_ago=30)
    await api_json(
        await client.post(f"{API}/{ticket.id}/draft", headers=org.headers, params={"wait": "false"}), 202
    )
    await drain(runtime)
    assert [d.status for d in await drafts_of(runtime, ticket.id)] == ["superseded", "draft"]


async def test_a_failed_redraft_says_why_in_the_thread(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)
    ticket = await native_ticket(runtime, org.id)
    await _mark_drafting(runtime, ticket.id, minutes_ago=0)
    await _drafting_failed(
        runtime, org.id, ticket.id, ValidationFailed("The knowledge base is being rebuilt.")
    )
    after = await _ticket(runtime, ticket.id)
    assert after.drafting_since is None
    notice = (await messages_of(runtime, ticket.id))[-1]
    assert notice.author == "system"
    assert (
        notice.content
        == "No new draft: The knowledge base is being rebuilt. Try again, or write the reply yourself."
    )
    # An unexpected error does not leak its internals into the thread.
    await _drafting_failed(runtime, org.id, ticket.id, RuntimeError("connection string postgres://x:y@db"))
    assert "postgres" not in (await messages_of(runtime, ticket.id))[-1].content


async def test_saved_edit_is_kept_unsent_and_approve_sends_it(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    await seed_demo_subset(runtime, org.id)
    ticket = await native_ticket(runtime, org.id, "How do I log in to cPanel?", subject="cPanel")
    draft = await api_json(await client.post(f"{API}/{ticket.id}/draft", headers=org.headers), 201)
    url = f"{API}/{ticket.id}/drafts/{draft['id']}"
    saved = await api_json(
        await client.patch(url, headers=org.headers, json={"text": "  Log in at /cpanel.\r\n"})
    )
    assert saved["status"] == "draft" and saved["text"] == draft["text"]
    assert saved["final_text"] == "Log in at /cpanel."
    assert [m.author for m in await messages_of(runtime, ticket.id)] == ["customer"]  # nothing sent

    for bad, status_code in (({"text": ""}, 422), ({"text": "x", "extra": 1}, 422), ({}, 422)):
        refused = await client.patch(url, headers=org.headers, json=bad)
        assert refused.status_code == status_code and refused.json()["error"]["code"] == "validation_error"
    missing = await client.patch(
        f"{API}/{ticket.id}/drafts/{uuid.uuid4()}", headers=org.headers, json={"text": "x"}
    )
    assert missing.status_code == 404
    other = await make_tenant(db)
    theirs = await client.patch(url, headers=other.headers, json={"text": "hijack"})
    assert theirs.status_code == 404

    sent = await api_json(await client.post(f"{API}/{ticket.id}/approve", headers=org.headers, json={}))
    assert sent["status"] == "sent" and sent["final_text"] == "Log in at /cpanel."
    staff = (await messages_of(runtime, ticket.id))[-1]
    assert staff.author == "staff" and staff.content == "Log in at /cpanel."
    late = await client.patch(url, headers=org.headers, json={"text": "too late"})
    assert late.status_code == 409 and "can no longer be edited" in late.json()["error"]["message"]
    (kept,) = await drafts_of(runtime, ticket.id)
    assert kept.final_text == "Log in at /cpanel."


async def test_unassign_with_an_explicit_null(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    organization = await db.get(Organization, org.id)
    assert organization is not None
    member = await make_member(db, organization, Role.staff)
    ticket = await native_ticket(runtime, org.id)
    url = f"{API}/{ticket.id}"
    assigned = await api_json(
        await client.patch(url, headers=org.headers, json={"assigned_user_id": str(member.user_id)})
    )
    assert assigned["assigned_user_id"] == str(member.user_id)
    kept = await api_json(await client.patch(url, headers=org.headers, json={"priority": "high"}))
    assert kept["assigned_user_id"] == str(member.user_id) and kept["priority"] == "high"
    cleared = await api_json(await client.patch(url, headers=org.headers, json={"assigned_user_id": None}))
    assert cleared["assigned_user_id"] is None and cleared["priority"] == "high"


async def test_customer_reply_to_a_native_ticket_reopens_it_and_redrafts(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    await seed_demo_subset(runtime, org.id)
    ticket = await native_ticket(runtime, org.id, "How do I log in to cPanel?", subject="cPanel")
    first = await api_json(await client.post(f"{API}/{ticket.id}/draft", headers=org.headers), 201)
    await api_json(
        await client.post(
            f"{API}/{ticket.id}/reply",
            headers=org.headers,
            json={"text": "See /cpanel.", "status": "resolved"},
        )
    )
    assert (await _ticket(runtime, ticket.id)).awaiting_reply is False
    stale = await api_json(await client.post(f"{API}/{ticket.id}/draft", headers=org.headers), 201)

    url = f"{API}/{ticket.id}/customer-messages"
    added = await api_json(
        await client.post(url, headers=org.headers, json={"text": "It says my password is wrong."}), 201
    )
    assert added["author"] == "customer" and added["author_name"] == "John Smith"
    reopened = await _ticket(runtime, ticket.id)
    assert reopened.status == "open" and reopened.awaiting_reply is True
    assert reopened.last_customer_message_at is not None
    await drain(runtime)
    drafts = {d.id: d for d in await drafts_of(runtime, ticket.id)}
    assert drafts[uuid.UUID(stale["id"])].status == "superseded"
    assert drafts[uuid.UUID(first["id"])].status == "superseded"  # by the manual reply
    assert [d.mode for d in drafts.values() if d.status == "sent"] == ["manual"]
    (fresh,) = [d for d in drafts.values() if d.status == "draft"]
    assert fresh.answers_message_id == uuid.UUID(added["id"])

    empty = await client.post(url, headers=org.headers, json={"text": "   "})
    assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
    other = await make_tenant(db)
    assert (await client.post(url, headers=other.headers, json={"text": "hi"})).status_code == 404
    assert len(await messages_of(runtime, ticket.id)) == 3


async def test_customer_replies_to_whmcs_tickets_come_from_whmcs(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org = await make_tenant(db)
    await connect(runtime, org.id, whmcs_server)
    remote = fake.add_ticket("DNS", "How do I point my domain?")
    await sync_whmcs(runtime, org.id)
    row = await ticket_by_external(runtime, org.id, remote.id)
    refused = await client.post(f"{API}/{row.id}/customer-messages", headers=org.headers, json={"text": "hi"})
    assert refused.status_code == 409 and "from WHMCS itself" in refused.json()["error"]["message"]
    assert len(await messages_of(runtime, row.id)) == 1


async def test_drafts_still_answer_the_thread_after_an_edit_is_saved(
    db: AsyncSession, runtime: Runtime
) -> None:
    """A saved edit is review state: it never counts as a sent reply or an edited approval."""
    org = await make_org(db)
    ticket = await native_ticket(runtime, org.id)
    async with runtime.sessionmaker() as session:
        session.add(
            Draft(
                organization_id=org.id,
                ticket_id=ticket.id,
                text="Original",
                final_text="Edited, not sent",
                mode="extractive",
            )
        )
        await session.commit()
    async with runtime.sessionmaker() as session:
        stats = await TicketService(session, runtime).stats_read(org.id)
    assert stats.drafts.edited == 0 and stats.drafts.unchanged == 0
