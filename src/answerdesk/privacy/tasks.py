"""Background jobs: an organization's full export, nightly retention, expiring exports, index refresh."""

from __future__ import annotations

import uuid

from answerdesk.kit.db import session_scope
from answerdesk.kit.jobs import JobContext, periodic, task
from answerdesk.privacy.service import (
    EXPORT_TASK,
    REFRESH_INDEX_TASK,
    apply_retention,
    build_organization_export,
    expire_exports,
)

DAY = 24 * 60 * 60
HOUR = 60 * 60


@task(EXPORT_TASK, retries=0, timeout_seconds=3600)
async def export_organization(ctx: JobContext, *, organization_id: str, export_id: str) -> None:
    await build_organization_export(ctx.runtime, uuid.UUID(organization_id), uuid.UUID(export_id))


@task(REFRESH_INDEX_TASK, retries=2, timeout_seconds=1800)
async def refresh_index(ctx: JobContext, *, organization_id: str) -> None:
    """Brings the index up to date now: the next snapshot is saved and the old one removed from disk."""
    org_id = uuid.UUID(organization_id)
    async with session_scope(ctx.runtime.sessionmaker) as db:
        await ctx.runtime.retriever.index_for(db, org_id)
    await ctx.runtime.retriever.wait_idle(org_id)
    await ctx.runtime.retriever.purge_superseded(org_id)


@periodic("privacy.apply_retention", every_seconds=DAY)
async def nightly_retention(ctx: JobContext) -> None:
    await apply_retention(ctx.runtime)


@periodic("privacy.expire_exports", every_seconds=HOUR)
async def hourly_expiry(ctx: JobContext) -> None:
    await expire_exports(ctx.runtime)
