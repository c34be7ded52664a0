"""Notes on WHMCS tickets reach WHMCS once (AddTicketNote) whatever WHMCS does; sync keeps one copy."""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.jobs import InProcessQueue, JobContext
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import Author, TicketMessage
from answerdesk.tickets.sending import Approver
from answerdesk.tickets.service import TicketService
from answerdesk.tickets.sync import sync_whmcs
from answerdesk.tickets.tasks import recover_sending
from tests.fakes.whmcs_server import DEFAULT_IDENTIFIER, FakeWhmcs, FakeWhmcsServer
from tests.tickets.native import native_ticket
from tests.tickets.support import API, Org, api_json, messages_of
from tests.tickets.test_sending import setup, wait_for

NOTE = "Called Ada: the **quota** is raised, waiting for her to confirm.\n\n- mailbox: ada@"


async def drain(runtime: Runtime) -> None:
    assert isinstance(runtime.jobs, InProcessQueue)
    await runtime.jobs.drain(timeout=60)


async def add_note(
    client: httpx.AsyncClient, org: Org, ticket_id: uuid.UUID, text: str = NOTE
) -> dict[str, object]:
    data: dict[str, object] = await api_json(
        await client.post(f"{API}/{ticket_id}/reply", headers=org.headers, json={"text": text, "note": True})
    )
    return data


async def notes_of(runtime: Runtime, ticket_id: uuid.UUID) -> list[TicketMessage]:
    return [m for m in await messages_of(runtime, ticket_id) if m.author == Author.note]


