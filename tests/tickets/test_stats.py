"""GET /tickets/stats: counts per status, median first response, drafts unchanged / edited / rejected."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import utcnow
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import Author, Draft, TicketMessage
from answerdesk.tickets.service import review_counts
from tests.tickets.native import native_ticket
from tests.tickets.support import API, api_json, make_tenant


def test_review_counts_ignore_whitespace() -> None:
    counts = review_counts(
        [
            ("sent", "Raise the quota.\n\nThen retry.", "Raise the  quota. Then retry. "),
            ("sent", "Raise the quota.", None),
            ("sent", "Raise the quota.", "Raise the quota now."),
            ("rejected", "Wrong.", None),
        ]
    )
    assert (counts.unchanged, counts.edited, counts.rejected) == (2, 1, 1)


async def test_stats(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> None:
    org = await make_tenant(db)
    start = utcnow() - timedelta(days=1)
    fast = await native_ticket(runtime, org.id, opened_at=start, status="waiting_for_customer")
    slow = await native_ticket(runtime, org.id, opened_at=start, status="resolved")
    unanswered = await native_ticket(runtime, org.id, opened_at=start)
    # A staff reply written before the customer's first word is not a response.
    staff_opened = await native_ticket(runtime, org.id, opened_at=start + timedelta(hours=1))
    other = await make_tenant(db)
    await native_ticket(runtime, other.id, opened_at=start, status="closed")
    async with runtime.sessionmaker() as session:
        for ticket, after in ((fast, 60), (slow, 300), (staff_opened, -600)):
            session.add(
                TicketMessage(
                    organization_id=org.id,
                    ticket_id=ticket.id,
                    author=Author.staff,
                    content="Reply",
                    created_at=ticket.opened_at + timedelta(seconds=after),  # type: ignore[operator]
                )
            )
        session.add(
            TicketMessage(organization_id=org.id, ticket_id=unanswered.id, author=Author.note, content="n")
        )

        def draft(status: str, text: str, final: str | None, mode: str = "extractive") -> Draft:
            return Draft(
                organization_id=org.id,
                ticket_id=fast.id,
                status=status,
                text=text,
                final_text=final,
                mode=mode,
            )

        session.add_all(
            [
                draft("sent", "Raise the quota.\nThen retry.", "Raise the quota. Then retry."),
                draft("sent", "Raise the quota.", "Raise the quota in cPanel."),
                draft("sent", "Raise it.", "Raise it, please."),
                draft("rejected", "Wrong.", None),
                draft("sent", "Staff wrote this.", "Staff wrote this.", mode="manual"),
                draft("draft", "Waiting.", None),
            ]
        )
        await session.commit()
    stats = await api_json(await client.get(f"{API}/stats", headers=org.headers))
    assert stats["by_status"] == {"waiting_for_customer": 1, "resolved": 1, "open": 2}
    assert stats["total"] == 4
    assert stats["median_first_response_seconds"] == 180.0
    assert stats["first_responses_measured"] == 2
    assert stats["drafts"] == {"unchanged": 1, "edited": 2, "rejected": 1}
    empty = await api_json(await client.get(f"{API}/stats", headers=(await make_tenant(db)).headers))
    assert empty["median_first_response_seconds"] is None and empty["total"] == 0
