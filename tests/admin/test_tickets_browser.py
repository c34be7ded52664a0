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
from tests.browser import chromium
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_member, make_org
from tests.fakes.whmcs_server import FakeWhmcs, FakeWhmcsServer
from tests.live import serve
from tests.tickets.conftest import fake, whmcs_server  # noqa: F401 - pytest fixtures
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
            await page.get_by_label("E-mail").fill("tickets-browser@example.com")
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Log in").click()
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
