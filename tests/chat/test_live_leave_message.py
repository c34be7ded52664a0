"""Leaving a message when nobody is online: a native ticket with the transcript (never internal notes), a
confirmation in the chat, validation, tokens, tenant isolation, and one ticket for a repeated request."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat import announce
from answerdesk.chat.models import Sender
from answerdesk.chat.repository import ConversationRepository
from answerdesk.chat.service import append_message
from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import Ticket
from tests.chat.live_support import LiveOrg, collecting, customer_headers, live, live_org
from tests.chat.support import API
from tests.conftest import app_client, make_settings, started_app
from tests.factories import bearer

TICKETS = "/api/v1/tickets"
CUSTOMER_SAID = "My site shows a 500 error since this morning."
BOT_SAID = "I could not find anything about that in our help centre."
NOTE = "Internal: this customer is two invoices behind."


async def start(client: httpx.AsyncClient, org: LiveOrg, **body: Any) -> tuple[str, str]:
    response = await client.post(API, headers=customer_headers(org), json=body or None)
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["token"]


async def arrange_chat(runtime: Runtime, org: LiveOrg, cid: str) -> None:
    """A customer question, the bot's answer and a staff note, as the chat would have stored them."""
    async with session_scope(runtime.sessionmaker) as db:
        conversation = await ConversationRepository(db).get(org.id, uuid.UUID(cid), for_update=True)
        assert conversation is not None
        append_message(db, conversation, Sender.customer, CUSTOMER_SAID)
        append_message(db, conversation, Sender.bot, BOT_SAID)
    async with session_scope(runtime.sessionmaker) as db:
        await live(runtime).add_note(db, org.id, uuid.UUID(cid), org.staff, NOTE)


async def leave(
    client: httpx.AsyncClient, org: LiveOrg, cid: str, token: str | None, **body: Any
) -> httpx.Response:
    return await client.post(f"{API}/{cid}/leave-message", headers=customer_headers(org, token), json=body)


