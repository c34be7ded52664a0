"""The Live chats page's counters: the widget's figures (staff online, typical reply, rating) with the
active and waiting chats, rendered with the page and refreshed with the list."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from tests.chat.live_support import live, live_org, start_conversation
from tests.chat.test_chat_stats import _chat_with_waits
from tests.factories import logged_in


def counter(html: str, name: str) -> str:
    found = re.search(rf'data-testid="counter-{name}">([^<]*)<', html)
    assert found, name
    return found.group(1).strip()


async def test_live_page_shows_the_counters(
    db: AsyncSession, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    org = await live_org(db, "Anna")
    await _chat_with_waits(runtime, org, [3.5], timedelta(0), rating=4)  # active; 3.5 min: "4 min"
    waiting, token = await start_conversation(runtime, org)
    async with session_scope(runtime.sessionmaker) as s:
        await live(runtime).handoff(s, org.public(), waiting, token)
    await logged_in(client, org.staff_email)
    page = await client.get("/admin/live")
    assert page.status_code == 200
    assert counter(page.text, "online") == "1"  # opening the page is being online
    assert counter(page.text, "reply") == "4 min"
    assert counter(page.text, "rating") == "4.0 ★"
    assert (counter(page.text, "active"), counter(page.text, "waiting")) == ("2", "1")
    assert 'id="live-counters" class="live-counters" data-testid="live-counters" hx-swap-oob' not in page.text

    # The list the page reloads on every chat event brings the counters along (an out-of-band swap).
    async with session_scope(runtime.sessionmaker) as s:
        await live(runtime).take_over(s, org.id, waiting, org.staff)
    listing = await client.get("/admin/live/list")
    assert 'hx-swap-oob="true"' in listing.text
    assert (counter(listing.text, "active"), counter(listing.text, "waiting")) == ("2", "0")
