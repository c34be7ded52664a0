"""Erasing a customer whose tickets come from WHMCS (a loopback WHMCS): the local copies go, WHMCS is not
changed, and the next syncs do not bring the erased tickets back; a new ticket of theirs is imported."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.runtime import Runtime
from answerdesk.tickets.sync import sync_whmcs
from tests.factories import bearer, make_key, make_org
from tests.fakes.whmcs_server import FakeWhmcs, FakeWhmcsServer
from tests.privacy.support import API
from tests.tickets.conftest import fake, whmcs_server  # noqa: F401 - pytest fixtures
from tests.tickets.support import connect, tickets_of

WRITES = {"AddTicketReply", "AddTicketNote", "UpdateTicket", "DeleteTicket", "CloseTicket", "UpdateClient"}


async def test_erased_whmcs_tickets_are_not_synced_again(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,  # noqa: F811 - fixture
    whmcs_server: FakeWhmcsServer,  # noqa: F811 - fixture
) -> None:
    org = await make_org(db)
    headers = bearer(await make_key(db, org))
    await connect(runtime, org.id, whmcs_server)
    erin = fake.add_client("Erin", "Example", email="erin@example.com")
    other = fake.add_client("Olga", "Other", email="olga@example.com")
    hers = fake.add_ticket("Invoice wrong", "The invoice lists my old street address.", client=erin.id)
    fake.add_ticket("DNS question", "Where do I change my nameservers?", client=other.id)
    await sync_whmcs(runtime, org.id)
    assert {t.client_email for t in await tickets_of(runtime, org.id)} == {
        "erin@example.com",
        "olga@example.com",
    }

    erased = await client.post(f"{API}/erase", headers=headers, json={"email": "erin@example.com"})
    assert erased.status_code == 200 and erased.json()["tickets"] == 1
    assert {t.client_email for t in await tickets_of(runtime, org.id)} == {"olga@example.com"}

    # She writes again on the same ticket, in WHMCS: it stays out of Answerdesk.
    fake.add_reply(hers.id, "Any news about my invoice?")
    await sync_whmcs(runtime, org.id)
    assert {t.client_email for t in await tickets_of(runtime, org.id)} == {"olga@example.com"}
    # A new ticket of hers is a new conversation: imported as usual.
    fake.add_ticket("New order", "I would like to order a second domain.", client=erin.id)
    await sync_whmcs(runtime, org.id)
    subjects = {t.subject for t in await tickets_of(runtime, org.id)}
    assert subjects == {"DNS question", "New order"}
    assert not [c for c in fake.requests if c.action in WRITES]  # WHMCS was never changed
