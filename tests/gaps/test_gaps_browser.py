"""In a real browser: the Knowledge gaps page, an FAQ written from a group (staff reply and model drafts),
the group then answered; and a transcript showing answer feedback. Screenshots go to /tmp/shots/feedback."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.chat.live import LiveChatService
from answerdesk.kit.db import session_scope
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from tests.browser import chromium, log_in
from tests.chat.support import API, Chat, make_chat
from tests.conftest import LLM_MODEL, make_settings
from tests.factories import PASSWORD, make_member
from tests.fakes.openai_server import FakeOpenAIServer
from tests.gaps.support import PAYPAL, WINDOWS, ask
from tests.live import serve

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/feedback")
STUDENTS = ["Is there a student discount?", "Any discounts for students?"]


async def _staff_reply(runtime: Runtime, chat: Chat, cid: str, user_id: uuid.UUID, text: str) -> None:
    service = LiveChatService(runtime)
    async with session_scope(runtime.sessionmaker) as session:
        staff = await service.staff(session, chat.organization_id, user_id)
        await service.reply(session, chat.organization_id, uuid.UUID(cid), staff, text)


async def _log_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/admin/gaps")
    await log_in(page, email, PASSWORD)
    await page.wait_for_url(f"{base}/admin/gaps")


async def test_gaps_page_faq_from_a_group_and_feedback_in_the_transcript(
    database_url: str,
    tmp_path: Path,
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake_openai: FakeOpenAIServer,
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    org = await OrganizationService(db).get(chat.organization_id)
    admin = await make_member(db, org, Role.admin, email="gaps-admin@example.com")
    for question in WINDOWS:
        await ask(chat, question)
    paypal_cid, _ = await ask(chat, PAYPAL[0], name="Jane Roe", email="jane@roe-family.net")
    await ask(chat, PAYPAL[1])
    for question in STUDENTS:
        await ask(chat, question)
    rated_cid, rated = await ask(chat, "Do you sell boats?")
    await client.post(
        f"{API}/{rated_cid}/feedback",
        headers=chat.headers,
        json={
            "message_id": rated["message"]["id"],
            "helpful": False,
            "reason": "not_asked",
            "comment": "Odd",
        },
    )
    await _staff_reply(
        runtime, chat, paypal_cid, admin.user_id,
        "Hi Jane, yes: we accept PayPal at checkout for every order, including renewals. Regards, Tom",
    )  # fmt: skip
    fake_openai.reply = (
        "Yes: students get [discount, e.g. 20 %] off shared hosting for [how long]. "
        "Send us proof of enrolment from your [school e-mail address] and we apply it to your next invoice."
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    settings = make_settings(
        database_url,
        tmp_path / "live",
        llm_base_url=fake_openai.base_url,
        llm_api_key="k",
        llm_model=LLM_MODEL,
    )
    with serve(create_app(settings)) as base:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1280, "height": 1000})).new_page()
            await _log_in(page, base, "gaps-admin@example.com")
            groups = page.get_by_test_id("gap-group")
            await expect(groups).to_have_count(4)
            await expect(groups.first.locator(".gap-count")).to_contain_text("3")
            await groups.nth(0).locator("details summary").click()
            await page.screenshot(path=str(SHOTS / "gaps-page.png"), full_page=True)

            paypal = groups.filter(has_text=re.compile("paypal", re.I))
            await paypal.get_by_role("button", name="Write FAQ entry").click()
            await expect(page.get_by_test_id("draft-note")).to_contain_text("staff reply")
            answer = page.get_by_label("Answer")
            await expect(answer).to_have_value(re.compile("we accept PayPal at checkout"))
            assert "Jane" not in await answer.input_value()
            await page.screenshot(path=str(SHOTS / "gaps-faq-from-staff-reply.png"), full_page=True)
            await page.get_by_role("button", name="Save FAQ entry").click()
            await expect(page.get_by_text("group marked answered")).to_be_visible()

            students = page.get_by_test_id("gap-group").filter(has_text=re.compile("student", re.I))
            await students.get_by_role("button", name="Write FAQ entry").click()
            await expect(page.get_by_test_id("draft-note")).to_contain_text("Draft to check.")
            await expect(page.get_by_label("Answer")).to_have_value(re.compile(r"\[discount"))
            await page.screenshot(path=str(SHOTS / "gaps-faq-llm-draft.png"), full_page=True)
            await page.get_by_role("button", name="Cancel").click()

            await expect(page.locator('[data-testid="gap-group"][data-status="answered"]')).to_have_count(1)
            await page.screenshot(path=str(SHOTS / "gaps-page-answered.png"), full_page=True)

            await page.goto(f"{base}/admin/chats/{rated_cid}")
            await expect(page.get_by_test_id("answer-feedback")).to_contain_text("Customer: not helpful")
            await page.screenshot(path=str(SHOTS / "transcript-feedback.png"), full_page=True)
