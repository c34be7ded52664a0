"""Demo tickets: seeded once per organization with drafts from the real drafting service (extractive)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.runtime import Runtime
from answerdesk.tickets.demo import DEMO_TICKETS, seed_demo_tickets
from answerdesk.tickets.repository import TicketFilter
from answerdesk.tickets.service import TicketService
from tests.chat.support import seed_demo_subset
from tests.tickets.support import drafts_of, make_tenant, messages_of, tickets_of


async def test_demo_tickets_are_drafted_once_and_the_outage_leads_the_queue(
    db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    await seed_demo_subset(runtime, org.id)
    assert 6 <= len(DEMO_TICKETS) <= 10
    assert await seed_demo_tickets(runtime, org.id) == len(DEMO_TICKETS)
    assert await seed_demo_tickets(runtime, org.id) == 0  # a second `answerdesk demo` adds nothing
    tickets = await tickets_of(runtime, org.id)
    assert len(tickets) == len(DEMO_TICKETS)
    for ticket in tickets:
        (draft,) = await drafts_of(runtime, ticket.id)
        assert draft.status == "draft" and draft.mode in ("extractive", "faq", "no_answer", "handoff")
        assert ticket.awaiting_reply and ticket.category and ticket.classification["reasons"]
    by_key = {t.external_id: t for t in tickets}
    nameservers = (await drafts_of(runtime, by_key["demo-nameservers"].id))[0]
    assert nameservers.citations and "ns1.northwind-hosting.example" in nameservers.text
    follow_up = await messages_of(runtime, by_key["demo-cpanel-password"].id)
    assert [m.author for m in follow_up] == ["customer", "staff", "customer"]
    queue = await TicketService(db, runtime).queue(org.id, TicketFilter(awaiting_reply=True))
    first = queue.items[0]
    assert first.subject.startswith("WEBSITE DOWN") and first.priority == "urgent" and first.frustrated
