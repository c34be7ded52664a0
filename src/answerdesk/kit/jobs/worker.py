"""`answerdesk worker`: an arq worker that runs the registered tasks with its own Runtime."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from arq import Retry, Worker, cron, func
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from arq.cron import CronJob
from arq.worker import Function
from redis.exceptions import LockError, RedisError

from answerdesk.config import Settings
from answerdesk.kit.jobs.arq_queue import DEFAULT_QUEUE_NAME, dumps, loads
from answerdesk.kit.jobs.base import JobContext, log
from answerdesk.kit.jobs.execution import execute
from answerdesk.kit.jobs.registry import Schedule, TaskRegistry, TaskSpec, load_task_modules
from answerdesk.kit.jobs.registry import registry as default_registry
from answerdesk.runtime import Runtime

# arq counts a run cut short by a worker restart (deploy) as a try: allow a few so such a job runs
# again; retries on errors are decided by the task's own policy in execute().
RESTART_ALLOWANCE = 2

# arq's own timeout only backs ours up, so that a timeout is logged like any other failure.
TIMEOUT_MARGIN_SECONDS = 5.0

# arq marks a running job with an in-progress key that lives as long as the job may run (half an hour),
# so a worker killed mid-job (docker kill, OOM, power loss) would leave its jobs blocked that long. The key
# is leased instead, for LEASE_SECONDS, and renewed while the job runs: a dead worker's jobs soon run again.
LEASE_SECONDS = 30.0


class WorkerSetupError(RuntimeError):
    """The worker cannot start: no Redis configured, or no task registered."""


@dataclass(frozen=True)
class WorkerStats:
    complete: int
    failed: int
    retried: int


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 2
    timeout_seconds: float = 1800.0
    retry_base_seconds: float = 2.0
    poll_seconds: float = 0.5
    queue_name: str = DEFAULT_QUEUE_NAME
    lease_seconds: float = LEASE_SECONDS


def cron_fields(every_seconds: float) -> dict[str, Any]:
    """The arq cron fields for "every N seconds": N must divide a minute, an hour or a day."""
    n = int(every_seconds)
    if n != every_seconds or n < 1:
        raise ValueError(f"a period on arq must be a whole number of seconds, not {every_seconds}")
    if n < 60 and 60 % n == 0:
        return {"second": set(range(0, 60, n))}
    if n < 3600 and n % 60 == 0 and 3600 % n == 0:
        return {"minute": set(range(0, 60, n // 60)), "second": 0}
    if n <= 86400 and n % 3600 == 0 and 86400 % n == 0:
        return {"hour": set(range(0, 24, n // 3600)), "minute": 0, "second": 0}
    raise ValueError(f"a period of {n}s does not divide a minute, an hour or a day")


def _context(ctx: dict[str, Any], spec: TaskSpec) -> JobContext:
    return JobContext(ctx["runtime"], ctx["job_id"], spec.name, ctx["job_try"], spec.max_attempts)


def task_function(spec: TaskSpec, options: WorkerOptions) -> Function:
    async def run(ctx: dict[str, Any], **kwargs: Any) -> None:
        outcome = await execute(
            spec,
            _context(ctx, spec),
            kwargs,
            timeout_seconds=options.timeout_seconds,
            retry_base_seconds=options.retry_base_seconds,
        )
        if outcome.retry_in is not None:
            raise Retry(defer=outcome.retry_in) from outcome.error
        if outcome.error is not None:
            raise outcome.error  # so that arq counts the job as failed; it was logged already

    run.__qualname__ = f"task:{spec.name}"
    return func(
        run,
        name=spec.name,
        max_tries=spec.max_attempts + RESTART_ALLOWANCE,
        timeout=_arq_timeout(spec, options),
        keep_result=0,
    )


def periodic_job(spec: TaskSpec, schedule: Schedule, options: WorkerOptions) -> CronJob:
    timeout = _arq_timeout(spec, options)

    async def run(ctx: dict[str, Any]) -> None:
        # arq gives each tick its own job id, so a run longer than the period would overlap the next
        # one (on this or another worker); the lock turns such a tick into a skip.
        lock = ctx["redis"].lock(
            f"{options.queue_name}:periodic:{spec.name}", timeout=timeout, blocking=False, thread_local=False
        )
        if not await lock.acquire():
            log().info("job.skipped", task=spec.name, job_id=ctx["job_id"], reason="previous run still going")
            return
        try:
            await execute(
                spec,
                _context(ctx, spec),
                {},
                timeout_seconds=options.timeout_seconds,
                retry_base_seconds=options.retry_base_seconds,
            )
        finally:
            try:
                await lock.release()
            except LockError:
                log().warning("job.lock_expired", task=spec.name, job_id=ctx["job_id"])

    run.__qualname__ = f"periodic:{spec.name}"
    return cron(
        run,
        name=f"cron:{spec.name}",
        run_at_startup=schedule.run_at_startup,
        timeout=timeout,
        max_tries=1,
        **cron_fields(schedule.every_seconds),
    )


def _arq_timeout(spec: TaskSpec, options: WorkerOptions) -> float:
    own = spec.timeout_seconds if spec.timeout_seconds is not None else options.timeout_seconds
    return own + TIMEOUT_MARGIN_SECONDS


def build_worker(
    runtime: Runtime,
    *,
    registry: TaskRegistry = default_registry,
    options: WorkerOptions | None = None,
    burst: bool = False,
    handle_signals: bool = True,
) -> Worker:
    """An arq Worker for every registered task and schedule; its jobs get `runtime` in their context."""
    options = options or WorkerOptions()
    redis_url = runtime.settings.redis_url
    if not redis_url:
        raise WorkerSetupError("the job worker needs ANSWERDESK_REDIS_URL")
    functions = [task_function(spec, options) for spec in registry.tasks()]
    if not functions:
        raise WorkerSetupError("no tasks are registered; is TASK_MODULES filled in?")
    schedules = [periodic_job(registry.get(s.name), s, options) for s in registry.schedules()]
    worker = Worker(
        functions,
        cron_jobs=schedules,
        queue_name=options.queue_name,
        redis_settings=RedisSettings.from_dsn(redis_url),
        job_serializer=dumps,
        job_deserializer=loads,
        burst=burst,
        handle_signals=handle_signals,
        max_jobs=options.concurrency,
        job_timeout=options.timeout_seconds + TIMEOUT_MARGIN_SECONDS,
        keep_result=0,
        poll_delay=options.poll_seconds,
        ctx={"runtime": runtime},
    )
    worker.in_progress_timeout_s = options.lease_seconds  # renewed by _renew_leases while a job runs
    return worker


async def run_worker(
    settings: Settings,
    *,
    burst: bool = False,
    registry: TaskRegistry = default_registry,
    options: WorkerOptions | None = None,
    handle_signals: bool = True,
) -> WorkerStats:
    """Runs jobs from Redis until stopped (SIGINT/SIGTERM, cancelled) or, with `burst`, the queue is empty."""
    if registry is default_registry:
        load_task_modules()
    # The runtime lives around the worker rather than in arq's on_startup/on_shutdown hooks, so it is
    # closed even when the worker is cancelled half-way through start-up or shutdown.
    runtime = Runtime.build(settings)
    try:
        worker = build_worker(
            runtime, registry=registry, options=options, burst=burst, handle_signals=handle_signals
        )
        try:
            return await _run(worker)
        finally:
            await worker.close()
    finally:
        await runtime.close()


async def _run(worker: Worker) -> WorkerStats:
    log().info("worker.started", tasks=sorted(worker.functions), concurrency=worker.max_jobs)
    running = asyncio.ensure_future(worker.async_run())
    renewing = asyncio.ensure_future(_renew_leases(worker, worker.in_progress_timeout_s))
    try:
        # wait() rather than await: arq's signal handler ends the run by cancelling it, which is a
        # normal stop here, not a cancellation of this coroutine.
        await asyncio.wait({running})
    finally:
        renewing.cancel()
        if not running.done():
            running.cancel()
            await asyncio.wait({running})
    error = None if running.cancelled() else running.exception()
    if error is not None:
        raise error
    log().info("worker.stopped", complete=worker.jobs_complete, failed=worker.jobs_failed)
    return WorkerStats(worker.jobs_complete, worker.jobs_failed, worker.jobs_retried)


async def _renew_leases(worker: Worker, lease_seconds: float) -> None:
    """Extends the in-progress lease of every job this worker runs, a few times per lease (LEASE_SECONDS)."""
    while True:
        await asyncio.sleep(lease_seconds / 3)
        running = [job_id for job_id, task in worker.tasks.items() if not task.done()]
        if not running:
            continue
        try:
            async with worker.pool.pipeline(transaction=False) as pipe:
                for job_id in running:
                    pipe.pexpire(in_progress_key_prefix + job_id, int(lease_seconds * 1000))
                await pipe.execute()
        except RedisError as exc:  # Redis away for a moment: the next round tries again
            log().warning("worker.lease_renewal_failed", jobs=len(running), error=str(exc))
