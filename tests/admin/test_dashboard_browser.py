"""The dashboard in a real browser: charts drawn from seeded history, figures that open their lists, and the
empty organization's explanation. Screenshots go to /tmp/shots/analytics/."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.analytics.service import AnalyticsService, last_days_period
from answerdesk.auth.models import Role
from answerdesk.demo.history import seed_demo_history
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.browser import chromium, log_in
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_member, make_org
from tests.live import serve

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/analytics")


async def test_dashboard_with_history_and_empty(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    org = await make_org(db, "Northwind Hosting")
    await make_member(db, org, Role.staff, email="dash-staff@example.com")  # staff see the dashboard too
    await seed_demo_history(runtime, org.id)
    empty = await make_org(db, "Brand New Co")
    await make_member(db, empty, Role.admin, email="dash-new@example.com")
    summary = await AnalyticsService(db).summary(org, last_days_period(org, 30, datetime.now(UTC)))

    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{base}/login")
            await log_in(page, "dash-staff@example.com", PASSWORD)
            await page.wait_for_url(f"{base}/admin")
            await page.wait_for_selector("body[data-charts-ready='1']")
            fig = page.get_by_test_id("fig-conversations")
            assert str(summary.conversations) in await fig.inner_text()
            for chart in ("days", "modes", "csat", "sentiment", "drafts"):
                box = await page.locator(f"#chart-{chart}").bounding_box()
                assert box and box["width"] > 100 and box["height"] > 50, chart
            await page.screenshot(path=str(SHOTS / "dashboard-30-days.png"), full_page=True)

            # A figure opens the conversations behind it.
            await page.get_by_test_id("fig-resolution").click()
            await page.wait_for_url(re.compile(r".*/admin/chats\?.*outcome=resolved.*"))
            count = await page.get_by_test_id("chat-count").inner_text()
            assert count.endswith(f"of {summary.resolved_automatically} conversations"), count
            assert (
                "resolved automatically" in await page.get_by_test_id("chat-filter-description").inner_text()
            )
            await page.screenshot(path=str(SHOTS / "chats-from-dashboard.png"), full_page=True)

            # A bar of the daily chart opens that day's conversations.
            await page.goto(f"{base}/admin?range=7")
            await page.wait_for_selector("body[data-charts-ready='1']")
            canvas = page.locator("#chart-days")
            box = await canvas.bounding_box()
            assert box
            await canvas.click(position={"x": box["width"] - 40, "y": box["height"] - 30})
            await page.wait_for_url(re.compile(r".*/admin/chats\?start=.*"))

            # The channel filter and a custom range.
            await page.goto(f"{base}/admin?range=custom&from=2020-01-01&to=2019-01-01&channel=api")
            assert "Ignored the custom range" in await page.get_by_test_id("filter-notice").inner_text()
            await page.screenshot(path=str(SHOTS / "dashboard-bad-range.png"), full_page=True)

            new = await browser.new_page(viewport={"width": 1280, "height": 900})
            await new.goto(f"{base}/login")
            await log_in(new, "dash-new@example.com", PASSWORD)
            await new.wait_for_url(f"{base}/admin")
            empty_state = new.get_by_test_id("dash-empty")
            assert "No conversations in this range yet" in await empty_state.inner_text()
            assert await new.locator("canvas").count() == 0
            await new.get_by_test_id("dash-definitions").locator("summary").click()
            await new.screenshot(path=str(SHOTS / "dashboard-empty.png"), full_page=True)
