"""Live chats pages over HTTP: staff see the list with waiting customers first and unread counts, act on a
conversation from the page, and never see another organization's conversation."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from tests.chat.live_support import add_staff, customer_headers, live, live_org, start_conversation
from tests.chat.support import API
from tests.factories import logged_in


async def test_list_puts_waiting_first_and_counts_unread(
    db: AsyncSession, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    org = await live_org(db, "Anna")
    staff_email = "ben-live@example.com"
    await add_staff(db, org.org, "Ben", Role.staff, staff_email)
    quiet, _ = await start_conversation(runtime, org)
    waiting, token = await start_conversation(runtime, org)
    async with session_scope(runtime.sessionmaker) as s:
        await live(runtime).reply(s, org.id, quiet, org.staff, "Hello")
    async with session_scope(runtime.sessionmaker) as s:
        await live(runtime).handoff(s, org.public(), waiting, token)
    me = await logged_in(client, staff_email)  # staff, not only admins, use this page
    page = await client.get("/admin/live")
    assert page.status_code == 200 and "Live chats" in page.text
    rows = page.text.split('data-testid="live-row"')[1:]
    assert len(rows) == 2 and str(waiting) in rows[0] and "waiting" in rows[0]

    pane = await client.post(f"/admin/live/{waiting}/takeover", headers=me.headers())
    assert pane.status_code == 200 and "Ben joined the chat" in pane.text
    pane = await client.post(
        f"/admin/live/{waiting}/note", headers=me.headers(), data={"content": "VIP <b>x</b>"}
    )
    assert "Internal note" in pane.text and "VIP &lt;b&gt;x&lt;/b&gt;" in pane.text
    pane = await client.post(f"/admin/live/{waiting}/reply", headers=me.headers(), data={"content": "On it"})
    assert "On it" in pane.text
    customer_view = (await client.get(f"{API}/{waiting}", headers=customer_headers(org, token))).json()
    assert "VIP" not in str(customer_view) and "On it" in str(customer_view)
    pane = await client.post(f"/admin/live/{waiting}/reply", headers=me.headers(), data={"content": "  "})
    assert "The message is empty." in pane.text  # shown in the pane, not an error page

    closed = await client.post(f"/admin/live/{waiting}/close", headers=me.headers())
    assert "This conversation is closed." in closed.text
    listing = await client.get("/admin/live/list?view=closed")
    assert str(waiting) in listing.text and str(quiet) not in listing.text
    messages = (await client.get(f"/admin/live/{waiting}/messages?after=0")).json()
    assert "note" in [m["sender"] for m in messages]


async def test_another_organizations_conversation_is_a_404(
    db: AsyncSession, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    org = await live_org(db)
    other = await live_org(db, "Mallory")
    cid, _ = await start_conversation(runtime, org)
    me = await logged_in(client, other.staff_email)
    assert (await client.get(f"/admin/live/{cid}")).status_code == 404
    assert (await client.post(f"/admin/live/{cid}/takeover", headers=me.headers())).status_code == 404
    assert str(cid) not in (await client.get("/admin/live")).text
