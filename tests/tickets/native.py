"""Helpers for native-ticket tests (no tests here): a ticket with a customer message, without a draft job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from answerdesk.kit.db import utcnow
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import Author, Ticket, TicketMessage


async def native_ticket(
    runtime: Runtime,
    organization_id: uuid.UUID,
    message: str = "My mailbox stopped receiving mail.",
    *,
    subject: str = "Mail not arriving",
    opened_at: datetime | None = None,
    **fields: Any,
) -> Ticket:
    """Stored straight away (no draft is queued): the tests choose what happens next."""
    at = opened_at or utcnow()
    values: dict[str, Any] = {
        "source": "native",
        "status": "open",
        "tid": f"N{uuid.uuid4().int % 10**6:06d}",
        "client_name": "John Smith",
        "client_email": "john@acme-shop.com",
        "awaiting_reply": True,
        "opened_at": at,
        "last_customer_message_at": at,
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
                author=Author.customer,
                author_name=ticket.client_name,
                content=message,
                created_at=at,
            )
        )
        await db.commit()
        return ticket
