"""The embedded job runner: asyncio tasks inside the API process, a few at a time."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from answerdesk.kit import metrics
from answerdesk.kit.jobs.base import JobContext, QueueClosedError, check_job_kwargs, log
from answerdesk.kit.jobs.execution import execute
from answerdesk.kit.jobs.registry import Schedule, TaskRegistry
from answerdesk.kit.jobs.registry import registry as default_registry

if TYPE_CHECKING:
    from answerdesk.runtime import Runtime


@dataclass
class _Job:
    id: str
    name: str
    kwargs: dict[str, Any]
    attempt: int = 1


class InProcessQueue:
    """Runs jobs on `concurrency` asyncio workers; jobs are lost if the process stops before they run."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        registry: TaskRegistry = default_registry,
        concurrency: int = 2,
        timeout_seconds: float | None = 1800.0,
        retry_base_seconds: float = 2.0,
        shutdown_seconds: float = 10.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self._runtime = runtime
        self._registry = registry
        self._concurrency = concurrency
        self._timeout_seconds = timeout_seconds
        self._retry_base_seconds = retry_base_seconds
        self._shutdown_seconds = shutdown_seconds
        self._ready: asyncio.Queue[_Job] = asyncio.Queue()
        self._active: dict[str, _Job] = {}  # queued, waiting to run (deferred or retrying) or running
        self._running: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._none_running = asyncio.Event()
        self._none_running.set()
        self._workers: list[asyncio.Task[None]] = []
        self._schedulers: list[asyncio.Task[None]] = []
        self._started = False
        self._closed = False

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        """Jobs queued or waiting for their (re)try time, not yet running."""
        return len(self._active) - len(self._running)

    async def queued(self) -> int:
        # As on arq: from enqueue until finished, running or not.
        return len(self._active)

    async def enqueue(
        self, name: str, /, *, job_id: str | None = None, defer_seconds: float | None = None, **kwargs: Any
    ) -> str:
        return self._submit(name, job_id, defer_seconds, kwargs)

    def enqueue_nowait(
        self, name: str, /, *, job_id: str | None = None, defer_seconds: float | None = None, **kwargs: Any
    ) -> None:
        try:
            self._submit(name, job_id, defer_seconds, kwargs)
        except Exception as exc:
            log().error("job.enqueue_failed", task=name, job_id=job_id, error=str(exc))

    async def start(self) -> None:
        if self._closed:
            raise QueueClosedError("the job queue is closed")
        if self._started:
            return
        self._started = True
        self._workers = [
            asyncio.create_task(self._work(), name=f"answerdesk-job-worker-{i}")
            for i in range(self._concurrency)
        ]
        self._schedulers = [
            asyncio.create_task(self._every(s), name=f"answerdesk-periodic-{s.name}")
            for s in self._registry.schedules()
        ]

    async def drain(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - the error names stuck jobs
        """Waits until no job is queued or running (for tests and the CLI)."""
        if not self._started:
            raise RuntimeError("start() the queue before draining it")
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            names = sorted(job.name for job in self._active.values())
            raise TimeoutError(f"jobs still queued or running after {timeout}s: {names}") from None

    async def close(self) -> None:
        """Stops schedules, drops jobs not yet started, waits a while for running ones, cancels the rest."""
        if self._closed:
            return
        self._closed = True
        for scheduler in self._schedulers:
            scheduler.cancel()
        await asyncio.gather(*self._schedulers, return_exceptions=True)

        dropped = [self._active[job_id] for job_id in self._timers]
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        while not self._ready.empty():
            dropped.append(self._ready.get_nowait())
        for job in dropped:
            self._forget(job)
        if dropped:
            log().warning("jobs.dropped_on_close", jobs=[f"{j.name}:{j.id}" for j in dropped])

        if self._running:
            try:
                async with asyncio.timeout(self._shutdown_seconds):
                    await self._none_running.wait()
            except TimeoutError:
                log().warning(
                    "jobs.cancelled_on_close", jobs=[f"{self._active[i].name}:{i}" for i in self._running]
                )
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    def _submit(
        self, name: str, job_id: str | None, defer_seconds: float | None, kwargs: dict[str, Any]
    ) -> str:
        if self._closed:
            raise QueueClosedError(f"the job queue is closed; {name!r} was not queued")
        self._registry.get(name)  # an unknown name fails here, in the caller, not later in a worker
        payload = check_job_kwargs(name, kwargs)
        job_id = job_id or uuid.uuid4().hex
        if job_id in self._active:
            log().debug("job.duplicate", job_id=job_id, task=name)
            return job_id
        job = _Job(job_id, name, payload)
        self._active[job_id] = job
        self._idle.clear()
        self._schedule(job, defer_seconds)
        metrics.JOBS_ENQUEUED.labels(name).inc()
        log().debug("job.enqueued", job_id=job_id, task=name, defer_seconds=defer_seconds)
        return job_id

    def _schedule(self, job: _Job, delay: float | None) -> None:
        if delay and delay > 0:
            self._timers[job.id] = asyncio.get_running_loop().call_later(delay, self._release, job)
        else:
            self._ready.put_nowait(job)

    def _release(self, job: _Job) -> None:
        del self._timers[job.id]
        self._ready.put_nowait(job)

    def _forget(self, job: _Job) -> None:
        self._active.pop(job.id, None)
        if not self._active:
            self._idle.set()

    async def _work(self) -> None:
        while True:
            job = await self._ready.get()
            self._running.add(job.id)
            self._none_running.clear()
            try:
                await self._run(job)
            finally:
                self._running.discard(job.id)
                if not self._running:
                    self._none_running.set()

    async def _run(self, job: _Job) -> None:
        spec = self._registry.get(job.name)
        ctx = JobContext(self._runtime, job.id, job.name, job.attempt, spec.max_attempts)
        try:
            outcome = await execute(
                spec,
                ctx,
                job.kwargs,
                timeout_seconds=self._timeout_seconds,
                retry_base_seconds=self._retry_base_seconds,
            )
        except asyncio.CancelledError:
            log().warning("job.cancelled", job_id=job.id, task=job.name, attempt=job.attempt)
            self._forget(job)
            raise
        except Exception:
            # A bug in the plumbing must not kill the worker: the next job still runs.
            log().exception("job.crashed", job_id=job.id, task=job.name)
            self._forget(job)
            return
        if outcome.retry_in is not None:
            if not self._closed:
                job.attempt += 1
                self._schedule(job, outcome.retry_in)
                return
            log().warning("jobs.dropped_on_close", jobs=[f"{job.name}:{job.id}"])
        self._forget(job)

    async def _every(self, schedule: Schedule) -> None:
        # One job id per schedule: while a run is queued or running the next tick is a duplicate,
        # so runs never overlap and a slow run skips ticks instead of piling them up.
        job_id = f"periodic:{schedule.name}"
        if not schedule.run_at_startup:
            await asyncio.sleep(schedule.every_seconds)
        while True:
            with contextlib.suppress(QueueClosedError):
                self._submit(schedule.name, job_id, None, {})
            await asyncio.sleep(schedule.every_seconds)
