"""Helpers for the Tickets and Connect WHMCS page tests (no tests here): tickets, drafts, members."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.kit.db import utcnow
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from answerdesk.tickets.models import Draft, Ticket, TicketMessage
from tests.factories import LoggedIn, logged_in, make_member, make_org

PAGE = "/admin/tickets"
WHMCS_PAGE = "/admin/whmcs"
CITATION = {
    "n": 1,
    "title": "E-mail troubleshooting",
    "source": "email-troubleshooting.md",
    "chunk_id": 1,
    "document_id": str(uuid.uuid4()),
    "section": "E-mail troubleshooting > Mailbox full",
}


async def member_of(
    client: httpx.AsyncClient, db: AsyncSession, org: Organization | None = None, role: Role = Role.admin
) -> tuple[Organization, LoggedIn, uuid.UUID]:
    """Logs ``client`` in as a new member (of ``org``, or of a new organization)."""
    org = org or await make_org(db, "Tickets Co")
    m = await make_member(db, org, role)
    return org, await logged_in(client, m.user.email), m.user_id


async def add_ticket(
    runtime: Runtime,
    organization_id: uuid.UUID,
    subject: str,
    message: str = "Hello, I need help.",
    *,
    hours: float = 1,
    draft: str | None = None,
    **fields: Any,
) -> uuid.UUID:
    """A native ticket with one customer message (and a draft awaiting review when ``draft`` is given)."""
    at = utcnow() - timedelta(hours=hours)
    values: dict[str, Any] = {
        "source": "native",
        "tid": f"N{uuid.uuid4().int % 10**6:06d}",
        "status": "open",
        "priority": "medium",
        "awaiting_reply": True,
        "client_name": "Ada Lovelace",
        "client_email": "ada@example.com",
        "last_customer_message_at": at,
        "last_message_at": at,
        "opened_at": at,
        "created_at": at,
    }
    values.update(fields)
    async with runtime.sessionmaker() as db:
        ticket = Ticket(organization_id=organization_id, subject=subject, **values)
        db.add(ticket)
        await db.flush()
        db.add(
            TicketMessage(
                organization_id=organization_id,
                ticket_id=ticket.id,
                author="customer",
                author_name=ticket.client_name,
                content=message,
                created_at=at,
            )
        )
        if draft is not None:
            await add_draft(db, organization_id, ticket.id, draft)
        await db.commit()
        return ticket.id


async def add_draft(
    db: AsyncSession, organization_id: uuid.UUID, ticket_id: uuid.UUID, text: str
) -> uuid.UUID:
    row = Draft(
        organization_id=organization_id,
        ticket_id=ticket_id,
        status="draft",
        text=text,
        citations=[CITATION],
        confidence=0.72,
        mode="extractive",
        model=None,
    )
    db.add(row)
    await db.flush()
    return row.id


def queue_subjects(page: str) -> list[str]:
    cells = re.findall(r'<a href="/admin/tickets/[^"]+" class="tk-subject">(.*?)</a>', page)
    return [html.unescape(c) for c in cells]


def text_of(page: str) -> str:
    """The page as words, tags removed, entities decoded: for "the user sees X" checks."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def follow(client: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
    """The page a 303 leads to (with its flash message)."""
    assert response.status_code == 303, response.text
    return await client.get(response.headers["location"])
