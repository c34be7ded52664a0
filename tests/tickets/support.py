"""Helpers for the ticket tests (no tests here): connect an organization to the fake WHMCS, read rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from answerdesk.tickets.connections import ConnectionService
from answerdesk.tickets.models import Draft, Ticket, TicketMessage
from answerdesk.tickets.schemas import WhmcsConnectionUpdate
from tests.factories import bearer, make_key, make_org
from tests.fakes.whmcs_server import DEFAULT_IDENTIFIER, DEFAULT_SECRET, FakeWhmcsServer

API = "/api/v1/tickets"
WHMCS_API = "/api/v1/whmcs"


@dataclass
class Org:
    id: uuid.UUID
    headers: dict[str, str]


async def make_tenant(db: Any) -> Org:
    org = await make_org(db)
    return Org(org.id, bearer(await make_key(db, org)))


async def connect(
    runtime: Runtime, organization_id: uuid.UUID, server: FakeWhmcsServer, **overrides: Any
) -> None:
    """Stores a connection to the fake straight through the service (no connection test)."""
    values: dict[str, Any] = {
        "url": server.base_url,
        "identifier": DEFAULT_IDENTIFIER,
        "secret": DEFAULT_SECRET,
        "default_admin_username": "botadmin",
        "timeout_seconds": 2.0,
    }
    values.update(overrides)
    async with session_scope(runtime.sessionmaker) as db:
        await ConnectionService(db, runtime).save(organization_id, WhmcsConnectionUpdate(**values))


async def tickets_of(runtime: Runtime, organization_id: uuid.UUID) -> list[Ticket]:
    async with runtime.sessionmaker() as db:
        rows = await db.scalars(
            sa.select(Ticket).where(Ticket.organization_id == organization_id).order_by(Ticket.external_id)
        )
        return list(rows.all())


async def messages_of(runtime: Runtime, ticket_id: uuid.UUID) -> list[TicketMessage]:
    async with runtime.sessionmaker() as db:
        rows = await db.scalars(
            sa.select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket_id)
            .order_by(TicketMessage.created_at, TicketMessage.external_id)
        )
        return list(rows.all())


async def drafts_of(runtime: Runtime, ticket_id: uuid.UUID) -> list[Draft]:
    async with runtime.sessionmaker() as db:
        rows = await db.scalars(
            sa.select(Draft).where(Draft.ticket_id == ticket_id).order_by(Draft.created_at)
        )
        return list(rows.all())


async def ticket_by_external(runtime: Runtime, organization_id: uuid.UUID, external_id: int) -> Ticket:
    async with runtime.sessionmaker() as db:
        ticket = await db.scalar(
            sa.select(Ticket).where(
                Ticket.organization_id == organization_id, Ticket.external_id == str(external_id)
            )
        )
        assert ticket is not None, f"ticket {external_id} was not synced"
        return ticket


async def snapshot(runtime: Runtime, organization_id: uuid.UUID) -> list[tuple[object, ...]]:
    """Every ticket and message field that a sync could change, for "nothing changed" checks."""
    async with runtime.sessionmaker() as db:
        tickets = await db.execute(sa.select(Ticket).where(Ticket.organization_id == organization_id))
        messages = await db.execute(
            sa.select(TicketMessage).where(TicketMessage.organization_id == organization_id)
        )
        rows: list[tuple[object, ...]] = []
        for (t,) in tickets.all():
            rows.append(tuple(getattr(t, c.key) for c in Ticket.__table__.columns))
        for (m,) in messages.all():
            rows.append(tuple(getattr(m, c.key) for c in TicketMessage.__table__.columns))
        return sorted(rows, key=repr)


async def api_json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()
