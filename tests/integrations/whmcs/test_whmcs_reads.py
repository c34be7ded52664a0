"""Read actions through the real client against the fake WHMCS: typing, lists, dates, pagination."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from tests.fakes.whmcs_server import EMPTY_SHAPES, FakeWhmcs, ListShape

from answerdesk.integrations.whmcs import WhmcsApi, WhmcsApiError, WhmcsClient

EST = timezone(timedelta(hours=-5), "EST")

ClientFactory = Callable[..., WhmcsClient]


def seed_thread(fake: FakeWhmcs) -> int:
    dept = fake.add_department("Billing")
    client = fake.add_client("Ada", "Lovelace", companyname="Analytical Engines Ltd")
    ticket = fake.add_ticket(
        "Cannot log in",
        "Hi,\r\nI can't <b>log in</b> &amp; I need help.\r\n",
        client=client.id,
        deptid=dept.id,
        date=datetime(2026, 3, 1, 9, 0, 0),
    )
    fake.add_reply(
        ticket.id, "Please reset your password.", admin="Jane Staff", date=datetime(2026, 3, 1, 9, 5)
    )
    fake.add_reply(ticket.id, "Still broken.", date=datetime(2026, 3, 1, 9, 10))
    fake.add_note(ticket.id, "Customer is a VIP", admin="Jane Staff", date=datetime(2026, 3, 1, 9, 6))
    return ticket.id


async def test_get_tickets_parses_string_numbers_and_dates(
    fake: FakeWhmcs, make_client: ClientFactory
) -> None:
    ticket_id = seed_thread(fake)
    whmcs = make_client(tz=EST)

    raw = await whmcs.call("GetTickets")
    assert raw["tickets"]["ticket"][0]["id"] == str(ticket_id)  # the fake answers like WHMCS
    assert raw["totalresults"] == "1" and raw["startnumber"] == 0

    page = await whmcs.get_tickets()
    assert (page.total, page.start, page.returned) == (1, 0, 1)
    row = page.tickets[0]
    assert row.id == ticket_id and row.subject == "Cannot log in" and row.status == "Customer-Reply"
    assert row.dept_id == fake.ticket(ticket_id).deptid and row.user_id == 1
    assert row.created_at == datetime(2026, 3, 1, 9, 0, 0, tzinfo=EST)
    assert row.last_reply_at == datetime(2026, 3, 1, 9, 10, 0, tzinfo=EST)
    assert row.tid == fake.ticket(ticket_id).tid


async def test_numbers_as_real_numbers_parse_the_same(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    ticket_id = seed_thread(fake)
    fake.numbers_as_strings = False

    raw = await whmcs.call("GetTickets")
    assert raw["tickets"]["ticket"][0]["id"] == ticket_id
    ticket = await whmcs.get_ticket(ticket_id)
    assert ticket.id == ticket_id and ticket.replies[0].reply_id == 0


async def test_get_ticket_returns_thread_with_opening_message_and_notes(
    fake: FakeWhmcs, whmcs: WhmcsClient
) -> None:
    ticket_id = seed_thread(fake)

    ticket = await whmcs.get_ticket(ticket_id)

    assert ticket.id == ticket_id and ticket.dept_name == "Billing" and ticket.subject == "Cannot log in"
    assert ticket.replies[0].reply_id == 0
    opening = ticket.opening_message
    assert opening is not None and opening is ticket.replies[0]
    assert opening.message == "Hi,\nI can't log in & I need help."
    assert opening.message_raw == "Hi,\r\nI can't <b>log in</b> &amp; I need help.\r\n"
    assert [r.is_staff for r in ticket.replies] == [False, True, False]
    assert ticket.replies[1].admin == "Jane Staff" and ticket.replies[1].requestor_type == "Operator"
    assert ticket.latest_reply is not None and ticket.latest_reply.message == "Still broken."
    assert [(n.message, n.admin) for n in ticket.notes] == [("Customer is a VIP", "Jane Staff")]

    newest_first = await whmcs.get_ticket(ticket_id, replies_sort="DESC")
    assert newest_first.replies[0].message == "Still broken."
    assert newest_first.opening_message is not None and newest_first.opening_message.reply_id == 0

    by_number = await whmcs.get_ticket_by_number(fake.ticket(ticket_id).tid)
    assert by_number.id == ticket_id


async def test_get_ticket_unknown_id_is_an_api_error(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    with pytest.raises(WhmcsApiError) as caught:
        await whmcs.get_ticket(4242)
    assert caught.value.whmcs_message == "Ticket ID Not Found"
    assert caught.value.not_found and caught.value.action == "GetTicket"
    assert "Ticket ID Not Found" in str(caught.value)
    assert len(fake.calls("GetTicket")) == 1  # a clean error is not retried


async def test_pagination_walks_every_page(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    seeded = fake.add_tickets(137)

    ids = [t.id async for t in whmcs.iter_tickets(limitnum=25)]

    assert sorted(ids) == sorted(t.id for t in seeded) and len(ids) == 137
    assert ids == sorted(ids, reverse=True)  # newest activity first, as the fake orders
    starts = [int(r.params["limitstart"]) for r in fake.calls("GetTickets")]
    assert starts == [0, 25, 50, 75, 100, 125]
    assert {r.params["limitnum"] for r in fake.calls("GetTickets")} == {"25"}


async def test_pagination_stops_on_exact_multiple(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.add_tickets(50)

    assert len([t async for t in whmcs.iter_tickets(limitnum=25)]) == 50
    assert len(fake.calls("GetTickets")) == 2


async def test_status_and_department_filters(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    sales, support = fake.add_department("Sales"), fake.add_department("Support")
    fake.add_ticket("new", deptid=sales.id, status="Open")
    fake.add_ticket("answered", deptid=sales.id, status="Answered")
    fake.add_ticket("customer", deptid=support.id, status="Customer-Reply")
    fake.add_ticket("closed", deptid=support.id, status="Closed")

    awaiting = {t.subject async for t in whmcs.iter_tickets(status="Awaiting Reply")}
    active = {t.subject async for t in whmcs.iter_tickets(status="All Active Tickets")}
    support_only = {t.subject async for t in whmcs.iter_tickets(deptid=support.id)}

    assert awaiting == {"new", "customer"}
    assert active == {"new", "answered", "customer"}
    assert support_only == {"customer", "closed"}
    assert fake.calls("GetTickets")[0].params["status"] == "Awaiting Reply"


@pytest.mark.parametrize("shape", EMPTY_SHAPES)
async def test_every_empty_list_variant_parses_to_empty(
    fake: FakeWhmcs, whmcs: WhmcsClient, shape: ListShape
) -> None:
    fake.list_shape = shape
    expected_raw = {
        "list": {"ticket": []},
        "empty_array": [],
        "empty_object": {},
        "empty_string": "",
        "numeric_keys": {"ticket": {}},
    }
    raw = await whmcs.call("GetTickets")
    if shape == "missing":
        assert "tickets" not in raw
    else:
        assert raw["tickets"] == expected_raw[shape]

    assert (await whmcs.get_tickets()).tickets == []
    assert [t async for t in whmcs.iter_tickets()] == []
    assert await whmcs.get_support_departments() == []

    ticket = fake.add_ticket("no notes")
    fake.ticket(ticket.id).replies.clear()
    parsed = await whmcs.get_ticket(ticket.id)
    assert parsed.replies == [] and parsed.notes == [] and parsed.opening_message is None


@pytest.mark.parametrize("shape", ["numeric_keys", "single_object"])
async def test_numeric_keyed_and_single_object_lists(
    fake: FakeWhmcs, whmcs: WhmcsClient, shape: ListShape
) -> None:
    fake.list_shape = shape
    only = fake.add_ticket("only one")
    fake.add_note(only.id, "one note")

    raw = await whmcs.call("GetTickets")
    assert isinstance(raw["tickets"]["ticket"], dict)
    assert [t.id for t in (await whmcs.get_tickets()).tickets] == [only.id]
    ticket = await whmcs.get_ticket(only.id)
    assert [n.message for n in ticket.notes] == ["one note"]
    assert [r.reply_id for r in ticket.replies] == [0]

    fake.add_tickets(3)
    assert len((await whmcs.get_tickets()).tickets) == 4


async def test_departments_and_statuses(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    sales = fake.add_department("Sales")
    fake.add_department("Support")
    fake.add_ticket("a", deptid=sales.id, status="Open")
    fake.add_ticket("b", deptid=sales.id, status="Answered")
    fake.add_status("Escalated", color="#ff0000", show_active=True, show_awaiting=True)

    departments = await whmcs.get_support_departments()
    statuses = await whmcs.get_support_statuses()

    assert [(d.name, d.awaiting_reply, d.open_tickets) for d in departments] == [
        ("Sales", 1, 2),
        ("Support", 0, 0),
    ]
    titles = {s.title: s for s in statuses}
    assert {"Open", "Answered", "Customer-Reply", "On Hold", "In Progress", "Closed", "Escalated"} <= set(
        titles
    )
    assert titles["Open"].count == 1 and titles["Escalated"].color == "#ff0000"


async def test_clients_details_keeps_prompt_fields(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    client = fake.add_client("Grace", "Hopper", companyname="Navy", active_products=3, active_domains=2)
    fake.add_ticket("help", client=client.id)

    details = await whmcs.get_clients_details(client.id)

    assert (details.id, details.display_name, details.company, details.email, details.status) == (
        client.id,
        "Grace Hopper",
        "Navy",
        client.email,
        "Active",
    )
    assert details.stats is not None
    assert (details.stats.active_products, details.stats.active_domains, details.stats.active_tickets) == (
        3,
        2,
        1,
    )
    assert [u.email for u in details.users] == [client.email] and details.users[0].is_owner

    without_stats = await whmcs.get_clients_details(client.id, stats=False)
    assert without_stats.stats is None

    with pytest.raises(WhmcsApiError) as caught:
        await whmcs.get_clients_details(999)
    assert caught.value.whmcs_message == "Client Not Found"


async def test_admin_details(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.add_department("Sales")

    api: WhmcsApi = whmcs  # mypy checks the client satisfies the Protocol other domains use

    admin = await api.get_admin_details()

    assert (admin.id, admin.name, admin.departments) == (1, "Api Admin", [1])
    assert "API Access" in admin.allowed_permissions
