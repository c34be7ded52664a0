"""The fake WHMCS itself: behaviours other test suites rely on (reset isolation, bulk seeding)."""

from __future__ import annotations

import asyncio
import time

import httpx
from tests.fakes.whmcs_server import DEFAULT_IDENTIFIER, DEFAULT_SECRET, FakeWhmcs, FakeWhmcsServer


def form(action: str, **params: str) -> dict[str, str]:
    return {
        "action": action,
        "responsetype": "json",
        "identifier": DEFAULT_IDENTIFIER,
        "secret": DEFAULT_SECRET,
        **params,
    }


async def test_request_parked_across_reset_leaves_the_new_state_alone(
    fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    ticket = fake.add_ticket()
    fake.faults.next("AddTicketNote", "slow", seconds=30)
    async with httpx.AsyncClient() as http:
        parked = asyncio.create_task(
            http.post(
                whmcs_server.api_url, data=form("AddTicketNote", ticketid=str(ticket.id), message="late")
            )
        )
        deadline = time.monotonic() + 5
        while fake.faults.pending("AddTicketNote") and time.monotonic() < deadline:
            await asyncio.sleep(0.01)  # wait until the server has taken the fault
        assert fake.faults.pending("AddTicketNote") == 0

        fake.reset()
        again = fake.add_ticket()
        response = await parked

    assert response.status_code == 503
    assert again.id == ticket.id and fake.ticket(again.id).notes == [] and fake.requests == []


async def test_bulk_seed_is_listed_by_last_activity(fake: FakeWhmcs, whmcs_server: FakeWhmcsServer) -> None:
    seeded = fake.add_tickets(300, replies_per_ticket=2, status="Customer-Reply")

    async with httpx.AsyncClient() as http:
        body = (await http.post(whmcs_server.api_url, data=form("GetTickets", limitnum="5"))).json()

    assert body["totalresults"] == "300" and body["numreturned"] == 5
    assert [row["id"] for row in body["tickets"]["ticket"]] == [str(t.id) for t in reversed(seeded[-5:])]
    assert all(len(t.replies) == 3 and t.status == "Customer-Reply" for t in seeded)
