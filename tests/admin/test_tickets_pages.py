"""Tickets page over HTTP: the queue (order, filters, search, stats, paging), one ticket and its actions."""

from __future__ import annotations

import uuid

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from answerdesk.tickets.connections import ConnectionService
from answerdesk.tickets.models import Draft, TicketMessage
from answerdesk.tickets.schemas import WhmcsConnectionUpdate
from answerdesk.tickets.sync import sync_whmcs
from tests.admin.tickets_support import (
    PAGE,
    add_ticket,
    follow,
    member_of,
    queue_subjects,
    text_of,
)
from tests.factories import make_org
from tests.fakes.whmcs_server import FakeWhmcs, FakeWhmcsServer
from tests.live import free_port
from tests.tickets.conftest import fake, whmcs_server  # noqa: F401 - pytest fixtures
from tests.tickets.support import connect, drafts_of, messages_of, ticket_by_external

DRAFT = "Hello Ada,\n\nYour mailbox is full [1]. Delete old mail or raise the quota in cPanel."


async def test_queue_is_most_urgent_first_with_stats(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, _, _ = await member_of(client, db, role=Role.staff)  # staff work the queue too
    empty = await client.get(PAGE)
    assert empty.status_code == 200 and "No tickets are waiting for a reply" in empty.text
    await add_ticket(runtime, org.id, "Low, waiting long", hours=50, priority="low")
    await add_ticket(runtime, org.id, "Calm question", hours=5, draft=DRAFT)
    await add_ticket(runtime, org.id, "Frustrated customer", hours=1, frustrated=True)
    await add_ticket(runtime, org.id, "Site down", hours=0.1, priority="urgent")
    await add_ticket(runtime, org.id, "Already answered", hours=80, awaiting_reply=False, status="resolved")
    page = await client.get(PAGE)
    assert queue_subjects(page.text) == [
        "Site down",
        "Frustrated customer",
        "Calm question",
        "Low, waiting long",
    ]
    words = text_of(page.text)
    assert "1\u20134 of 4 tickets" in words and "Draft ready" in words and "5 h ago" in words
    assert "5 tickets" in words and "4 Open" in words and "1 Resolved" in words
    assert "0 approved unchanged · 0 edited · 0 rejected" in words
    everything = await client.get(PAGE, params={"view": "all"})
    assert queue_subjects(everything.text)[-1] == "Already answered"


async def test_filters_search_and_paging(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, _, me = await member_of(client, db)
    await add_ticket(
        runtime, org.id, "SSL expired", source="whmcs", tid="777001", category="ssl", department="Tech"
    )
    await add_ticket(
        runtime, org.id, "Invoice copy", category="billing", client_name="Bo Byron", assigned_user_id=me
    )
    await add_ticket(runtime, org.id, "Outage", priority="urgent", status="in_progress")
    other = await make_org(db, "Other Co")
    await add_ticket(runtime, other.id, "Invoice of someone else", category="billing")

    async def shown(**params: str) -> list[str]:
        page = await client.get(PAGE, params=params)
        assert page.status_code == 200
        return sorted(queue_subjects(page.text))

    assert await shown() == ["Invoice copy", "Outage", "SSL expired"]
    assert await shown(category="billing") == ["Invoice copy"]
    assert await shown(source="whmcs", department="Tech") == ["SSL expired"]
    assert await shown(priority="urgent") == ["Outage"]
    assert await shown(status="in_progress") == ["Outage"]
    assert await shown(assignee=str(me)) == ["Invoice copy"]
    assert await shown(q="byron") == ["Invoice copy"]
    assert await shown(q="777001") == ["SSL expired"]
    ignored = await client.get(PAGE, params={"priority": "extreme", "source": "email"})
    assert sorted(queue_subjects(ignored.text)) == ["Invoice copy", "Outage", "SSL expired"]
    assert ignored.text.count('data-testid="filter-notice"') == 2
    for n in range(30):
        await add_ticket(runtime, org.id, f"Bulk {n:02d}", hours=100 + n, priority="low")
    first = await client.get(PAGE, params={"priority": "low"})
    assert len(queue_subjects(first.text)) == 25 and "Page 1 of 2" in first.text
    assert 'href="/admin/tickets?priority=low&amp;page=2"' in first.text
    second = await client.get(PAGE, params={"priority": "low", "page": "2"})
    assert queue_subjects(second.text) == [f"Bulk {n:02d}" for n in range(4, -1, -1)]


async def test_staff_cannot_open_the_whmcs_page(
    client: httpx.AsyncClient, new_client: object, db: AsyncSession
) -> None:
    org, _, _ = await member_of(client, db, role=Role.staff)
    assert "/admin/whmcs" not in (await client.get(PAGE)).text
    assert (await client.get("/admin/whmcs")).status_code == 403
    admin = new_client()  # type: ignore[operator]
    await member_of(admin, db, org)
    assert 'href="/admin/whmcs"' in (await admin.get(PAGE)).text


async def test_another_organizations_ticket_is_404(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    _, me, _ = await member_of(client, db)
    other = await make_org(db, "Other Co")
    theirs = await add_ticket(runtime, other.id, "Their ticket", draft=DRAFT)
    assert (await client.get(f"{PAGE}/{theirs}")).status_code == 404
    assert (await client.get(f"{PAGE}/not-a-uuid")).status_code == 404
    for action, form in (
        ("approve", {"text": "hi"}),
        ("regenerate", {"instruction": "shorter"}),
        ("reject", {}),
        ("reply", {"text": "hi"}),
        ("reply", {"text": "hi", "note": "1"}),
        ("update", {"priority": "high"}),
    ):
        response = await client.post(f"{PAGE}/{theirs}/{action}", data={"csrf_token": me.csrf, **form})
        assert response.status_code == 404, (action, response.text)
    (draft,) = await drafts_of(runtime, theirs)
    assert draft.status == "draft" and draft.final_text is None
    assert [m.author for m in await messages_of(runtime, theirs)] == ["customer"]


async def test_ticket_view_shows_thread_context_and_draft_escaped(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, _, _ = await member_of(client, db)
    ticket_id = await add_ticket(
        runtime,
        org.id,
        "<img src=x onerror=alert(1)>",
        "Help <script>alert('x')</script> my mail bounces",
        draft="Try this: <b>bold</b> [1]",
        client_context={"active_products": 2, "overdue_invoices": 1},
    )
    page = await client.get(f"{PAGE}/{ticket_id}")
    assert page.status_code == 200
    assert (
        "<script>alert" not in page.text and "<img src=x" not in page.text and "<b>bold</b>" not in page.text
    )
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    words = text_of(page.text)
    assert "Help <script>alert('x')</script> my mail bounces" in words
    assert "Active products 2" in words and "Overdue invoices 1" in words
    assert "confidence 72%" in words and "E-mail troubleshooting \u203a Mailbox full" in words
    assert "Try this: <b>bold</b> [1]" in words  # in the editor, as text
    queue = await client.get(PAGE)
    assert "&lt;img src=x onerror=alert(1)&gt;" in queue.text


async def test_approve_an_edited_native_draft(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, me, _ = await member_of(client, db)
    ticket_id = await add_ticket(runtime, org.id, "Mail bounces", draft=DRAFT)
    (draft,) = await drafts_of(runtime, ticket_id)
    edited = "Hello Ada,\r\n\r\nWe raised your mailbox quota; mail flows again."
    form = {"draft_id": str(draft.id), "text": edited, "status": "resolved"}
    refused = await client.post(f"{PAGE}/{ticket_id}/approve", data=form)
    assert refused.status_code == 403 and "form expired" in refused.text
    page = await follow(
        client, await client.post(f"{PAGE}/{ticket_id}/approve", data={**form, "csrf_token": me.csrf})
    )
    words = text_of(page.text)
    assert "Reply approved and sent." in words
    (sent,) = await drafts_of(runtime, ticket_id)
    assert sent.status == "sent" and sent.text == DRAFT
    assert sent.final_text == "Hello Ada,\n\nWe raised your mailbox quota; mail flows again."
    assert "Resolved" in words and "Sent edited by" in words and "Original draft" in words
    assert [m.author for m in await messages_of(runtime, ticket_id)] == ["customer", "staff"]
    stats = text_of((await client.get(PAGE, params={"view": "all"})).text)
    assert "0 approved unchanged · 1 edited · 0 rejected" in stats
    again = await client.post(
        f"{PAGE}/{ticket_id}/approve", data={**form, "csrf_token": me.csrf, "text": "twice"}
    )
    assert again.status_code == 409 and "it can no longer be approved" in text_of(again.text)
    assert len(await messages_of(runtime, ticket_id)) == 2


async def test_regenerate_with_an_instruction_then_reject(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, me, _ = await member_of(client, db)
    ticket_id = await add_ticket(runtime, org.id, "cPanel login", "How do I log in to cPanel?", draft=DRAFT)
    page = await follow(
        client,
        await client.post(
            f"{PAGE}/{ticket_id}/regenerate", data={"csrf_token": me.csrf, "instruction": "more formal"}
        ),
    )
    assert "Writing a new draft (more formal)…" in text_of(page.text)
    await runtime.jobs.drain(timeout=120)  # type: ignore[attr-defined] - the in-process queue
    old, new = await drafts_of(runtime, ticket_id)
    assert (old.status, new.status, new.instruction) == ("superseded", "draft", "more formal")
    page = await client.get(f"{PAGE}/{ticket_id}")
    assert "asked for: “more formal”" in text_of(page.text) and 'data-testid="drafting"' not in page.text
    done = await client.get(f"{PAGE}/{ticket_id}/drafting")  # what the page's poll sees once it is there
    assert done.headers.get("HX-Refresh") == "true"
    page = await follow(
        client,
        await client.post(
            f"{PAGE}/{ticket_id}/reject",
            data={"csrf_token": me.csrf, "draft_id": str(new.id), "reason": "wrong product"},
        ),
    )
    words = text_of(page.text)
    assert "Draft rejected." in words and "reason: wrong product" in words
    assert "No draft is waiting for review." in words
    assert "0 approved unchanged · 0 edited · 1 rejected" in text_of((await client.get(PAGE)).text)


async def test_note_manual_reply_and_assignment(
    client: httpx.AsyncClient, new_client: object, db: AsyncSession, runtime: Runtime
) -> None:
    org, me, _ = await member_of(client, db)
    colleague = new_client()  # type: ignore[operator]
    _, _, colleague_id = await member_of(colleague, db, org, Role.staff)
    ticket_id = await add_ticket(runtime, org.id, "Question")
    empty = await client.post(f"{PAGE}/{ticket_id}/reply", data={"csrf_token": me.csrf, "text": "  "})
    assert empty.status_code == 422 and "the text is empty" in empty.text
    page = await follow(
        client,
        await client.post(
            f"{PAGE}/{ticket_id}/reply",
            data={"csrf_token": me.csrf, "text": "Customer is on the old plan <b>", "note": "1"},
        ),
    )
    assert "Internal note added" in text_of(page.text)
    assert 'data-author="note"' in page.text and "old plan &lt;b&gt;" in page.text
    page = await follow(
        client,
        await client.post(
            f"{PAGE}/{ticket_id}/reply", data={"csrf_token": me.csrf, "text": "Here is how.", "status": ""}
        ),
    )
    assert "Reply sent." in text_of(page.text)
    assert [m.author for m in await messages_of(runtime, ticket_id)] == ["customer", "note", "staff"]
    page = await follow(
        client,
        await client.post(
            f"{PAGE}/{ticket_id}/update",
            data={"csrf_token": me.csrf, "assigned_user_id": str(colleague_id), "priority": "high"},
        ),
    )
    assert "Ticket updated." in text_of(page.text)
    listed = await client.get(PAGE, params={"view": "all", "assignee": str(colleague_id), "priority": "high"})
    assert queue_subjects(listed.text) == ["Question"]
    stranger = await client.post(
        f"{PAGE}/{ticket_id}/update", data={"csrf_token": me.csrf, "assigned_user_id": str(uuid.uuid4())}
    )
    assert "Not saved" in text_of((await follow(client, stranger)).text)
    kept = await follow(
        client,
        await client.post(f"{PAGE}/{ticket_id}/update", data={"csrf_token": me.csrf, "priority": "low"}),
    )
    assert "assigned to" in text_of(kept.text) and "Nobody (un-assign)" in text_of(kept.text)
    cleared = await follow(
        client,
        await client.post(
            f"{PAGE}/{ticket_id}/update", data={"csrf_token": me.csrf, "assigned_user_id": "none"}
        ),
    )
    assert "Ticket updated." in text_of(cleared.text) and "assigned to" not in text_of(cleared.text)
    assert (
        queue_subjects((await client.get(PAGE, params={"view": "all", "assignee": str(colleague_id)})).text)
        == []
    )


async def test_whmcs_unreachable_keeps_the_text_and_retry_posts_once(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,  # noqa: F811 - fixture
    whmcs_server: FakeWhmcsServer,  # noqa: F811 - fixture
) -> None:
    org, me, _ = await member_of(client, db)
    await connect(runtime, org.id, whmcs_server)
    source = fake.add_ticket("Mail bounces", "My mails bounce: mailbox full?", client=fake.add_client().id)
    await sync_whmcs(runtime, org.id)
    ticket = await ticket_by_external(runtime, org.id, source.id)
    async with session_scope(runtime.sessionmaker) as session:
        session.add(
            Draft(organization_id=org.id, ticket_id=ticket.id, text=DRAFT, mode="extractive", confidence=0.5)
        )
    async with session_scope(runtime.sessionmaker) as session:  # WHMCS goes away
        dead = WhmcsConnectionUpdate(url=f"http://127.0.0.1:{free_port()}")
        await ConnectionService(session, runtime).save(org.id, dead)
    mine = "Hello, we raised your quota. Mail flows again."
    page = await follow(
        client, await client.post(f"{PAGE}/{ticket.id}/approve", data={"csrf_token": me.csrf, "text": mine})
    )
    words = text_of(page.text)
    assert "Not sent:" in words and "Your text is kept" in words
    assert mine in words and 'data-testid="draft-error"' in page.text
    assert fake.calls("AddTicketReply") == []
    await connect(runtime, org.id, whmcs_server)  # back again
    page = await follow(
        client, await client.post(f"{PAGE}/{ticket.id}/approve", data={"csrf_token": me.csrf, "text": mine})
    )
    assert "Reply approved and sent." in text_of(page.text)
    (post,) = fake.calls("AddTicketReply")
    assert post.params["message"] == mine and post.params["adminusername"] == "botadmin"
    async with runtime.sessionmaker() as session:
        notes = await session.scalars(sa.select(TicketMessage).where(TicketMessage.ticket_id == ticket.id))
        assert [m.author for m in notes.all()][-1] == "staff"


async def test_save_an_edit_without_sending_then_approve_it(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, me, _ = await member_of(client, db)
    ticket_id = await add_ticket(runtime, org.id, "Mail bounces", draft=DRAFT)
    (draft,) = await drafts_of(runtime, ticket_id)
    mine = "Hello Ada,\r\n\r\nWe raised your quota."
    save = f"{PAGE}/{ticket_id}/drafts/{draft.id}/save"
    page = await follow(client, await client.post(save, data={"csrf_token": me.csrf, "text": mine}))
    words = text_of(page.text)
    assert "Edit saved; nothing was sent." in words and "Showing the saved edit" in words
    assert "Hello Ada,\n\nWe raised your quota.</textarea>" in page.text  # back in the editor
    (kept,) = await drafts_of(runtime, ticket_id)
    assert (kept.status, kept.text, kept.final_text) == (
        "draft",
        DRAFT,
        "Hello Ada,\n\nWe raised your quota.",
    )
    assert [m.author for m in await messages_of(runtime, ticket_id)] == ["customer"]
    empty = await client.post(save, data={"csrf_token": me.csrf, "text": "  "})
    assert empty.status_code == 422 and "The reply is empty." in text_of(empty.text)
    assert (await drafts_of(runtime, ticket_id))[0].final_text == "Hello Ada,\n\nWe raised your quota."
    assert (await client.post(save, data={"text": "x"})).status_code == 403  # CSRF
    other = await make_org(db, "Other Co")
    theirs = await add_ticket(runtime, other.id, "Theirs", draft=DRAFT)
    (their_draft,) = await drafts_of(runtime, theirs)
    hijack = await client.post(
        f"{PAGE}/{theirs}/drafts/{their_draft.id}/save", data={"csrf_token": me.csrf, "text": "x"}
    )
    assert hijack.status_code == 404
    crossed = await client.post(
        f"{PAGE}/{ticket_id}/drafts/{their_draft.id}/save", data={"csrf_token": me.csrf, "text": "x"}
    )
    assert crossed.status_code == 404 and (await drafts_of(runtime, theirs))[0].final_text is None


async def test_record_a_customer_reply_on_a_native_ticket(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, me, _ = await member_of(client, db)
    ticket_id = await add_ticket(
        runtime, org.id, "Answered", awaiting_reply=False, status="waiting_for_customer", draft=DRAFT
    )
    page = await follow(
        client,
        await client.post(
            f"{PAGE}/{ticket_id}/reply",
            data={"csrf_token": me.csrf, "text": "They called: it works now, thanks!", "as_customer": "1"},
        ),
    )
    assert "Customer's reply recorded" in text_of(page.text)
    messages = await messages_of(runtime, ticket_id)
    assert [m.author for m in messages] == ["customer", "customer"]
    assert messages[-1].content == "They called: it works now, thanks!"
    assert "Open" in text_of(page.text)
    await runtime.jobs.drain(timeout=120)  # type: ignore[attr-defined] - the in-process queue
    old, new = await drafts_of(runtime, ticket_id)
    assert old.status == "superseded" and new.status == "draft" and new.answers_message_id == messages[-1].id
