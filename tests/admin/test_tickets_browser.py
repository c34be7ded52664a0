"""In a real browser: staff open a WHMCS-synced ticket from the queue, edit its draft, approve & send it
(with the keyboard), and see it sent; the loopback WHMCS receives exactly one AddTicketReply."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Dialog, expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from answerdesk.tickets.drafting import draft_reply
from answerdesk.tickets.sync import sync_whmcs
from tests.browser import chromium, log_in
from tests.chat.support import seed_demo_subset
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_member, make_org
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.whmcs_server import FakeWhmcs, FakeWhmcsServer
from tests.live import serve
from tests.tickets.conftest import fake, whmcs_server  # noqa: F401 - pytest fixtures
from tests.tickets.native import native_ticket
from tests.tickets.support import connect, drafts_of, ticket_by_external

pytestmark = pytest.mark.browser

EDITED = "Hello Ada,\nwe raised your mailbox quota to 5 GB; new mail arrives again."


async def test_staff_edit_and_approve_a_whmcs_draft_which_is_posted_once(
    database_url: str,
    tmp_path: Path,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,  # noqa: F811 - fixture
    whmcs_server: FakeWhmcsServer,  # noqa: F811 - fixture
) -> None:
    org = await make_org(db, "Browser Hosting")
    await make_member(db, org, Role.staff, email="tickets-browser@example.com")
    await connect(runtime, org.id, whmcs_server)
    customer = fake.add_client("Ada", "Lovelace")
    source = fake.add_ticket("Mailbox full?", "My e-mails bounce since this morning.", client=customer.id)
    await sync_whmcs(runtime, org.id)
    ticket = await ticket_by_external(runtime, org.id, source.id)
    drafted = await draft_reply(runtime, org.id, ticket.id)
    assert drafted is not None and drafted.status == "draft"
    fake.clear_requests()
    confirmations: list[str] = []

    async def confirm(dialog: Dialog) -> None:
        confirmations.append(dialog.message)
        await dialog.accept()

    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
            page.on("dialog", confirm)
            await page.goto(f"{base}/admin/tickets")
            await log_in(page, "tickets-browser@example.com", PASSWORD)
            await page.wait_for_url(f"{base}/admin/tickets")
            row = page.get_by_test_id("ticket-row").filter(has_text="Mailbox full?")
            await expect(row).to_contain_text("Draft ready")
            await expect(row).to_contain_text("WHMCS")

            await page.screenshot(path="/tmp/shot-tickets-queue.png", full_page=True)
            await page.keyboard.press("?")
            await expect(page.get_by_test_id("shortcut-help")).to_be_visible()
            await page.keyboard.press("Escape")
            await expect(page.get_by_test_id("shortcut-help")).to_be_hidden()
            await page.keyboard.press("j")  # select the first (only) ticket, Enter opens it
            await expect(row).to_have_class("tk-selected")
            await page.keyboard.press("Enter")
            await page.wait_for_url(f"{base}/admin/tickets/{ticket.id}")
            await expect(page.get_by_test_id("ticket-subject")).to_have_text("Mailbox full?")
            await expect(page.get_by_test_id("draft-status")).to_have_text("Draft ready")
            await expect(page.get_by_test_id("ticket-message")).to_contain_text(
                "My e-mails bounce since this morning."
            )

            await page.screenshot(path="/tmp/shot-ticket-draft.png", full_page=True)
            await page.keyboard.press("e")
            editor = page.get_by_label("Reply text")
            await expect(editor).to_be_focused()
            await page.keyboard.press("a")  # typing: a letter in the editor, not "approve"
            assert confirmations == [] and fake.calls("AddTicketReply") == []
            await editor.fill(EDITED)
            await page.keyboard.press("Escape")  # leave the editor; shortcuts work again
            await page.keyboard.press("a")
            await expect(page.locator(".flash")).to_have_text("Reply approved and sent.")
            assert confirmations == ["Send this reply to the customer?"]
            entry = page.get_by_test_id("history-entry").first
            await expect(entry).to_contain_text("Sent")
            await expect(entry).to_contain_text("edited")
            await expect(entry).to_contain_text("as WHMCS admin botadmin")
            await expect(page.get_by_test_id("ticket-status")).to_have_text("Answered")
            await page.screenshot(path="/tmp/shot-ticket-sent.png", full_page=True)

    (post,) = fake.calls("AddTicketReply")
    assert post.params["message"] == EDITED and post.params["adminusername"] == "botadmin"
    assert "clientid" not in post.params
    (sent,) = await drafts_of(runtime, ticket.id)
    assert sent.status == "sent" and sent.final_text == EDITED and sent.text == drafted.text


async def test_a_redraft_is_written_in_the_background_and_appears_by_itself(
    database_url: str,
    tmp_path: Path,
    db: AsyncSession,
    runtime: Runtime,
    fake_openai: FakeOpenAIServer,
) -> None:
    org = await make_org(db, "Redraft Hosting")
    await make_member(db, org, Role.staff, email="redraft-browser@example.com")
    await seed_demo_subset(runtime, org.id)
    ticket = await native_ticket(
        runtime,
        org.id,
        "Since yesterday my cPanel login page keeps timing out from the office. Which port does it use?",
        subject="cPanel login",
    )
    fake_openai.reply = "Log in at https://example.com:2083 with your cPanel user [1]."
    fake_openai.ttft = 2.5  # slow enough to see the notice, and the page keep working meanwhile
    confirmations: list[str] = []

    async def confirm(dialog: Dialog) -> None:
        confirmations.append(dialog.message)
        await dialog.accept()

    settings = make_settings(
        database_url,
        tmp_path / "live",
        llm_base_url=fake_openai.base_url,
        llm_api_key="test-key",
        llm_model="fake/ok",
        llm_fallback_model=None,
    )
    with serve(create_app(settings)) as base:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
            page.on("dialog", confirm)
            await page.goto(f"{base}/admin/tickets/{ticket.id}")
            await log_in(page, "redraft-browser@example.com", PASSWORD)
            await page.wait_for_url(f"{base}/admin/tickets/{ticket.id}")
            await page.get_by_label("Draft a reply (optional instruction)").fill("shorter")
            await page.get_by_test_id("regenerate").click()
            notice = page.get_by_test_id("drafting")
            await expect(notice).to_contain_text("Writing a new draft (“shorter”)…")
            await page.screenshot(path="/tmp/shot-ticket-drafting.png", full_page=True)
            # No reload by hand: the notice polls and the page shows the draft once it is written.
            await expect(page.get_by_test_id("draft-status")).to_have_text("Draft ready", timeout=20_000)
            await expect(notice).to_be_hidden()
            await expect(page.get_by_test_id("draft")).to_contain_text("asked for: “shorter”")
            editor = page.get_by_label("Reply text")
            await expect(editor).to_have_value(
                "Log in at https://example.com:2083 with your cPanel user [1]."
            )

            await editor.fill("Log in at :2083 with your cPanel user.")
            await page.get_by_test_id("save-edit").click()
            await expect(page.locator(".flash")).to_contain_text("Edit saved; nothing was sent.")
            await expect(editor).to_have_value("Log in at :2083 with your cPanel user.")
            assert confirmations == []  # saving is not sending: no "Send this reply?" question

    assert len(fake_openai.requests) == 1  # the model wrote it (the slow path), not the FAQ shortcut
    (draft,) = await drafts_of(runtime, ticket.id)
    assert draft.status == "draft" and draft.instruction == "shorter"
    assert draft.final_text == "Log in at :2083 with your cPanel user."
