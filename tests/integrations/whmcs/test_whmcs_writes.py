"""Mutating actions: sent once, never retried, with uncertain outcomes reported as such."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.fakes.whmcs_server import FakeWhmcs

from answerdesk.integrations.whmcs import (
    WhmcsApiError,
    WhmcsBadResponse,
    WhmcsClient,
    WhmcsTimeout,
    WhmcsUnavailable,
)

ClientFactory = Callable[..., WhmcsClient]


async def test_add_ticket_reply_posts_a_staff_reply(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    ticket = fake.add_ticket("Cannot log in", client=fake.add_client().id)

    await whmcs.add_ticket_reply(ticket.id, "Try **resetting** it.", "Jane Staff", markdown=True)

    stored = fake.ticket(ticket.id)
    assert [(r.message, r.admin, r.markdown) for r in stored.staff_replies] == [
        ("Try **resetting** it.", "Jane Staff", True)
    ]
    assert stored.status == "Answered"
    (request,) = fake.calls("AddTicketReply")
    assert request.params["adminusername"] == "Jane Staff" and request.params["markdown"] == "1"
    assert "clientid" not in request.params

    thread = await whmcs.get_ticket(ticket.id)
    assert thread.latest_reply is not None and thread.latest_reply.is_staff
    assert thread.latest_reply.message == "Try **resetting** it."


async def test_add_ticket_reply_can_set_status_and_plain_text(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    ticket = fake.add_ticket()

    await whmcs.add_ticket_reply(ticket.id, "On it.", "Bot", markdown=False, status="On Hold")

    assert fake.ticket(ticket.id).status == "On Hold"
    assert fake.calls("AddTicketReply")[0].params["markdown"] == "0"


@pytest.mark.parametrize(
    ("ticket_exists", "message", "status", "expected"),
    [
        (False, "hello", None, "Ticket ID not found"),
        (True, "   ", None, "Message is required"),
        (True, "hello", "Nonsense", "Invalid Ticket Status"),
    ],
)
async def test_add_ticket_reply_errors_are_not_retried(
    fake: FakeWhmcs, whmcs: WhmcsClient, ticket_exists: bool, message: str, status: str | None, expected: str
) -> None:
    ticket_id = fake.add_ticket().id if ticket_exists else 999

    with pytest.raises(WhmcsApiError) as caught:
        await whmcs.add_ticket_reply(ticket_id, message, "Bot", markdown=False, status=status)

    assert caught.value.whmcs_message == expected and not caught.value.outcome_unknown
    assert len(fake.calls("AddTicketReply")) == 1


async def test_timeout_after_commit_is_not_retried_and_posts_once(
    fake: FakeWhmcs, make_client: ClientFactory
) -> None:
    ticket = fake.add_ticket()
    fake.faults.next("AddTicketReply", "timeout_after_commit", seconds=30)
    whmcs = make_client(timeout=0.3, max_read_retries=3)

    with pytest.raises(WhmcsTimeout) as caught:
        await whmcs.add_ticket_reply(ticket.id, "Exactly once", "Bot", markdown=False)

    assert caught.value.outcome_unknown and caught.value.action == "AddTicketReply"
    assert "re-read before retrying" in str(caught.value)
    assert len(fake.calls("AddTicketReply")) == 1
    # The caller's recovery path: re-read the ticket and find the reply there, once.
    thread = await make_client().get_ticket(ticket.id)
    assert [r.message for r in thread.replies].count("Exactly once") == 1
    assert [r.message for r in fake.ticket(ticket.id).replies].count("Exactly once") == 1


async def test_server_error_after_commit_on_a_write_is_uncertain_and_not_retried(
    fake: FakeWhmcs, whmcs: WhmcsClient
) -> None:
    ticket = fake.add_ticket()
    fake.faults.next("AddTicketNote", "html_500", commit=True)

    with pytest.raises(WhmcsUnavailable) as caught:
        await whmcs.add_ticket_note(ticket.id, "draft ready")

    assert caught.value.status_code == 500 and caught.value.outcome_unknown
    assert len(fake.calls("AddTicketNote")) == 1
    assert [n.message for n in fake.ticket(ticket.id).notes] == ["draft ready"]


async def test_malformed_json_on_a_write_is_uncertain(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    ticket = fake.add_ticket()
    fake.faults.next("UpdateTicket", "malformed_json")

    with pytest.raises(WhmcsBadResponse) as caught:
        await whmcs.update_ticket(ticket.id, priority="High")

    assert caught.value.outcome_unknown
    assert len(fake.calls("UpdateTicket")) == 1


async def test_refused_connection_on_a_write_is_known_not_applied(make_client: ClientFactory) -> None:
    whmcs = make_client(base_url="http://127.0.0.1:9")  # discard port: nothing listens

    with pytest.raises(WhmcsUnavailable) as caught:
        await whmcs.add_ticket_note(1, "x")

    assert not caught.value.outcome_unknown


async def test_add_ticket_note(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    ticket = fake.add_ticket()

    await whmcs.add_ticket_note(ticket.id, "AI draft ready", markdown=True)

    assert [(n.message, n.admin, n.markdown) for n in fake.ticket(ticket.id).notes] == [
        ("AI draft ready", "Api Admin", True)
    ]
    with pytest.raises(WhmcsApiError, match="Ticket ID not found"):
        await whmcs.add_ticket_note(999, "x")


async def test_update_ticket_moves_prioritises_and_flags(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    sales = fake.add_department("Sales")
    billing = fake.add_department("Billing")
    ticket = fake.add_ticket(deptid=sales.id)

    await whmcs.update_ticket(ticket.id, deptid=billing.id, priority="High", flag=1, status="In Progress")

    stored = fake.ticket(ticket.id)
    assert (stored.deptid, stored.priority, stored.flag, stored.status) == (
        billing.id,
        "High",
        1,
        "In Progress",
    )

    await whmcs.update_ticket(ticket.id, remove_flag=True)
    assert fake.ticket(ticket.id).flag == 0
    assert fake.calls("UpdateTicket")[-1].params["removeFlag"] == "1"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"priority": "Urgent"}, "Invalid Ticket Priority. Valid priorities are: Low,Medium,High"),
        ({"deptid": 77}, "Department ID Not Found"),
        ({"status": "Bogus"}, "Invalid Ticket Status. Valid statuses are: Open,Answered,"),
    ],
)
async def test_update_ticket_errors(
    fake: FakeWhmcs, whmcs: WhmcsClient, change: dict[str, object], expected: str
) -> None:
    ticket = fake.add_ticket()

    with pytest.raises(WhmcsApiError) as caught:
        await whmcs.update_ticket(ticket.id, **change)  # type: ignore[arg-type]

    assert caught.value.whmcs_message.startswith(expected)


async def test_update_ticket_needs_a_change(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    with pytest.raises(ValueError):
        await whmcs.update_ticket(1)
    assert fake.calls("UpdateTicket") == []


async def test_open_ticket_for_client_and_guest(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    dept = fake.add_department("Support")
    client = fake.add_client()

    opened = await whmcs.open_ticket(
        deptid=dept.id, subject="From chat", message="Transcript…", clientid=client.id, priority="High"
    )
    guest = await whmcs.open_ticket(
        deptid=dept.id, subject="Guest", message="Hi", name="Guest Person", email="guest@example.test"
    )

    stored = fake.ticket(opened.id)
    assert (opened.tid, opened.access_code) == (stored.tid, stored.c)
    assert (stored.userid, stored.subject, stored.priority, stored.status) == (
        client.id,
        "From chat",
        "High",
        "Open",
    )
    assert stored.replies[0].message == "Transcript…"
    assert fake.ticket(guest.id).email == "guest@example.test"

    with pytest.raises(WhmcsApiError, match="Subject is required"):
        await whmcs.open_ticket(deptid=dept.id, subject="", message="x", clientid=client.id)
    with pytest.raises(WhmcsApiError, match="Name and email address are required if not a client"):
        await whmcs.open_ticket(deptid=dept.id, subject="s", message="x")
