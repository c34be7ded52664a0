"""Background job: bring the analytics roll-up up to date, so summaries read few messages."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from answerdesk.analytics.repository import AnalyticsRepository
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.jobs import JobContext, periodic
from answerdesk.runtime import Runtime

log = structlog.get_logger(__name__)

BATCH = 1000
# Conversations changed this recently are left to be counted live: a transaction still open when the job
# reads could otherwise commit a change the roll-up never sees.
MARGIN = timedelta(minutes=5)


async def roll_up_stale(runtime: Runtime, *, margin: timedelta = MARGIN, now: datetime | None = None) -> int:
    """Recomputes the rows of conversations changed since the last run, one committed batch at a time, then
    moves the mark; a run that dies leaves the mark where it was and the next one starts over."""
    cutoff = (now or utcnow()) - margin
    async with session_scope(runtime.sessionmaker) as db:
        since = await AnalyticsRepository(db).rolled_through()
    if since is not None and since >= cutoff:
        return 0
    done = 0
    after = None
    while True:
        async with session_scope(runtime.sessionmaker) as db:
            repo = AnalyticsRepository(db)
            batch = await repo.changed_since(since, cutoff, after, BATCH)
            done += await repo.roll_up([cid for _, cid in batch], cutoff)
        if len(batch) < BATCH:
            break
        after = batch[-1]
    async with session_scope(runtime.sessionmaker) as db:
        repo = AnalyticsRepository(db)
        await repo.settle(cutoff)
        await repo.sweep_deleted(cutoff)
        await repo.set_rolled_through(cutoff)
    if done:
        log.info("analytics.rolled_up", conversations=done, through=cutoff.isoformat())
    return done


@periodic("analytics.roll_up", every_seconds=300)
async def roll_up(ctx: JobContext) -> None:
    await roll_up_stale(ctx.runtime)
