"""The Redis backend: the API side enqueues through arq, `answerdesk worker` runs the same task functions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from answerdesk.config import Settings
from answerdesk.kit.db import session_scope
from answerdesk.kit.jobs import ArqQueue, JobContext, RetryableJobError, TaskRegistry, enqueue_after_commit
from answerdesk.kit.jobs.worker import WorkerOptions, WorkerSetupError, WorkerStats, build_worker, run_worker
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from tests.conftest import REDIS_JOBS_TEST_URL, make_settings
from tests.factories import make_org

FAST = WorkerOptions(poll_seconds=0.02, retry_base_seconds=0.01)


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    redis = Redis.from_url(REDIS_JOBS_TEST_URL)
    await redis.flushdb()
    try:
        yield REDIS_JOBS_TEST_URL
        await redis.flushdb()
    finally:
        await redis.aclose()


@pytest.fixture
def worker_settings(database_url: str, tmp_path: Path, redis_url: str) -> Settings:
    return make_settings(database_url, tmp_path / "worker", redis_url=redis_url)


async def test_worker_runs_enqueued_jobs_with_its_own_runtime(
    db: AsyncSession, worker_settings: Settings, redis_url: str
) -> None:
    org = await make_org(db, "Worker Org")
    seen: list[tuple[str, JobContext, str | None]] = []
    registry = TaskRegistry()

    @registry.task("test.lookup")
    async def lookup(ctx: JobContext, *, organization_id: str, via: str) -> None:
        async with session_scope(ctx.runtime.sessionmaker) as session:
            found = await session.get(Organization, uuid.UUID(organization_id))
        seen.append((via, ctx, found.name if found else None))

    queue = ArqQueue(redis_url)
    first = await queue.enqueue("test.lookup", job_id="lookup:1", organization_id=str(org.id), via="enqueue")
    again = await queue.enqueue("test.lookup", job_id="lookup:1", organization_id=str(org.id), via="again")
    enqueue_after_commit(db, queue, "test.lookup", organization_id=str(org.id), via="after-commit")
    await db.commit()
    await queue.close()  # also finishes sending what the commit hook started

    redis = Redis.from_url(redis_url)
    stored = json.loads(await redis.get("arq:job:lookup:1") or b"null")  # JSON on Redis, not pickle
    await redis.aclose()
    stats = await run_worker(
        worker_settings, burst=True, registry=registry, options=FAST, handle_signals=False
    )

    assert first == again == "lookup:1"
    assert stored["f"] == "test.lookup" and stored["k"] == {"organization_id": str(org.id), "via": "enqueue"}
    assert stats == WorkerStats(complete=2, failed=0, retried=0)
    assert sorted(via for via, _, _ in seen) == ["after-commit", "enqueue"]
    for via, ctx, name in seen:
        assert name == "Worker Org" and ctx.attempt == 1 and ctx.name == "test.lookup"
        assert isinstance(ctx.runtime, Runtime) and ctx.runtime.settings is worker_settings
        assert (ctx.job_id == "lookup:1") == (via == "enqueue")
    assert seen[0][1].runtime is seen[1][1].runtime  # one runtime per worker process

    # Done jobs keep no result in Redis, so their id is free again, as with the in-process queue.
    queue = ArqQueue(redis_url)
    await queue.enqueue("test.lookup", job_id="lookup:1", organization_id=str(org.id), via="rerun")
    await queue.close()
    redis = Redis.from_url(redis_url)
    assert await redis.zrange(queue.queue_name, 0, -1) == [b"lookup:1"]
    await redis.aclose()


async def test_worker_retries_retryable_errors_and_logs_failures(
    worker_settings: Settings, redis_url: str
) -> None:
    registry = TaskRegistry()
    attempts: dict[str, list[int]] = {"flaky": [], "broken": []}

    @registry.task("test.flaky")
    async def flaky(ctx: JobContext) -> None:
        attempts["flaky"].append(ctx.attempt)
        if ctx.attempt == 1:
            raise RetryableJobError("upstream busy")

    @registry.task("test.broken")
    async def broken(ctx: JobContext, *, document_id: str) -> None:
        attempts["broken"].append(ctx.attempt)
        raise ValueError(f"cannot parse {document_id}")

    queue = ArqQueue(redis_url)
    await queue.enqueue("test.flaky")
    broken_id = await queue.enqueue("test.broken", document_id="d-7")
    await queue.close()
    with capture_logs() as logs:
        stats = await run_worker(
            worker_settings, burst=True, registry=registry, options=FAST, handle_signals=False
        )

    assert stats == WorkerStats(complete=1, failed=1, retried=1)
    assert attempts == {"flaky": [1, 2], "broken": [1]}
    [failure] = [e for e in logs if e["event"] == "job.failed"]
    assert (failure["job_id"], failure["task"]) == (broken_id, "test.broken")
    assert failure["error"] == "ValueError: cannot parse d-7"
    [retry] = [e for e in logs if e["event"] == "job.retrying"]
    assert (retry["task"], retry["retry_in"]) == ("test.flaky", 0.01)


async def test_periodic_job_runs_on_arq_cron_and_never_overlaps_itself(worker_settings: Settings) -> None:
    registry = TaskRegistry()
    runs: list[str] = []
    state = {"running": 0, "max_running": 0}
    logs: list[dict[str, Any]] = []

    @registry.periodic("test.tick", every_seconds=1, run_at_startup=True)
    async def tick(ctx: JobContext) -> None:
        runs.append(ctx.job_id)
        state["running"] += 1
        state["max_running"] = max(state["max_running"], state["running"])
        try:
            if len(runs) == 1:  # stay busy until the next tick has come and found us running
                await wait_until(lambda: any(e["event"] == "job.skipped" for e in logs), timeout=5)
        finally:
            state["running"] -= 1

    with capture_logs() as captured:
        logs = captured
        worker = asyncio.create_task(
            run_worker(worker_settings, registry=registry, options=FAST, handle_signals=False)
        )
        try:
            await wait_until(lambda: len(runs) >= 2, timeout=10)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    assert state["max_running"] == 1 and len(set(runs)) == len(runs)
    assert all(run_id.startswith("cron:test.tick:") for run_id in runs)


async def test_worker_refuses_to_start_without_redis_or_without_tasks(
    runtime: Runtime, worker_settings: Settings
) -> None:
    registry = TaskRegistry()

    @registry.task("test.noop")
    async def noop(ctx: JobContext) -> None:
        return None

    assert runtime.settings.redis_url is None
    with pytest.raises(WorkerSetupError, match="ANSWERDESK_REDIS_URL"):
        build_worker(runtime, registry=registry)
    with pytest.raises(WorkerSetupError, match="no tasks"):
        await run_worker(worker_settings, registry=TaskRegistry(), handle_signals=False)


async def test_a_running_job_keeps_its_lease_and_a_dead_workers_job_runs_again_soon(
    worker_settings: Settings, redis_url: str
) -> None:
    registry = TaskRegistry()
    runs: list[str] = []
    release = asyncio.Event()

    @registry.task("test.long")
    async def long(ctx: JobContext) -> None:
        runs.append(ctx.job_id)
        await release.wait()

    options = WorkerOptions(poll_seconds=0.02, lease_seconds=0.6)
    redis = Redis.from_url(redis_url)
    queue = ArqQueue(redis_url)
    # A job a killed worker was running: still queued, its in-progress key left with a lease to run out.
    await queue.enqueue("test.long", job_id="orphan")
    await redis.psetex("arq:in-progress:orphan", 600, b"1")
    await queue.enqueue("test.long", job_id="live")
    await queue.close()
    worker = asyncio.create_task(
        run_worker(worker_settings, registry=registry, options=options, handle_signals=False)
    )
    try:
        await wait_until(lambda: sorted(runs) == ["live", "orphan"], timeout=5)
        # Running jobs hold short leases, renewed well past their length while they run.
        await asyncio.sleep(1.5)
        for job_id in ("live", "orphan"):
            ttl = await redis.pttl(f"arq:in-progress:{job_id}")
            assert 0 < ttl <= 600, (job_id, ttl)
        release.set()
        await wait_until(lambda: worker.done() or len(runs) == 2, timeout=5)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        await redis.aclose()
    assert sorted(runs) == ["live", "orphan"]  # each once: a renewed lease is never taken over


async def test_queued_counts_jobs_until_they_finish(redis_url: str) -> None:
    queue = ArqQueue(redis_url)
    await queue.start()
    try:
        assert await queue.queued() == 0
        await queue.enqueue("demo.first", job_id="one")
        await queue.enqueue("demo.second", job_id="two", defer_seconds=3600)
        await queue.enqueue("demo.first", job_id="one")  # a duplicate is not queued twice
        assert await queue.queued() == 2
    finally:
        await queue.close()
