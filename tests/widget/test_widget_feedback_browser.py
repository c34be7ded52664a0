"""In real Chromium: thumbs up / down under the widget's answers, a reason on "down", kept across a reload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.chat.models import MessageFeedback
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.browser import chromium
from tests.chat.support import seed_demo_subset
from tests.conftest import make_settings
from tests.factories import make_key, make_org
from tests.live import free_port, serve
from tests.widget.test_widget_browser import ANSWER_DEADLINE_MS, FAQ_QUESTION, host_site, open_widget

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/feedback")


async def _feedback(runtime: Runtime) -> list[MessageFeedback]:
    async with runtime.sessionmaker() as session:
        return list((await session.scalars(sa.select(MessageFeedback))).all())


async def test_visitor_rates_an_answer_down_with_a_reason_then_up(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db, "Widget Hosting")
    await seed_demo_subset(runtime, org.id)
    host_port = free_port()
    key = await make_key(db, org, ApiKeyKind.public, origins=[f"http://127.0.0.1:{host_port}"])
    app = create_app(make_settings(database_url, tmp_path / "live"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(app) as base, serve(host_site(base, key), host_port) as host:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1000, "height": 820})).new_page()
            await page.goto(f"{host}/")
            await open_widget(page)
            box = page.get_by_role("textbox", name="Your message")
            await box.fill(FAQ_QUESTION)
            await box.press("Enter")
            answer = page.locator("answerdesk-chat .msg.bot[data-seq]")
            await expect(answer).to_have_count(1, timeout=ANSWER_DEADLINE_MS)

            await expect(answer.get_by_text("Was this helpful?")).to_be_visible()
            down = answer.get_by_role("button", name="Not helpful")
            await down.click()
            reasons = answer.get_by_role("group", name="What was wrong?")
            await expect(reasons).to_be_visible()
            await reasons.get_by_role("button", name="Outdated").click()
            await expect(answer.get_by_role("status")).to_have_text("Thank you for your feedback!")
            await expect(down).to_have_attribute("aria-pressed", "true")
            await page.screenshot(path=str(SHOTS / "widget-feedback-down.png"))
            rows = await _feedback(runtime)
            assert [(r.helpful, r.reason) for r in rows] == [(False, "outdated")]

            # After a reload the visitor sees what they chose, and may change their mind: still one row.
            await page.reload()  # the panel was open: it opens again with the same conversation
            await expect(page.get_by_role("dialog")).to_be_visible()
            answer = page.locator("answerdesk-chat .msg.bot[data-seq]")
            await expect(answer.get_by_role("button", name="Not helpful")).to_have_attribute(
                "aria-pressed", "true"
            )
            await expect(answer.get_by_role("button", name="Outdated")).to_have_attribute(
                "aria-pressed", "true"
            )
            await answer.get_by_role("button", name=re.compile("^Helpful$")).click()
            await expect(answer.get_by_role("status")).to_have_text("Thank you for your feedback!")
            await expect(answer.get_by_role("group", name="What was wrong?")).to_be_hidden()
            rows = await _feedback(runtime)
            assert [(r.helpful, r.reason) for r in rows] == [(True, None)]
            await page.screenshot(path=str(SHOTS / "widget-feedback-up.png"))


async def test_feedback_texts_follow_the_widget_language(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db, "Widget Hosting")
    host_port = free_port()
    key = await make_key(db, org, ApiKeyKind.public, origins=[f"http://127.0.0.1:{host_port}"])
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base, serve(host_site(base, key), host_port) as host:
        async with chromium() as browser:
            context = await browser.new_context(viewport={"width": 1000, "height": 820}, locale="de-DE")
            page = await context.new_page()
            await page.goto(f"{host}/")
            await page.get_by_role("button", name=re.compile("^Chat öffnen")).click()
            box = page.get_by_role("textbox", name="Ihre Nachricht")
            await box.fill("Verkaufen Sie Boote?")
            await box.press("Enter")
            answer = page.locator("answerdesk-chat .msg.bot[data-seq]")
            await expect(answer).to_have_count(1, timeout=ANSWER_DEADLINE_MS)
            await expect(answer.get_by_text("War das hilfreich?")).to_be_visible()
            await answer.get_by_role("button", name="Nicht hilfreich").click()
            await expect(answer.get_by_role("button", name="Nicht meine Frage")).to_be_visible()
            await page.screenshot(path=str(SHOTS / "widget-feedback-de.png"))
