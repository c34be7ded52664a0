"""The demo's 30 days of history: every dashboard figure has material, and a second run adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.analytics.service import AnalyticsService, last_days_period
from answerdesk.chat.models import Message
from answerdesk.demo.history import seed_demo_history
from answerdesk.gaps.service import GapService
from answerdesk.runtime import Runtime
from tests.factories import make_member, make_org


async def test_history_feeds_every_figure_and_is_seeded_once(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db, "Northwind")
    await make_member(db, org)
    now = datetime.now(UTC)
    added = await seed_demo_history(runtime, org.id, now=now)
    assert 300 < added < 600
    assert await seed_demo_history(runtime, org.id) == 0  # idempotent

    s = await AnalyticsService(db).summary(org, last_days_period(org, 30, now), now=now)
    assert s.conversations == added
    assert all(s.answers_by_mode[m] > 0 for m in ("llm", "faq", "extractive", "no_answer", "handoff"))
    assert 0.1 < (s.handoff_rate or 0) < 0.5 and 0.4 < (s.automatic_resolution_rate or 0) < 0.9
    assert s.ratings > 50 and 3 < (s.csat_avg or 0) < 5
    assert s.sentiment.negative and s.sentiment.positive and s.sentiment.neutral
    assert s.first_response_median_seconds and s.answers_rated > 20 and 0.4 < (s.ai_accuracy or 0) < 1
    t = s.tickets
    assert t.opened == 24 and t.first_response_median_seconds
    assert t.drafts_sent_unchanged and t.drafts_edited and t.drafts_rejected
    # The gap report's material: questions the bot could not answer, with their query vectors.
    vectors = await db.scalar(
        sa.select(sa.func.count()).where(
            Message.organization_id == org.id,
            Message.sender == "customer",
            Message.query_embedding.is_not(None),
        )
    )
    assert vectors == added
    report = await GapService(runtime).report(db, org.id, now=now)
    top = [g.question for g in report.groups[:6]]
    assert len(report.groups) >= 5 and report.groups[0].customers >= 3, top
    # The questions the help centre cannot answer come out on top, grouped by meaning.
    assert any("crypto" in q.lower() or "bitcoin" in q.lower() for q in top), top
