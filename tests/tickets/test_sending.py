"""Approve & send exactly once under WHMCS faults; the staff text survives every failure."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from answerdesk.tickets.sending import Approver
from answerdesk.tickets.service import approve_and_send
from answerdesk.tickets.sync import sync_whmcs
from tests.fakes.whmcs_server import FakeTicket, FakeWhmcs, FakeWhmcsServer
from tests.tickets.support import API, Org, api_json, connect, make_tenant, ticket_by_external

REPLY = (
    "Hello Ada,\n\nYour mailbox was full. We **raised the quota** to 5 GB; mail flows again."
    "\n\n1. Log in\n2. Check"
)


async def setup(
    db: AsyncSession, runtime: Runtime, fake: FakeWhmcs, server: FakeWhmcsServer, **connection: object
) -> tuple[Org, FakeTicket, uuid.UUID]:
    org = await make_tenant(db)
    await connect(runtime, org.id, server, **connection)
    client = fake.add_client("Ada", "Lovelace")
    ticket = fake.add_ticket("Mail bounces", "My mails bounce: mailbox full?", client=client.id)
    await sync_whmcs(runtime, org.id)
    stored = await ticket_by_external(runtime, org.id, ticket.id)
    fake.clear_requests()
    return org, ticket, stored.id


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def send(
    client: httpx.AsyncClient, org: Org, ticket_id: uuid.UUID, text: str = REPLY
) -> dict[str, object]:
    data: dict[str, object] = await api_json(
        await client.post(f"{API}/{ticket_id}/reply", headers=org.headers, json={"text": text})
    )
    return data


async def test_reply_posted_once_with_admin_username_and_markdown(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    draft = await send(client, org, ticket_id)
    assert draft["status"] == "sent" and draft["admin_username"] == "botadmin"
    posts = fake.calls("AddTicketReply")
    assert len(posts) == 1
    params = posts[0].params
    assert params["adminusername"] == "botadmin" and params["markdown"] == "1" and "clientid" not in params
    assert [r.message for r in fake.ticket(ticket.id).staff_replies] == [REPLY]
    assert draft["posted_reply_id"] == str(fake.ticket(ticket.id).staff_replies[0].id)
    detail = await api_json(await client.get(f"{API}/{ticket_id}", headers=org.headers))
    assert detail["status"] == "Answered" and detail["awaiting_reply"] is False
    assert detail["messages"][-1]["author"] == "staff"
    again = await client.post(
        f"{API}/{ticket_id}/approve", headers=org.headers, json={"draft_id": draft["id"]}
    )
    assert again.status_code == 409
    assert len(fake.calls("AddTicketReply")) == 1


async def test_timeout_after_commit_is_not_posted_twice(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    fake.faults.next("AddTicketReply", "timeout_after_commit", seconds=8)
    draft = await send(client, org, ticket_id)
    assert draft["status"] == "sent", draft["error"]
    assert len(fake.calls("AddTicketReply")) == 1
    assert len(fake.calls("GetTicket")) >= 1
    assert [r.message for r in fake.ticket(ticket.id).staff_replies] == [REPLY]
    assert draft["send_attempts"] == 1


async def test_timeout_before_commit_is_retried_once(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    fake.faults.next("AddTicketReply", "timeout_before_commit", seconds=8)
    draft = await send(client, org, ticket_id)
    assert draft["status"] == "sent", draft["error"]
    assert draft["send_attempts"] == 2
    fake.release_parked()  # the dropped request is logged once it is let go
    await wait_for(lambda: len(fake.calls("AddTicketReply")) == 2)
    assert [c.fault for c in fake.calls("AddTicketReply")] == [None, "timeout_before_commit"]
    assert [r.message for r in fake.ticket(ticket.id).staff_replies] == [REPLY]


async def test_html_500_twice_fails_readably_keeps_the_edit_and_a_retry_sends_it(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    fake.faults.next("AddTicketReply", "html_500", times=2)
    edited = REPLY + "\n\nEdited by staff."
    failed = await send(client, org, ticket_id, edited)
    assert failed["status"] == "failed"
    assert "HTML page" in str(failed["error"]) and "approve again" in str(failed["error"])
    assert failed["final_text"] == edited
    assert len(fake.calls("AddTicketReply")) == 2 and fake.ticket(ticket.id).staff_replies == []
    retried = await api_json(
        await client.post(f"{API}/{ticket_id}/approve", headers=org.headers, json={"draft_id": failed["id"]})
    )
    assert retried["status"] == "sent" and retried["final_text"] == edited
    assert [r.message for r in fake.ticket(ticket.id).staff_replies] == [edited]
    assert len(fake.calls("AddTicketReply")) == 3


async def test_malformed_json_fails_with_the_text_kept(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    fake.faults.next("AddTicketReply", "malformed_json", times=2)
    failed = await send(client, org, ticket_id)
    assert failed["status"] == "failed" and "malformed JSON" in str(failed["error"])
    assert failed["final_text"] == REPLY and fake.ticket(ticket.id).staff_replies == []


async def test_garbled_answer_after_commit_is_found_by_rereading(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    fake.faults.next("AddTicketReply", "malformed_json", commit=True)
    draft = await send(client, org, ticket_id)
    assert draft["status"] == "sent"
    assert len(fake.calls("AddTicketReply")) == 1 and len(fake.ticket(ticket.id).staff_replies) == 1


async def test_refused_reply_is_not_retried(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server)
    del fake.tickets[ticket.id]  # deleted in WHMCS meanwhile: a definite "no"
    failed = await send(client, org, ticket_id)
    assert failed["status"] == "failed" and "Ticket ID not found" in str(failed["error"])
    assert len(fake.calls("AddTicketReply")) == 1 and fake.calls("GetTicket") == []


async def test_reply_is_attributed_to_the_approving_staff_member(
    db: AsyncSession, runtime: Runtime, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org, ticket, ticket_id = await setup(
        db, runtime, fake, whmcs_server, admin_usernames={"Grace@Example.com": "grace.h"}
    )
    async with session_scope(runtime.sessionmaker) as session:
        draft = await approve_and_send(
            session,
            runtime,
            org.id,
            ticket_id,
            Approver(label="grace@example.com", email="grace@example.com"),
            text="Done, Ada.",
            manual=True,
        )
    assert draft.status == "sent" and draft.approved_by == "grace@example.com"
    assert fake.calls("AddTicketReply")[0].params["adminusername"] == "grace.h"
    assert fake.ticket(ticket.id).staff_replies[0].admin == "grace.h"


async def test_status_and_priority_go_back_when_enabled(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org, ticket, ticket_id = await setup(db, runtime, fake, whmcs_server, auto_update_ticket=True)
    await api_json(await client.patch(f"{API}/{ticket_id}", headers=org.headers, json={"priority": "urgent"}))
    draft = await api_json(
        await client.post(
            f"{API}/{ticket_id}/reply", headers=org.headers, json={"text": REPLY, "status": "On Hold"}
        )
    )
    assert draft["status"] == "sent"
    assert fake.ticket(ticket.id).status == "On Hold"
    assert fake.calls("UpdateTicket")[0].params["priority"] == "High"
    assert fake.ticket(ticket.id).priority == "High"