async def ticket(client: httpx.AsyncClient, org: LiveOrg, ticket_id: str) -> dict[str, Any]:
    response = await client.get(f"{TICKETS}/{ticket_id}", headers=bearer(org.secret_key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def ticket_count(db: AsyncSession, org: LiveOrg) -> int:
    return int(
        await db.scalar(sa.select(sa.func.count(Ticket.id)).where(Ticket.organization_id == org.id)) or 0
    )


async def test_with_nobody_online_the_message_becomes_a_ticket_with_the_transcript_but_no_notes(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await live_org(db)
    cid, token = await start(client, org)
    await arrange_chat(runtime, org, cid)
    handoff = await client.post(f"{API}/{cid}/handoff", headers=customer_headers(org, token))
    assert handoff.status_code == 200, handoff.text
    assert (handoff.json()["staff_online"], handoff.json()["can_leave_message"]) == (False, True)
    assert handoff.json()["waiting"] is True

    async with collecting(runtime.events, announce.conversation_channel(cid)) as seen_live:
        response = await leave(
            client,
            org,
            cid,
            token,
            message="  Please call me back about the 500 error.  ",
            name="Dana Client",
            email="dana@example.net",
        )
        assert response.status_code == 201, response.text
        left = response.json()
        await seen_live.wait_for(lambda events: any(e.get("type") == "message" for e in events))
    confirmation = left["message"]
    assert confirmation["sender"] == "system"
    assert confirmation["content"] == (
        f"Thanks — we've received your message and will reply by e-mail (ticket #{left['number']})"
    )
    assert [e["message"]["seq"] for e in seen_live.of_type("message")] == [confirmation["seq"]]
    assert seen_live.of_type("status")[-1]["waiting"] is False  # no longer waiting: the ticket answers it

    stored = await ticket(client, org, left["ticket_id"])
    assert (stored["source"], stored["tid"], stored["status"]) == ("native", left["number"], "open")
    assert (stored["client_name"], stored["client_email"]) == ("Dana Client", "dana@example.net")
    thread = "\n".join(m["content"] for m in stored["messages"])
    assert "Please call me back about the 500 error." in thread
    assert CUSTOMER_SAID in thread and BOT_SAID in thread and "Nobody from our team is online" in thread
    assert NOTE not in thread and "two invoices" not in thread
    customer_messages = [m for m in stored["messages"] if m["author"] == "customer"]
    assert [m["content"] for m in customer_messages] == ["Please call me back about the 500 error."]

    queue = await client.get(TICKETS, params={"source": "native"}, headers=bearer(org.secret_key))
    assert [t["id"] for t in queue.json()["items"]] == [left["ticket_id"]]
    chat = await client.get(f"{API}/{cid}", headers=customer_headers(org, token))
    assert chat.json()["customer_email"] == "dana@example.net"  # kept for the rest of the chat
    assert chat.json()["messages"][-1]["content"] == confirmation["content"]


async def test_staff_online_means_no_leave_message_offer(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await live_org(db)
    cid, token = await start(client, org)
    await live(runtime).staff_present(org.id, str(org.staff.user_id))
    handoff = await client.post(f"{API}/{cid}/handoff", headers=customer_headers(org, token))
    assert (handoff.json()["staff_online"], handoff.json()["can_leave_message"]) == (True, False)


async def test_the_email_is_required_and_checked_unless_the_chat_already_has_one(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await live_org(db)
    cid, token = await start(client, org)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"message": "Help", "email": "not-an-address"}, "email"),
        ({"message": "Help"}, "Enter your e-mail address"),
        ({"message": "   ", "email": "a@example.com"}, "Write a message first"),
        ({"message": "x" * 4001, "email": "a@example.com"}, "at most 4000"),
        ({"email": "a@example.com"}, "message"),
        ({"message": "Help", "email": "a@example.com", "phone": "1"}, "phone"),
    ]
    for body, says in cases:
        response = await leave(client, org, cid, token, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "validation_error"
        assert says in response.json()["error"]["message"], response.json()
    assert await ticket_count(db, org) == 0

    with_email, with_token = await start(client, org, customer={"name": "Lee", "email": "lee@example.org"})
    response = await leave(client, org, with_email, with_token, message="Please reply when you can.")
    assert response.status_code == 201, response.text
    stored = await ticket(client, org, response.json()["ticket_id"])
    assert (stored["client_name"], stored["client_email"]) == ("Lee", "lee@example.org")


async def test_a_wrong_token_or_another_organization_is_a_404_and_a_secret_key_needs_no_token(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, other = await live_org(db, "Anna"), await live_org(db, "Bo")
    cid, token = await start(client, org)
    body = {"message": "Hello?", "email": "c@example.com"}
    assert (await leave(client, org, cid, "wrong-token", **body)).status_code == 404
    assert (await leave(client, org, cid, None, **body)).status_code == 404
    assert (await leave(client, org, str(uuid.uuid4()), token, **body)).status_code == 404
    across = await client.post(f"{API}/{cid}/leave-message", headers=bearer(other.secret_key), json=body)
    assert across.status_code == 404
    assert across.json()["error"]["message"] == "Conversation not found."
    other_key = await client.post(
        f"{API}/{cid}/leave-message", headers=customer_headers(other, token), json=body
    )
    assert other_key.status_code == 404
    assert await ticket_count(db, org) == 0 and await ticket_count(db, other) == 0

    server = await client.post(f"{API}/{cid}/leave-message", headers=bearer(org.secret_key), json=body)
    assert server.status_code == 201, server.text
    elsewhere = await client.get(f"{TICKETS}/{server.json()['ticket_id']}", headers=bearer(other.secret_key))
    assert elsewhere.status_code == 404
    assert (await client.get(TICKETS, headers=bearer(other.secret_key))).json()["total"] == 0


async def test_the_same_message_twice_makes_one_ticket_and_another_message_a_new_one(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await live_org(db)
    cid, token = await start(client, org)
    body = {"message": "Is my domain renewed?", "email": "e@example.com", "name": "Eve"}
    first, second = await leave(client, org, cid, token, **body), await leave(client, org, cid, token, **body)
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json() == second.json()
    assert await ticket_count(db, org) == 1

    clicks = await asyncio.gather(
        *(leave(client, org, cid, token, **{**body, "message": "Also DNS?"}) for _ in range(2))
    )
    assert [c.status_code for c in clicks] == [201, 201], [c.text for c in clicks]
    assert clicks[0].json()["ticket_id"] == clicks[1].json()["ticket_id"] != first.json()["ticket_id"]
    assert await ticket_count(db, org) == 2
    chat = await client.get(f"{API}/{cid}", headers=customer_headers(org, token))
    confirmations = [m for m in chat.json()["messages"] if m["content"].startswith("Thanks — ")]
    assert len(confirmations) == 2


async def test_a_closed_chat_takes_no_message(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await live_org(db)
    cid, token = await start(client, org)
    assert (await client.post(f"{API}/{cid}/close", headers=customer_headers(org, token))).status_code == 200
    response = await leave(client, org, cid, token, message="Hello?", email="c@example.com")
    assert response.status_code == 409
    assert "closed" in response.json()["error"]["message"]


async def test_leaving_messages_from_a_browser_is_rate_limited(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    settings = make_settings(database_url, tmp_path / "limited", chat_message_limit_per_ip="2/minute")
    async with started_app(settings) as application, app_client(application) as limited:
        org = await live_org(db)
        cid, token = await start(limited, org)
        codes = [
            (await leave(limited, org, cid, token, message=f"Hello {n}", email="c@example.com")).status_code
            for n in range(3)
        ]
        assert codes == [201, 201, 429]
        refused = await leave(limited, org, cid, token, message="Hello 4", email="c@example.com")
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 0 < int(refused.headers["Retry-After"]) <= 60
