"""In a real browser: staff rate Playground answers up or down (with a reason); playground ratings are not
counted as customers' accuracy."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.chat.feedback import FeedbackService
from answerdesk.chat.models import MessageFeedback
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.browser import chromium, log_in
from tests.chat.support import seed_demo_subset
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_member, make_org
from tests.live import serve

pytestmark = pytest.mark.browser
ANSWER_DEADLINE_MS = 60_000


async def test_staff_rate_a_playground_answer(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db, "Playground Hosting")
    await make_member(db, org, Role.staff, email="pg-feedback@example.com")
    await seed_demo_subset(runtime, org.id)
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
            await page.goto(f"{base}/admin/ai/playground")
            await log_in(page, "pg-feedback@example.com", PASSWORD)
            await page.wait_for_url(f"{base}/admin/ai/playground")
            await page.get_by_label("Your question").fill("How do I point my domain to your nameservers?")
            await page.get_by_role("button", name="Send").click()
            answer = page.locator('[data-testid="pg-bot"]')
            await expect(answer).to_have_count(1, timeout=ANSWER_DEADLINE_MS)

            await answer.get_by_role("button", name="Not helpful").click()
            await expect(page.locator("#pg-status")).to_have_text("Marked not helpful.")
            answer = page.locator('[data-testid="pg-bot"]')
            await expect(answer.get_by_role("button", name="Not helpful")).to_have_attribute(
                "aria-pressed", "true"
            )
            await answer.get_by_role("button", name="Not what I asked").click()
            await expect(
                page.locator('[data-testid="pg-bot"]').get_by_role("button", name="Not what I asked")
            ).to_have_attribute("aria-pressed", "true")
            await page.screenshot(path="/tmp/shots/feedback/playground-feedback.png", full_page=True)

            # Stored like a customer's, one row; the page shows it again after a reload.
            async with runtime.sessionmaker() as session:
                rows = (await session.scalars(sa.select(MessageFeedback))).all()
                assert [(r.helpful, r.reason) for r in rows] == [(False, "not_asked")]
                # Staff trying the bot out are not customers: the accuracy figure leaves them out.
                assert (await FeedbackService(session).counts(org.id)).rated == 0
            await page.reload()
            await expect(
                page.locator('[data-testid="pg-bot"]').get_by_role("button", name="Not helpful")
            ).to_have_attribute("aria-pressed", "true")
            await (
                page.locator('[data-testid="pg-bot"]')
                .get_by_role("button", name="Helpful", exact=True)
                .click()
            )
            await expect(page.locator("#pg-status")).to_have_text("Marked helpful.")
            async with runtime.sessionmaker() as session:
                rows = (await session.scalars(sa.select(MessageFeedback))).all()
                assert [(r.helpful, r.reason) for r in rows] == [(True, None)]
