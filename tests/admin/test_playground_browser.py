"""In a real browser: the Playground streams a cited FAQ answer, then a refusal, and shows the scores."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.browser import chromium, log_in
from tests.chat.support import seed_demo_subset
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_member, make_org
from tests.live import serve

pytestmark = pytest.mark.browser

FAQ_QUESTION = "How do I point my domain to your nameservers?"
ANSWER_DEADLINE_MS = 60_000  # the first answer loads the embedding and sentiment models


async def test_playground_answers_cites_refuses_and_explains(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db, "Playground Hosting")
    await make_member(db, org, Role.staff, email="pg-browser@example.com")
    await seed_demo_subset(runtime, org.id)
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base:
        async with chromium() as browser:
            session = await browser.new_context(viewport={"width": 1366, "height": 900})
            page = await session.new_page()
            await page.goto(f"{base}/admin/ai/playground")
            await log_in(page, "pg-browser@example.com", PASSWORD)
            await page.wait_for_url(f"{base}/admin/ai/playground")
            await expect(page.get_by_test_id("answer-mode")).to_contain_text("Extractive mode")

            await page.evaluate("window.pgSamePage = true")  # a full page load would drop it
            await page.get_by_label("Your question").fill(FAQ_QUESTION)
            await page.get_by_role("button", name="Send").click()
            faq = page.locator('[data-testid="pg-bot"][data-mode="faq"]')
            await expect(faq).to_have_count(1, timeout=ANSWER_DEADLINE_MS)
            await expect(faq.locator(".pg-mode")).to_have_text("FAQ")
            cite = faq.locator("a.pg-cite").first
            await expect(cite).to_be_visible()
            await expect(faq.locator(".pg-sources li")).to_contain_text("faq.json")
            await cite.click()  # jumps to its source and opens the details panel
            await expect(faq.locator(".pg-details")).to_have_attribute("open", "")
            await expect(faq.locator(".pg-details")).to_contain_text(
                "How do I point my domain to your nameservers?"
            )
            await expect(faq.locator(".pg-passages tbody tr").first).to_be_visible()
            assert "?c=" in page.url

            await page.get_by_label("Your question").fill("What is the capital of France?")
            await page.keyboard.press("Enter")
            refusal = page.locator('[data-testid="pg-bot"][data-mode="no_answer"]')
            await expect(refusal).to_have_count(1, timeout=ANSWER_DEADLINE_MS)
            await expect(refusal).to_contain_text("connect you with a member of our team")
            await expect(refusal.locator(".pg-human")).to_have_text("Offers a human")
            await expect(refusal.locator("a.pg-cite")).to_have_count(0)
            await refusal.locator(".pg-details summary").click()
            scores = refusal.locator(".pg-passages tbody tr")
            await expect(scores.first).to_be_visible()
            cosines = [c for c in await refusal.locator(".pg-passages td.num:nth-child(4)").all_inner_texts()]
            # Nothing is close in meaning, and the relevance gate says why it refused.
            assert cosines and all(c == "—" or float(c) < 0.47 for c in cosines), cosines
            gate = refusal.locator(".pg-facts div", has_text="Relevance gate").locator("dd")
            await expect(gate).to_contain_text("best sentence")
            assert float((await gate.inner_text()).split()[0]) < 0.4  # the probability, under the default cut
            await expect(page.locator("#pg-status")).to_have_text("Answer ready.")
            assert await page.evaluate("window.pgSamePage") is True
            await page.screenshot(path="/tmp/shot-playground.png", full_page=True)

            phone = await session.new_page()  # the same conversation, phone-sized
            await phone.set_viewport_size({"width": 390, "height": 844})
            await phone.goto(page.url)
            await expect(phone.get_by_test_id("pg-bot")).to_have_count(2)
            width = await phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
            await phone.screenshot(path="/tmp/shot-playground-phone.png", full_page=True)

            await page.get_by_test_id("pg-new").click()
            await page.wait_for_url(f"{base}/admin/ai/playground")
            await expect(page.get_by_test_id("pg-bot")).to_have_count(0)
