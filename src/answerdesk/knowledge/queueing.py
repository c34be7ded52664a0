"""Queueing knowledge jobs after the request's commit; shared by the API and the admin pages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.jobs import enqueue_after_commit
from answerdesk.knowledge.models import Document
from answerdesk.knowledge.service import CRAWL_TASK, INGEST_TASK
from answerdesk.runtime import Runtime


def queue_ingest(db: AsyncSession, runtime: Runtime, doc: Document) -> None:
    """The job starts once this transaction has committed (never for a rolled-back one)."""
    enqueue_after_commit(
        db,
        runtime.jobs,
        INGEST_TASK,
        job_id=f"ingest:{doc.id}:{doc.revision}",
        organization_id=str(doc.organization_id),
        document_id=str(doc.id),
    )


def queue_crawl(
    db: AsyncSession,
    runtime: Runtime,
    organization_id: uuid.UUID,
    url: str,
    *,
    max_pages: int,
    tags: Sequence[str],
) -> None:
    """Reads a sitemap in the background; each page found becomes a URL document with its own ingest job."""
    enqueue_after_commit(
        db,
        runtime.jobs,
        CRAWL_TASK,
        job_id=f"crawl:{organization_id}:{url}",
        organization_id=str(organization_id),
        url=url,
        sitemap=True,
        max_pages=max_pages,
        tags=list(tags),
    )