async def test_note_goes_to_whmcs_once_and_a_later_sync_keeps_one_copy(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    created = await add_note(client, org, ticket_id)
    assert (created["author"], created["push_status"], created["external_id"]) == ("note", "pending", None)
    await drain(runtime)
    [post] = fake.calls("AddTicketNote")
    assert post.params == {
        "ticketid": str(ticket.id),
        "message": NOTE,
        "markdown": "1",
        "adminusername": "botadmin",  # an API key wrote it: the connection's default admin
    }
    [in_whmcs] = fake.ticket(ticket.id).notes
    assert in_whmcs.message == NOTE
    detail = await api_json(await client.get(f"{API}/{ticket_id}", headers=org.headers))
    [note] = [m for m in detail["messages"] if m["author"] == "note"]
    assert (note["push_status"], note["push_error"]) == ("sent", None)
    assert note["external_id"] == f"n{in_whmcs.id}" and note["content"] == NOTE.strip()
    # The customer writes again: sync reads the thread, notes included, and knows this note.
    fake.add_reply(ticket.id, "Confirmed, thanks!")
    run = await sync_whmcs(runtime, org.id)
    assert (run.report.fetched, run.report.messages_added) == (1, 1)
    notes = await notes_of(runtime, ticket_id)
    assert [(n.external_id, n.push_status) for n in notes] == [(f"n{in_whmcs.id}", "sent")]
    assert len(fake.calls("AddTicketNote")) == 1


async def test_timeout_after_commit_is_found_in_the_servers_zone_not_posted_twice(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    # WHMCS stamps the note in New York time; only read in that zone is it recognised as ours.
    fake.tz = ZoneInfo("America/New_York")
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server, timezone="America/New_York")
    fake.faults.next("AddTicketNote", "timeout_after_commit", seconds=8)
    await add_note(client, org, ticket_id)
    await drain(runtime)
    assert len(fake.calls("AddTicketNote")) == 1 and len(fake.calls("GetTicket")) == 1
    [in_whmcs] = fake.ticket(ticket.id).notes
    [note] = await notes_of(runtime, ticket_id)
    assert (note.push_status, note.external_id, note.push_error) == ("sent", f"n{in_whmcs.id}", None)


async def test_timeout_before_commit_is_posted_once_more(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    fake.faults.next("AddTicketNote", "timeout_before_commit", seconds=8)
    await add_note(client, org, ticket_id)
    await drain(runtime)
    fake.release_parked()  # the dropped request is logged once it is let go
    await wait_for(lambda: len(fake.calls("AddTicketNote")) == 2)
    assert [c.fault for c in fake.calls("AddTicketNote")] == [None, "timeout_before_commit"]
    [in_whmcs] = fake.ticket(ticket.id).notes
    [note] = await notes_of(runtime, ticket_id)
    assert (note.push_status, note.external_id) == ("sent", f"n{in_whmcs.id}")


async def test_refusal_fails_readably_keeps_the_note_and_a_retry_sends_it(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(
        db, runtime, fake, whmcs_server, admin_usernames={"grace@example.com": "grace.h"}
    )
    fake.set_allowed_actions(DEFAULT_IDENTIFIER, ["GetTicket", "GetTickets", "AddTicketReply"])
    grace = Approver(label="grace@example.com", user_id=None, email="grace@example.com")
    async with session_scope(runtime.sessionmaker) as session:
        note = await TicketService(session, runtime).add_note(org.id, ticket_id, "Escalated to L2", grace)
    await drain(runtime)
    [stored] = await notes_of(runtime, ticket_id)
    assert stored.push_status == "failed" and stored.content == "Escalated to L2"
    assert stored.push_error == (
        "The WHMCS API role of these credentials does not allow AddTicketNote. In WHMCS open System "
        "Settings → Manage API Credentials → API Roles, edit the role and allow AddTicketNote."
    )
    assert fake.ticket(ticket.id).notes == []
    fake.set_allowed_actions(DEFAULT_IDENTIFIER, None)
    fake.clear_requests()
    # A retry (the API's, or the admin page's button) looks in WHMCS first, then posts: once.
    retry = f"{API}/{ticket_id}/notes/{note.id}/retry"
    retried = await api_json(await client.post(retry, headers=org.headers))
    assert (retried["push_status"], retried["push_error"]) == ("pending", None)
    await drain(runtime)
    again = await client.post(retry, headers=org.headers)
    assert again.status_code == 409 and again.json()["error"]["message"] == "This note is already in WHMCS."
    assert (
        await client.post(f"{API}/{ticket_id}/notes/{uuid.uuid4()}/retry", headers=org.headers)
    ).status_code == 404
    [stored] = await notes_of(runtime, ticket_id)
    assert stored.push_status == "sent" and stored.push_error is None
    assert [r.action for r in fake.requests] == ["GetTicket", "AddTicketNote", "GetTicket"]
    assert [n.message for n in fake.ticket(ticket.id).notes] == ["Escalated to L2"]


async def test_deleted_ticket_is_a_definite_failure(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    del fake.tickets[ticket.id]
    await add_note(client, org, ticket_id)
    await drain(runtime)
    [note] = await notes_of(runtime, ticket_id)
    assert (
        note.push_status == "failed" and note.push_error == "WHMCS AddTicketNote failed: Ticket ID not found"
    )
    assert len(fake.calls("AddTicketNote")) == 1 and fake.calls("GetTicket") == []


async def test_note_whose_id_was_not_learnt_is_linked_by_the_next_sync(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    # The note is posted, then the ticket cannot be re-read (every retry of GetTicket fails).
    fake.faults.next("GetTicket", "html_500", times=3)
    await add_note(client, org, ticket_id)
    await drain(runtime)
    [note] = await notes_of(runtime, ticket_id)
    assert (note.push_status, note.external_id) == ("sent", None)
    fake.add_reply(ticket.id, "Any news?")
    await sync_whmcs(runtime, org.id)
    [in_whmcs] = fake.ticket(ticket.id).notes
    [note] = await notes_of(runtime, ticket_id)
    assert (note.push_status, note.external_id) == ("sent", f"n{in_whmcs.id}")


async def test_two_identical_notes_are_two_notes_in_whmcs(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    await add_note(client, org, ticket_id, "Called, no answer.")
    await drain(runtime)
    # The second time, the first attempt's answer is lost: the re-read must not take the first note.
    fake.faults.next("AddTicketNote", "timeout_before_commit", seconds=8)
    await add_note(client, org, ticket_id, "Called, no answer.")
    await drain(runtime)
    in_whmcs = fake.ticket(ticket.id).notes
    assert [n.message for n in in_whmcs] == ["Called, no answer.", "Called, no answer."]
    notes = await notes_of(runtime, ticket_id)
    assert sorted(str(n.external_id) for n in notes) == sorted(f"n{n.id}" for n in in_whmcs)


async def test_recovery_finishes_stuck_notes_without_posting_twice(
    db: AsyncSession, runtime: Runtime, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    long_ago = utcnow() - timedelta(minutes=11)
    async with session_scope(runtime.sessionmaker) as session:
        for text in ("Posted before the crash", "Never posted"):
            session.add(
                TicketMessage(
                    organization_id=org.id,
                    ticket_id=ticket_id,
                    author=Author.note,
                    author_name="grace@example.com",
                    content=text,
                    push_status="pending",
                    created_at=long_ago,
                )
            )
    landed = fake.add_note(ticket.id, "Posted before the crash")  # the crash came after the post
    ctx = JobContext(runtime, "test", "tickets.recover_sending", 1, 1)
    await recover_sending(ctx)
    await drain(runtime)
    assert [c.params["message"] for c in fake.calls("AddTicketNote")] == ["Never posted"]
    in_whmcs = {n.message: n.id for n in fake.ticket(ticket.id).notes}
    assert in_whmcs["Posted before the crash"] == landed.id and len(in_whmcs) == 2
    notes = {n.content: (n.push_status, n.external_id) for n in await notes_of(runtime, ticket_id)}
    assert notes == {
        "Posted before the crash": ("sent", f"n{landed.id}"),
        "Never posted": ("sent", f"n{in_whmcs['Never posted']}"),
    }


async def test_notes_on_native_tickets_stay_local(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, _, _ = await setup(db, runtime, fake, whmcs_server)
    ticket = await native_ticket(runtime, org.id)
    created = await add_note(client, org, ticket.id)
    await drain(runtime)
    assert created["push_status"] is None
    assert fake.calls("AddTicketNote") == []
