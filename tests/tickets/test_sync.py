"""Sync: pagination over several pages, every empty-list shape, idempotency, and resuming after a failure."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from answerdesk.tickets.connections import ConnectionService
from answerdesk.tickets.models import Author
from answerdesk.tickets.sync import SyncFailed, sync_whmcs
from tests.factories import make_org
from tests.fakes.whmcs_server import EMPTY_SHAPES, FakeWhmcs, FakeWhmcsServer, ListShape
from tests.tickets.support import connect, messages_of, snapshot, ticket_by_external, tickets_of


async def test_pages_through_every_ticket_and_stores_threads(
    db: AsyncSession, runtime: Runtime, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_org(db)
    await connect(runtime, org.id, whmcs_server)
    dept = fake.add_department("Technical Support")
    client = fake.add_client(
        "Ada", "Lovelace", companyname="Analytical Ltd", active_products=2, overdue_invoices=1
    )
    fake.add_tickets(23, deptid=dept.id, client=client.id, replies_per_ticket=2)  # last reply: customer
    fake.add_tickets(3, deptid=dept.id, status="Answered")  # not awaiting a reply: not listed
    run = await sync_whmcs(runtime, org.id, page_size=10)
    report = run.report
    assert (report.pages, report.listed, report.created, report.fetched) == (3, 23, 23, 23)
    assert report.clients_fetched == 1  # one client, fetched once per run
    assert [int(c.params["limitstart"]) for c in fake.calls("GetTickets")] == [0, 10, 20]
    tickets = await tickets_of(runtime, org.id)
    assert len(tickets) == 23 and len(run.needs_draft) == 23
    one = tickets[0]
    assert one.department == "Technical Support" and one.awaiting_reply
    assert one.client_context == {
        "first_name": "Ada",
        "company": "Analytical Ltd",
        "status": "Active",
        "active_products": 2,
        "active_domains": 0,
        "overdue_invoices": 1,
        "active_tickets": 23,
    }
    thread = await messages_of(runtime, one.id)
    assert [m.author for m in thread] == [Author.customer, Author.staff, Author.customer]
    assert thread[1].author_name == "Support Staff"


async def test_second_sync_changes_nothing(
    db: AsyncSession, runtime: Runtime, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_org(db)
    await connect(runtime, org.id, whmcs_server)
    fake.add_tickets(12, replies_per_ticket=1)  # staff replied last, but status "Open": listed
    first = await sync_whmcs(runtime, org.id, page_size=5)
    assert first.report.created == 12 and first.needs_draft == []  # staff spoke last: nothing to draft
    before = await snapshot(runtime, org.id)
    fake.clear_requests()
    second = await sync_whmcs(runtime, org.id, page_size=5)
    assert (second.report.unchanged, second.report.fetched, second.report.created, second.report.updated) == (
        12,
        0,
        0,
        0,
    )
    assert fake.calls("GetTicket") == [] and fake.calls("GetClientsDetails") == []
    assert await snapshot(runtime, org.id) == before


async def test_answered_in_whmcs_leaves_the_queue_and_a_new_customer_reply_returns_it(
    db: AsyncSession, runtime: Runtime, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_org(db)
    await connect(runtime, org.id, whmcs_server)
    ticket = fake.add_ticket("Mail bounces", "My mails bounce")
    first = await sync_whmcs(runtime, org.id)
    stored = await ticket_by_external(runtime, org.id, ticket.id)
    assert first.needs_draft == [stored.id] and stored.awaiting_reply
    # Staff answer inside WHMCS: the ticket leaves "Awaiting Reply" and is re-read once.
    fake.add_reply(ticket.id, "Please send the bounce message.", admin="Support Staff")
    second = await sync_whmcs(runtime, org.id)
    stored = await ticket_by_external(runtime, org.id, ticket.id)
    assert (second.report.listed, second.report.refreshed) == (0, 1)
    assert not stored.awaiting_reply and stored.status == "Answered"
    fake.add_reply(ticket.id, "Here it is: 550 mailbox full")
    third = await sync_whmcs(runtime, org.id)
    stored = await ticket_by_external(runtime, org.id, ticket.id)
    assert (third.report.updated, third.report.messages_added, third.needs_draft) == (1, 1, [stored.id])
    assert stored.awaiting_reply and stored.status == "Customer-Reply"
    assert len(await messages_of(runtime, stored.id)) == 3


@pytest.mark.parametrize("shape", EMPTY_SHAPES)
async def test_empty_lists_in_every_shape(
    shape: ListShape, db: AsyncSession, runtime: Runtime, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_org(db)
    await connect(runtime, org.id, whmcs_server)
    fake.list_shape = shape
    empty = await sync_whmcs(runtime, org.id)
    assert (empty.report.pages, empty.report.listed) == (1, 0)
    # A ticket with no notes (an empty notes wrapper) still syncs with its opening message.
    ticket = fake.add_ticket("Only one", "Just the opening message")
    run = await sync_whmcs(runtime, org.id)
    assert run.report.created == 1
    stored = await ticket_by_external(runtime, org.id, ticket.id)
    assert [m.content for m in await messages_of(runtime, stored.id)] == ["Just the opening message"]


async def test_interrupted_sync_resumes_from_its_cursor(
    db: AsyncSession, runtime: Runtime, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_org(db)
    await connect(runtime, org.id, whmcs_server)
    fake.add_tickets(25)
    # The third page's GetTickets fails on every retry: the run stops after two stored pages.
    _fail_on_page(fake, page=3)
    with pytest.raises(SyncFailed, match="continues where it stopped"):
        await sync_whmcs(runtime, org.id, page_size=10)
    assert len(await tickets_of(runtime, org.id)) == 20
    async with session_scope(runtime.sessionmaker) as session:
        connection = await ConnectionService(session, runtime).get(org.id)
        assert connection.sync_cursor == {"scope": 0, "offset": 20}
        assert connection.last_sync_error and "HTTP 500" in connection.last_sync_error
    fake.clear_requests()
    run = await sync_whmcs(runtime, org.id, page_size=10)
    assert run.report.resumed_from == 20
    assert [int(c.params["limitstart"]) for c in fake.calls("GetTickets")] == [20]
    assert run.report.created == 5 and len(fake.calls("GetTicket")) == 5
    assert len(await tickets_of(runtime, org.id)) == 25
    async with session_scope(runtime.sessionmaker) as session:
        connection = await ConnectionService(session, runtime).get(org.id)
        assert connection.sync_cursor is None and connection.last_sync_error is None


def _fail_on_page(fake: FakeWhmcs, *, page: int) -> None:
    """Lets ``page - 1`` GetTickets calls through, then fails every retry of the next one."""
    for _ in range(page - 1):
        fake.faults.next("GetTickets", "php_notice")  # a harmless fault: answers normally
    fake.faults.next("GetTickets", "html_500", times=3)
