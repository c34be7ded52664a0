"""Start-up recovery: in-process jobs die with the process, so unfinished ingestions are queued again."""

from __future__ import annotations

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import DBAPIError

from answerdesk.kit.db import session_scope
from answerdesk.knowledge.models import Document, DocumentStatus
from answerdesk.knowledge.queueing import queue_ingest
from answerdesk.runtime import Runtime

log = structlog.get_logger(__name__)


async def requeue_unfinished_ingestions(runtime: Runtime) -> int:
    """Queues every document left queued or processing. Only for the in-process runner: arq keeps its
    queue in Redis, and a revision check makes any duplicate run a no-op."""
    if runtime.settings.redis_url:
        return 0
    try:
        return await _requeue(runtime)
    except DBAPIError as exc:  # e.g. not migrated yet: /readyz says so; serving must still start
        log.warning("knowledge.requeue_skipped", error=type(exc).__name__)
        return 0


async def _requeue(runtime: Runtime) -> int:
    async with session_scope(runtime.sessionmaker) as db:
        docs = (
            await db.scalars(
                sa.select(Document).where(
                    Document.status.in_([DocumentStatus.queued, DocumentStatus.processing])
                )
            )
        ).all()
        for doc in docs:
            doc.status = DocumentStatus.queued
            queue_ingest(db, runtime, doc)
    if docs:
        log.info("knowledge.requeued_unfinished", documents=len(docs))
    return len(docs)
