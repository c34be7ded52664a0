"""The WHMCS server's time zone: zone-less WHMCS dates read in it (DST included), stored in UTC, corrected
when the zone changes; an unknown zone refused by the API, the admin form and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.integrations.whmcs import WhmcsNote, parse_whmcs_datetime
from answerdesk.kit.timezones import canonical_timezone, known_timezones
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import Author, WhmcsConnection
from answerdesk.tickets.sync import is_pushed_note, sync_whmcs
from tests.admin.test_whmcs_pages import form
from tests.admin.tickets_support import WHMCS_PAGE, follow, member_of, text_of
from tests.conftest import run_cli as run
from tests.factories import make_org
from tests.fakes.whmcs_server import DEFAULT_IDENTIFIER, DEFAULT_SECRET, FakeWhmcs, FakeWhmcsServer
from tests.tickets.support import WHMCS_API, api_json, connect, make_tenant, messages_of, ticket_by_external

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


def test_naive_whmcs_dates_are_read_in_the_zone_and_returned_in_utc() -> None:
    assert parse_whmcs_datetime("2026-01-15 12:00:00", BERLIN) == utc(2026, 1, 15, 11, 0)  # CET
    assert parse_whmcs_datetime("2026-07-15 12:00:00", BERLIN) == utc(2026, 7, 15, 10, 0)  # CEST
    assert parse_whmcs_datetime("2026-07-15 12:00:00", BERLIN).tzinfo is UTC  # type: ignore[union-attr]
    # Clocks go forward at 02:00 on 29 March: 02:30 never happens; read as PHP does, as 03:30 CEST.
    assert parse_whmcs_datetime("2026-03-29 02:30:00", BERLIN) == utc(2026, 3, 29, 1, 30)
    assert parse_whmcs_datetime("2026-03-29 03:30:00", BERLIN) == utc(2026, 3, 29, 1, 30)
    # Clocks go back at 03:00 on 25 October: 02:30 happens twice; the first (CEST) is taken.
    assert parse_whmcs_datetime("2026-10-25 02:30:00", BERLIN) == utc(2026, 10, 25, 0, 30)
    assert parse_whmcs_datetime("2026-10-25 03:30:00", BERLIN) == utc(2026, 10, 25, 2, 30)
    # A date that names its offset keeps it; the zone applies to zone-less dates only.
    assert parse_whmcs_datetime("2026-07-15T12:00:00+02:00", NEW_YORK) == utc(2026, 7, 15, 10, 0)
    assert parse_whmcs_datetime("2026-07-15 12:00:00", UTC) == utc(2026, 7, 15, 12, 0)


def test_zone_names_are_checked_and_spelt_canonically() -> None:
    assert canonical_timezone(" europe/berlin ") == "Europe/Berlin"
    assert canonical_timezone("UTC") == "UTC"
    for bad in ("Mars/Olympus", "", "localtime", "../etc/passwd", "Europe/Berlinx"):
        with pytest.raises(ValueError, match="unknown time zone"):
            canonical_timezone(bad)
    zones = known_timezones()
    assert "Europe/Berlin" in zones and "UTC" in zones and "localtime" not in zones
    assert zones == sorted(zones)


def test_a_pushed_note_is_recognised_only_from_its_own_time_on() -> None:
    written = utc(2026, 7, 15, 10, 0)

    def note(text: str, at: datetime) -> WhmcsNote:
        return WhmcsNote.model_validate({"noteid": 7, "message": text, "date": at})

    assert is_pushed_note(
        note("Called **Ada**: no answer.", written + timedelta(seconds=3)), "called ada no answer", written
    )
    # WHMCS's clock a little behind ours, or a time in a DST fold read an hour early: still ours.
    assert is_pushed_note(
        note("Called Ada: no answer.", written - timedelta(hours=1, minutes=10)),
        "Called Ada: no answer.",
        written,
    )
    # An older note with the same words is someone else's.
    assert not is_pushed_note(
        note("Called Ada: no answer.", written - timedelta(hours=3)), "Called Ada: no answer.", written
    )
    assert not is_pushed_note(
        note("Called Ada: no answer. Again.", written), "Called Ada: no answer.", written
    )


async def test_sync_reads_times_in_the_connection_zone_across_dst(
    db: AsyncSession, runtime: Runtime, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    fake.tz = NEW_YORK
    org = await make_org(db)
    await connect(runtime, org.id, whmcs_server, timezone="America/New_York")
    # New York springs forward at 02:00 on 8 March 2026: an hour apart, two hours on the wall clock.
    ticket = fake.add_ticket("Mail down", "Since last night", date=datetime(2026, 3, 8, 1, 30))
    fake.add_reply(ticket.id, "Still down", date=datetime(2026, 3, 8, 3, 30))
    # ... and falls back at 02:00 on 1 November: 01:30 happens twice, the first (EDT) is taken.
    fake.add_note(
        ticket.id, "Checked the MX records", admin="Support Staff", date=datetime(2026, 11, 1, 1, 30)
    )
    await sync_whmcs(runtime, org.id)
    stored = await ticket_by_external(runtime, org.id, ticket.id)
    assert stored.opened_at == utc(2026, 3, 8, 6, 30)  # 01:30 EST
    assert stored.last_customer_message_at == stored.last_message_at == utc(2026, 3, 8, 7, 30)  # 03:30 EDT
    thread = await messages_of(runtime, stored.id)
    assert [(m.author, m.created_at) for m in thread] == [
        (Author.customer, utc(2026, 3, 8, 6, 30)),
        (Author.customer, utc(2026, 3, 8, 7, 30)),
        (Author.note, utc(2026, 11, 1, 5, 30)),
    ]


async def test_changing_the_zone_corrects_stored_times_at_the_next_sync(
    db: AsyncSession, runtime: Runtime, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    fake.tz = NEW_YORK
    org = await make_org(db)
    await connect(runtime, org.id, whmcs_server)  # UTC: wrong for this WHMCS
    ticket = fake.add_ticket("Invoice", "Wrong amount", date=datetime(2026, 1, 15, 9, 0))
    fake.add_note(ticket.id, "Refund approved", date=datetime(2026, 1, 15, 10, 0))
    fake.add_reply(ticket.id, "Any news?", date=datetime(2026, 7, 1, 9, 0))
    await sync_whmcs(runtime, org.id)
    stored = await ticket_by_external(runtime, org.id, ticket.id)
    assert stored.opened_at == utc(2026, 1, 15, 9, 0)

    await connect(runtime, org.id, whmcs_server, timezone="America/New_York")
    fake.clear_requests()
    # Nothing changed in WHMCS, but the zone is part of the fingerprint: the ticket is read again.
    fixed = await sync_whmcs(runtime, org.id)
    assert (fixed.report.fetched, fixed.report.unchanged, fixed.report.messages_added) == (1, 0, 0)
    stored = await ticket_by_external(runtime, org.id, ticket.id)
    assert stored.opened_at == utc(2026, 1, 15, 14, 0)  # EST, UTC-5
    assert stored.last_customer_message_at == stored.last_message_at == utc(2026, 7, 1, 13, 0)  # EDT, UTC-4
    thread = await messages_of(runtime, stored.id)
    assert [(m.content, m.created_at) for m in thread] == [
        ("Wrong amount", utc(2026, 1, 15, 14, 0)),
        ("Refund approved", utc(2026, 1, 15, 15, 0)),
        ("Any news?", utc(2026, 7, 1, 13, 0)),
    ]
    again = await sync_whmcs(runtime, org.id)
    assert (again.report.fetched, again.report.unchanged) == (0, 1)


async def test_api_refuses_an_unknown_zone_and_keeps_the_stored_one(
    client: httpx.AsyncClient, db: AsyncSession, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_tenant(db)
    body = {"url": whmcs_server.base_url, "identifier": DEFAULT_IDENTIFIER, "secret": DEFAULT_SECRET}
    refused = await client.put(
        f"{WHMCS_API}/connection", headers=org.headers, json={**body, "timezone": "Mars/Olympus"}
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "validation_error" and "Mars/Olympus" in str(error)
    assert (await client.get(f"{WHMCS_API}/connection", headers=org.headers)).status_code == 404
    saved = await api_json(
        await client.put(
            f"{WHMCS_API}/connection", headers=org.headers, json={**body, "timezone": "europe/berlin"}
        )
    )
    assert saved["connection"]["timezone"] == "Europe/Berlin"
    again = await client.put(
        f"{WHMCS_API}/connection", headers=org.headers, json={**body, "timezone": "Europe/Berlinn"}
    )
    assert again.status_code == 422
    read = await api_json(await client.get(f"{WHMCS_API}/connection", headers=org.headers))
    assert read["timezone"] == "Europe/Berlin"


async def test_admin_form_shows_the_zone_error_beside_the_field(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    _, me, _ = await member_of(client, db)
    page = await client.get(WHMCS_PAGE)
    assert 'name="timezone" value="UTC"' in page.text and '<option value="Europe/Berlin">' in page.text
    refused = await client.post(WHMCS_PAGE, data=form(me, whmcs_server, timezone="Mars/Olympus"))
    assert refused.status_code == 422
    assert 'id="w-timezone-err"' in refused.text and 'aria-describedby="w-timezone-err"' in refused.text
    assert "Unknown time zone 'Mars/Olympus'" in text_of(refused.text)
    assert 'value="Mars/Olympus"' in refused.text  # what was typed stays in the box
    async with runtime.sessionmaker() as session:
        assert (await session.scalars(sa.select(WhmcsConnection))).first() is None
    saved = await follow(
        client, await client.post(WHMCS_PAGE, data=form(me, whmcs_server, timezone="europe/berlin"))
    )
    assert "Connection saved" in text_of(saved.text) and 'name="timezone" value="Europe/Berlin"' in saved.text
    async with runtime.sessionmaker() as session:
        assert (await session.scalars(sa.select(WhmcsConnection))).one().timezone == "Europe/Berlin"


def test_cli_connect_takes_a_zone_and_refuses_an_unknown_one(
    cli_env: None,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    assert run("org", "create", "Blue Hosting", "--slug", "blue")[0] == 0
    connect_args = (
        "whmcs", "connect", "--org", "blue", "--url", whmcs_server.base_url,
        "--identifier", DEFAULT_IDENTIFIER, "--secret", DEFAULT_SECRET,
    )  # fmt: skip
    code, out, err = run(*connect_args, "--timezone", "Mars/Olympus")
    assert code == 1 and out == ""
    assert err.strip() == "error: unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Berlin"
    code, out, err = run(*connect_args, "--timezone", "europe/berlin")
    assert code == 0, err
    assert "(WHMCS dates read in Europe/Berlin)" in out and "ok: Connected" in out
    # Leaving the option out keeps the stored zone.
    code, out, _ = run(*connect_args)
    assert code == 0 and "(WHMCS dates read in Europe/Berlin)" in out
