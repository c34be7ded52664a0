"""A document left queued when the server stopped is ingested after the next start."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.jobs import InProcessQueue
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.main import create_app
from tests.conftest import make_settings
from tests.factories import make_org


async def test_unfinished_ingestion_resumes_on_start(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await make_org(db)
    settings = make_settings(database_url, tmp_path / "restart")
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        runtime = first.state.runtime
        async with runtime.sessionmaker() as s:
            # Accepted but never queued: as if the process died right after the upload committed.
            doc = await KnowledgeService(s, runtime.storage, max_upload_bytes=10**6).upload(
                org.id, filename="restart.md", data=b"# Restart\n\nThe backup runs nightly at 02:00."
            )
            await s.commit()
            doc_id = doc.id
    second = create_app(settings)
    async with second.router.lifespan_context(second):
        runtime = second.state.runtime
        assert isinstance(runtime.jobs, InProcessQueue)
        await runtime.jobs.drain(timeout=120)
        async with runtime.sessionmaker() as s:
            done = await KnowledgeService(s, runtime.storage, max_upload_bytes=0).get(org.id, doc_id)
            assert done.status == "ready" and done.chunk_count == 1
