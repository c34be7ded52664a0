"""The dashboard page over HTTP: every figure's link opens a list with that many conversations or tickets."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from tests.analytics.test_figures import seed
from tests.factories import logged_in, make_member, make_org


def link(page: str, testid: str) -> str:
    match = re.search(rf'href="([^"]+)" data-testid="{testid}"', page)
    assert match, testid
    return html.unescape(match.group(1))


def listed(page: str, noun: str) -> int:
    """The total a Chats or Tickets list shows ("1-7 of 7 conversations"), 0 for an empty list."""
    match = re.search(rf"of (\d+) {noun}", page)
    return int(match.group(1)) if match else 0


async def test_every_figure_links_to_its_list(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org, start, today = await seed(db)
    await logged_in(client, (await make_member(db, org, Role.staff)).user.email)
    params = {"range": "7"}
    page = (await client.get("/admin", params=params)).text
    assert 'data-testid="dash-empty"' not in page and "chart.umd.min.js" in page
    expected = {
        "fig-conversations": 7,
        "fig-resolution": 3,
        "fig-handoff": 2,
        "fig-csat": 3,
        "fig-first-response": 2,
    }
    for testid, count in expected.items():
        target = link(page, testid)
        assert f"start={start.isoformat()}" in target and "channel=customers" in target
        listing = (await client.get(target)).text
        assert listed(listing, "conversation") == count, (testid, target)
        assert 'data-testid="chat-filter-description"' in listing
    # Answer modes, one per conversation here.
    llm = (await client.get(f"/admin/chats?start={start}&end={today}&channel=customers&mode=llm")).text
    assert listed(llm, "conversation") == 2
    api = (await client.get("/admin", params={**params, "channel": "api"})).text
    assert listed((await client.get(link(api, "fig-conversations"))).text, "conversation") == 1

    tickets = (await client.get(link(page, "fig-ticket-response"))).text
    assert "tickets opened" in tickets and tickets.count('data-testid="ticket-row"') == 2
    sent = (await client.get(f"/admin/tickets?view=all&start={start}&end={today}&draft=sent")).text
    assert sent.count('data-testid="ticket-row"') == 1
    rejected = (await client.get(f"/admin/tickets?view=all&start={start}&end={today}&draft=rejected")).text
    assert rejected.count('data-testid="ticket-row"') == 1


async def test_range_and_channel_form(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org, start, _ = await seed(db)
    await logged_in(client, (await make_member(db, org, Role.admin)).user.email)
    # Dates typed without choosing "Custom" are a custom range.
    page = (await client.get("/admin", params={"from": start.isoformat(), "to": start.isoformat()})).text
    assert listed((await client.get(link(page, "fig-conversations"))).text, "conversation") == 1
    bad = (await client.get("/admin", params={"range": "custom", "from": "nope", "channel": "fax"})).text
    assert "Ignored the custom range" in bad and "Ignored the channel" in bad
    assert (await client.get("/admin", params={"range": "365000"})).status_code == 200


async def test_empty_organization_says_what_will_appear(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await logged_in(client, (await make_member(db, org, Role.admin)).user.email)
    page = (await client.get("/admin")).text
    assert 'data-testid="dash-empty"' in page and "answerdesk demo" in page and "<canvas" not in page
    assert "Automatic resolution rate: of the conversations that ended" in page
