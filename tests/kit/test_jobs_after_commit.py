"""Jobs asked for inside a transaction are enqueued when it commits, and never when it rolls back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from answerdesk.auth.deps import DbSession
from answerdesk.kit.db import session_scope
from answerdesk.kit.errors import Conflict
from answerdesk.kit.jobs import InProcessQueue, JobContext, TaskRegistry, enqueue_after_commit
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from answerdesk.tenants.service import OrganizationService


class Seen:
    """Organization names as the job found them in its own session (None: not visible)."""

    def __init__(self) -> None:
        self.names: list[str | None] = []
        self.tags: list[str] = []


def lookup_registry(seen: Seen) -> TaskRegistry:
    registry = TaskRegistry()

    @registry.task("test.lookup")
    async def lookup(ctx: JobContext, *, organization_id: str, tag: str = "") -> None:
        async with session_scope(ctx.runtime.sessionmaker) as db:
            org = await db.get(Organization, uuid.UUID(organization_id))
        seen.names.append(org.name if org else None)
        seen.tags.append(tag)

    return registry


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
async def queue(runtime: Runtime, seen: Seen) -> AsyncIterator[InProcessQueue]:
    jobs = InProcessQueue(runtime, registry=lookup_registry(seen))
    await jobs.start()
    yield jobs
    await jobs.close()


async def test_job_runs_after_commit_and_sees_the_committed_rows(
    db: AsyncSession, queue: InProcessQueue, seen: Seen
) -> None:
    org = await OrganizationService(db).create("Acme Hosting")
    enqueue_after_commit(db, queue, "test.lookup", organization_id=str(org.id))
    assert queue.waiting == 0  # nothing is queued before the commit

    await db.commit()
    await queue.drain()

    assert seen.names == ["Acme Hosting"]


async def test_rollback_drops_the_job_for_good(
    db: AsyncSession, runtime: Runtime, queue: InProcessQueue, seen: Seen
) -> None:
    org = await OrganizationService(db).create("Rolled Back")
    enqueue_after_commit(db, queue, "test.lookup", organization_id=str(org.id))
    await db.rollback()
    await db.commit()  # a later commit on the same session does not bring it back

    enqueue_after_commit(db, queue, "test.lookup", organization_id=str(uuid.uuid4()))
    await db.rollback()  # asked for before any SQL was run: dropped all the same
    await db.commit()

    with pytest.raises(Conflict):
        async with session_scope(runtime.sessionmaker) as work:
            await OrganizationService(work).create("Doomed")
            enqueue_after_commit(work, queue, "test.lookup", organization_id=str(uuid.uuid4()))
            raise Conflict("the service changed its mind")
    await queue.drain()

    assert seen.names == []


async def test_savepoint_rollback_drops_only_the_jobs_asked_for_inside_it(
    db: AsyncSession, queue: InProcessQueue, seen: Seen
) -> None:
    org = await OrganizationService(db).create("Savepoints")
    enqueue_after_commit(db, queue, "test.lookup", organization_id=str(org.id), tag="outer")
    async with db.begin_nested():
        enqueue_after_commit(db, queue, "test.lookup", organization_id=str(org.id), tag="released")
    assert queue.waiting == 0  # releasing a savepoint is not the commit
    savepoint = await db.begin_nested()
    enqueue_after_commit(db, queue, "test.lookup", organization_id=str(org.id), tag="rolled-back")
    await savepoint.rollback()

    await db.commit()
    await queue.drain()

    assert sorted(seen.tags) == ["outer", "released"]


async def test_arguments_are_checked_when_asked_not_at_commit(
    db: AsyncSession, queue: InProcessQueue
) -> None:
    with pytest.raises(TypeError, match="ids as strings"):
        enqueue_after_commit(db, queue, "test.lookup", organization_id=uuid.uuid4())
    await db.commit()
    assert queue.waiting == 0


async def test_an_enqueue_failing_after_commit_is_logged_not_raised(
    db: AsyncSession, queue: InProcessQueue
) -> None:
    enqueue_after_commit(db, queue, "test.unknown", organization_id="x")
    with capture_logs() as logs:
        await db.commit()

    [failure] = [e for e in logs if e["event"] == "job.enqueue_failed"]
    assert failure["task"] == "test.unknown" and "no task is registered" in failure["error"]


def enqueueing_router(queue: InProcessQueue) -> APIRouter:
    router = APIRouter()

    @router.post("/test-jobs/{name}")
    async def create(name: str, db: DbSession) -> dict[str, str]:
        org = await OrganizationService(db).create(name)
        enqueue_after_commit(db, queue, "test.lookup", organization_id=str(org.id))
        if name == "Refused":
            raise Conflict("refused after asking for the job")
        return {"id": str(org.id)}

    return router


async def test_a_request_enqueues_on_its_commit_and_not_when_it_fails(
    app: FastAPI, client: httpx.AsyncClient, queue: InProcessQueue, seen: Seen
) -> None:
    app.include_router(enqueueing_router(queue))

    assert (await client.post("/test-jobs/Refused")).status_code == 409
    response = await client.post("/test-jobs/Accepted")
    assert response.status_code == 200
    await queue.drain()

    assert seen.names == ["Accepted"]
