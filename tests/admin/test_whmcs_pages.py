"""Connect WHMCS page: the form's validation, secrets never shown again, the test in plain words, Sync now."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.jobs import InProcessQueue
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import WhmcsConnection
from tests.admin.tickets_support import PAGE, WHMCS_PAGE, follow, member_of, queue_subjects, text_of
from tests.factories import LoggedIn
from tests.fakes.whmcs_server import (
    DEFAULT_ADMIN_PASSWORD,
    DEFAULT_ADMIN_USERNAME,
    DEFAULT_IDENTIFIER,
    DEFAULT_SECRET,
    FakeWhmcs,
    FakeWhmcsServer,
)
from tests.tickets.conftest import fake, whmcs_server  # noqa: F401 - pytest fixtures

ACCESS_KEY = "acc-key-7731-secret"


def form(me: LoggedIn, server: FakeWhmcsServer, **fields: str) -> dict[str, str]:
    values = {
        "csrf_token": me.csrf,
        "url": server.base_url,
        "auth_mode": "api",
        "identifier": DEFAULT_IDENTIFIER,
        "secret": DEFAULT_SECRET,
        "default_admin_username": "botadmin",
        "ticket_status": "Awaiting Reply",
        "poll_interval_minutes": "5",
        "timeout_seconds": "2",
        "enabled": "1",
    }
    values.update(fields)
    return values


def assert_no_secret(page: str) -> None:
    for secret in (DEFAULT_SECRET, DEFAULT_IDENTIFIER, ACCESS_KEY, DEFAULT_ADMIN_PASSWORD):
        assert secret not in page


async def test_connect_saves_tests_and_never_shows_secrets(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,  # noqa: F811 - fixture
    whmcs_server: FakeWhmcsServer,  # noqa: F811 - fixture
) -> None:
    _, me, _ = await member_of(client, db)
    empty = await client.get(WHMCS_PAGE)
    assert empty.status_code == 200 and "Save and test connection" in empty.text
    assert 'data-testid="last-test"' not in empty.text
    saved = await client.post(
        WHMCS_PAGE,
        data=form(me, whmcs_server, accesskey=ACCESS_KEY, admin_usernames="Anna@Example.com = anna"),
    )
    page = await follow(client, saved)
    words = text_of(page.text)
    assert "Connection saved. Connected to WHMCS" in words and "Working" in words
    assert "stored: identifier …" in words and "access key" in words
    assert "anna@example.com = anna" in page.text and 'value="botadmin"' in page.text
    assert_no_secret(page.text)
    # Saving again with the secret boxes empty keeps the stored secrets: the test still passes.
    kept = form(me, whmcs_server, identifier="", secret="", admin_usernames="anna@example.com = anna")
    again = await follow(client, await client.post(WHMCS_PAGE, data=kept))
    assert "Connected to WHMCS" in text_of(again.text)
    async with runtime.sessionmaker() as session:
        row = (await session.scalars(sa.select(WhmcsConnection))).one()
    assert row.accesskey_sealed is not None and row.admin_usernames == {"anna@example.com": "anna"}
    assert row.timeout_seconds == 2.0 and row.last_test_ok is True


async def test_form_errors_are_readable_and_do_not_echo_secrets(
    client: httpx.AsyncClient,
    db: AsyncSession,
    whmcs_server: FakeWhmcsServer,  # noqa: F811 - fixture
) -> None:
    _, me, _ = await member_of(client, db)
    cases = (
        ({"url": "ftp://billing.example.com"}, "http"),
        ({"poll_interval_minutes": "0"}, "greater than or equal to 1"),
        ({"poll_interval_minutes": "often"}, "Enter a whole number"),
        ({"auto_send": "dns 0.9"}, "Line 1: write it as “dns = 0.9”."),
        ({"auto_send": "dns = 1.5"}, "confidences between 0 and 1"),
        ({"departments_text": "support"}, "Department ids are whole numbers"),
        ({"secret": ""}, "Both the API identifier and the API secret are needed."),
    )
    for fields, message in cases:
        response = await client.post(WHMCS_PAGE, data=form(me, whmcs_server, accesskey=ACCESS_KEY, **fields))
        assert response.status_code == 422, (fields, response.text)
        assert message in text_of(response.text), (fields, text_of(response.text))
        assert_no_secret(response.text)
    nothing = await client.get(WHMCS_PAGE)
    assert 'data-testid="last-test"' not in nothing.text  # nothing was saved
    legacy = await follow(
        client,
        await client.post(
            WHMCS_PAGE,
            data=form(
                me,
                whmcs_server,
                auth_mode="legacy",
                legacy_username=DEFAULT_ADMIN_USERNAME,
                legacy_password=DEFAULT_ADMIN_PASSWORD,
            ),
        ),
    )
    assert "stored: admin apiadmin" in text_of(legacy.text) and "Connected to WHMCS" in text_of(legacy.text)
    assert_no_secret(legacy.text)


async def test_the_three_403_cases_in_plain_words(
    client: httpx.AsyncClient,
    db: AsyncSession,
    fake: FakeWhmcs,  # noqa: F811 - fixture
    whmcs_server: FakeWhmcsServer,  # noqa: F811 - fixture
) -> None:
    _, me, _ = await member_of(client, db)
    fake.allowed_ips = {"198.51.100.7"}
    fake.caller_ip = "203.0.113.9"
    page = await follow(client, await client.post(WHMCS_PAGE, data=form(me, whmcs_server)))
    words = text_of(page.text)
    assert "Connection saved, but the test failed:" in words and "Failed" in words
    assert "203.0.113.9" in words and "API IP Access Restriction" in words
    fake.allowed_ips = None
    fake.set_allowed_actions(DEFAULT_IDENTIFIER, ["GetAdminDetails", "GetTickets", "GetTicket"])
    tested = await follow(client, await client.post(f"{WHMCS_PAGE}/test", data={"csrf_token": me.csrf}))
    words = text_of(tested.text)
    assert "the WHMCS API role does not allow" in words and "AddTicketReply" in words
    fake.set_allowed_actions(DEFAULT_IDENTIFIER, None)
    wrong = await follow(
        client, await client.post(WHMCS_PAGE, data=form(me, whmcs_server, secret="nope-nope-nope"))
    )
    words = text_of(wrong.text)
    assert "test failed" in words and "secret" in words.lower()
    assert "nope-nope-nope" not in wrong.text
    assert_no_secret(wrong.text)


async def test_sync_now_queues_a_sync_and_the_queue_fills(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,  # noqa: F811 - fixture
    whmcs_server: FakeWhmcsServer,  # noqa: F811 - fixture
) -> None:
    _, me, _ = await member_of(client, db)
    refused = await follow(client, await client.post(f"{WHMCS_PAGE}/sync", data={"csrf_token": me.csrf}))
    assert "Connect WHMCS first" in text_of(refused.text)
    support = fake.add_department("Tech Support")
    fake.add_ticket(
        "Cannot send mail", "SMTP says relay denied.", deptid=support.id, client=fake.add_client().id
    )
    await follow(client, await client.post(WHMCS_PAGE, data=form(me, whmcs_server)))
    queued = await follow(client, await client.post(f"{WHMCS_PAGE}/sync", data={"csrf_token": me.csrf}))
    assert "Sync queued." in text_of(queued.text)
    assert isinstance(runtime.jobs, InProcessQueue)
    await runtime.jobs.drain(timeout=120)
    page = await client.get(WHMCS_PAGE)
    words = text_of(page.text)
    assert "Last sync: —" not in words and "created: 1" in words
    assert 'name="watched_department_ids" value="1"' in page.text  # department names known now
    assert queue_subjects((await client.get(PAGE)).text) == ["Cannot send mail"]
