"""The ticket page beside each WHMCS ticket note: pending, in WHMCS, or not sent (the reason, and Retry)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import session_scope, utcnow
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import Author, TicketMessage
from answerdesk.tickets.sending import Approver
from answerdesk.tickets.service import TicketService
from answerdesk.tickets.sync import sync_whmcs
from tests.admin.tickets_support import PAGE, add_ticket, follow, member_of, text_of
from tests.factories import logged_in, make_member, make_org
from tests.fakes.whmcs_server import DEFAULT_IDENTIFIER, FakeTicket, FakeWhmcs, FakeWhmcsServer
from tests.tickets.support import connect, ticket_by_external
from tests.tickets.test_notes import drain, notes_of

REFUSING_ROLE = ["GetTicket", "GetTickets", "GetSupportDepartments", "AddTicketReply"]


async def whmcs_ticket(
    runtime: Runtime,
    organization_id: uuid.UUID,
    fake: FakeWhmcs,
    server: FakeWhmcsServer,
    **connection: object,
) -> tuple[FakeTicket, uuid.UUID]:
    await connect(runtime, organization_id, server, **connection)
    ticket = fake.add_ticket("Mail bounces", "My mails bounce: mailbox full?")
    await sync_whmcs(runtime, organization_id)
    stored = await ticket_by_external(runtime, organization_id, ticket.id)
    fake.clear_requests()
    return ticket, stored.id


def push_labels(page: str) -> list[str]:
    words = text_of(page)
    return [
        label
        for label in ("pending", "in WHMCS", "not sent to WHMCS", "only in Answerdesk")
        if label in words
    ]


async def test_failed_note_shows_the_reason_and_retry_sends_it_once(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org = await make_org(db, "Blue Hosting")
    await make_member(db, org, email="grace@example.com")
    me = await logged_in(client, "grace@example.com")
    ticket, ticket_id = await whmcs_ticket(
        runtime, org.id, fake, whmcs_server, admin_usernames={"grace@example.com": "grace.h"}
    )
    fake.set_allowed_actions(DEFAULT_IDENTIFIER, REFUSING_ROLE)
    added = await client.post(
        f"{PAGE}/{ticket_id}/reply", data={"csrf_token": me.csrf, "text": "Escalated to L2", "note": "1"}
    )
    assert "Internal note added" in text_of((await follow(client, added)).text)
    await drain(runtime)
    page = (await client.get(f"{PAGE}/{ticket_id}")).text
    words = text_of(page)
    assert push_labels(page) == ["not sent to WHMCS"]
    assert "Escalated to L2" in words and "The note is kept here." in words
    assert "does not allow AddTicketNote" in words and "API Roles" in words
    [note] = await notes_of(runtime, ticket_id)
    retry_url = f"{PAGE}/{ticket_id}/notes/{note.id}/retry"
    assert f'action="{retry_url}"' in page and 'data-testid="note-retry"' in page

    fake.set_allowed_actions(DEFAULT_IDENTIFIER, None)  # the role now allows AddTicketNote
    retried = await follow(client, await client.post(retry_url, data={"csrf_token": me.csrf}))
    assert "Sending the note to WHMCS again" in text_of(retried.text)
    await drain(runtime)
    page = (await client.get(f"{PAGE}/{ticket_id}")).text
    assert push_labels(page) == ["in WHMCS"] and 'data-testid="note-retry"' not in page
    posts = fake.calls("AddTicketNote")
    assert len(posts) == 2 and posts[-1].params["adminusername"] == "grace.h"  # the author's WHMCS admin
    assert [n.message for n in fake.ticket(ticket.id).notes] == ["Escalated to L2"]
    again = await follow(client, await client.post(retry_url, data={"csrf_token": me.csrf}))
    assert "Not retried: This note is already in WHMCS." in text_of(again.text)
    assert len(fake.calls("AddTicketNote")) == 2


async def test_each_note_says_where_it_stands(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, _, _ = await member_of(client, db)
    ticket, ticket_id = await whmcs_ticket(runtime, org.id, fake, whmcs_server)
    fake.add_note(ticket.id, "Written in WHMCS", admin="Support Staff")
    fake.add_reply(ticket.id, "Hello?")
    await sync_whmcs(runtime, org.id)
    async with session_scope(runtime.sessionmaker) as session:
        for text, status in (("Being sent", "pending"), ("Written before notes were pushed", None)):
            session.add(
                TicketMessage(
                    organization_id=org.id,
                    ticket_id=ticket_id,
                    author=Author.note,
                    content=text,
                    push_status=status,
                    created_at=utcnow() - timedelta(minutes=1),
                )
            )
    page = (await client.get(f"{PAGE}/{ticket_id}")).text
    assert push_labels(page) == ["pending", "in WHMCS", "only in Answerdesk"]
    native = await add_ticket(runtime, org.id, "Native one")
    async with session_scope(runtime.sessionmaker) as session:
        await TicketService(session, runtime).add_note(org.id, native, "Local note", Approver(label="me"))
    native_page = (await client.get(f"{PAGE}/{native}")).text
    assert "Local note" in text_of(native_page) and push_labels(native_page) == []


async def test_retry_route_is_tenant_scoped(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    other = await make_org(db, "Other Hosting")
    _, theirs = await whmcs_ticket(runtime, other.id, fake, whmcs_server)
    fake.set_allowed_actions(DEFAULT_IDENTIFIER, REFUSING_ROLE)
    async with session_scope(runtime.sessionmaker) as session:
        note = await TicketService(session, runtime).add_note(other.id, theirs, "Theirs", Approver(label="x"))
    await drain(runtime)
    fake.set_allowed_actions(DEFAULT_IDENTIFIER, None)
    calls = len(fake.calls("AddTicketNote"))

    org, me, _ = await member_of(client, db)  # an admin of another organization
    mine = await add_ticket(runtime, org.id, "My ticket")
    for url in (
        f"{PAGE}/{theirs}/notes/{note.id}/retry",  # their ticket, their note
        f"{PAGE}/{mine}/notes/{note.id}/retry",  # my ticket, their note
        f"{PAGE}/{mine}/notes/not-a-uuid/retry",
    ):
        response = await client.post(url, data={"csrf_token": me.csrf})
        assert response.status_code == 404, url
    await drain(runtime)
    [stored] = await notes_of(runtime, theirs)
    assert stored.push_status == "failed" and len(fake.calls("AddTicketNote")) == calls
