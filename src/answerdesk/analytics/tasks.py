"""Background job: keep the per-conversation roll-up current, so summaries read few messages."""

from __future__ import annotations

import structlog

from answerdesk.analytics.repository import AnalyticsRepository
from answerdesk.kit.db import session_scope
from answerdesk.kit.jobs import JobContext, periodic
from answerdesk.runtime import Runtime

log = structlog.get_logger(__name__)

BATCH = 500
# A run stops after this many conversations so it never holds the worker for long; the next run goes on.
MAX_PER_RUN = 20_000


async def roll_up_stale(runtime: Runtime, *, max_conversations: int = MAX_PER_RUN) -> int:
    """Recomputes the roll-up rows that are missing or behind, one committed batch at a time."""
    done = 0
    while done < max_conversations:
        async with session_scope(runtime.sessionmaker) as db:
            repo = AnalyticsRepository(db)
            stale = await repo.stale_conversations(None, BATCH)
            done += await repo.roll_up(stale)
        if len(stale) < BATCH:
            break
    if done:
        log.info("analytics.rolled_up", conversations=done)
    return done


@periodic("analytics.roll_up", every_seconds=300)
async def roll_up(ctx: JobContext) -> None:
    await roll_up_stale(ctx.runtime)
