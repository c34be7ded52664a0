"""The in-process runner: context, concurrency, retries, failures, job ids, shutdown and periodic jobs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from structlog.testing import capture_logs

from answerdesk.kit.jobs import (
    InProcessQueue,
    JobContext,
    QueueClosedError,
    RetryableJobError,
    TaskRegistry,
    UnknownTaskError,
)
from answerdesk.runtime import Runtime

QueueFactory = Callable[..., InProcessQueue]


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.005)


@dataclass
class Probe:
    """What a test task saw: its calls, and how many ran at once."""

    calls: list[tuple[JobContext, dict[str, Any]]] = field(default_factory=list)
    running: int = 0
    max_running: int = 0
    gates: dict[str, asyncio.Event] = field(default_factory=dict)

    def gate(self, key: str) -> asyncio.Event:
        return self.gates.setdefault(key, asyncio.Event())

    async def run(self, ctx: JobContext, kwargs: dict[str, Any], *, hold: str | None = None) -> None:
        self.calls.append((ctx, kwargs))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            if hold is not None:
                await self.gate(hold).wait()
        finally:
            self.running -= 1


def probe_registry(probe: Probe) -> TaskRegistry:
    registry = TaskRegistry()

    @registry.task("test.record")
    async def record(ctx: JobContext, **kwargs: Any) -> None:
        await probe.run(ctx, kwargs)

    @registry.task("test.hold")
    async def hold(ctx: JobContext, *, key: str) -> None:
        await probe.run(ctx, {"key": key}, hold=key)

    return registry


@pytest.fixture
async def make_queue(runtime: Runtime) -> AsyncIterator[QueueFactory]:
    queues: list[InProcessQueue] = []

    def make(registry: TaskRegistry, **options: Any) -> InProcessQueue:
        options = {"retry_base_seconds": 0.01, "shutdown_seconds": 1.0, **options}
        queue = InProcessQueue(runtime, registry=registry, **options)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        await queue.close()


async def test_task_runs_with_its_arguments_and_context(make_queue: QueueFactory, runtime: Runtime) -> None:
    probe = Probe()
    queue = make_queue(probe_registry(probe))
    await queue.start()

    job_id = await queue.enqueue("test.record", document_id="d-1", name="Guide", tags=("a", "b"))
    await queue.drain()

    [(ctx, kwargs)] = probe.calls
    assert kwargs == {"document_id": "d-1", "name": "Guide", "tags": ["a", "b"]}  # as JSON, as on Redis
    assert (ctx.job_id, ctx.name, ctx.attempt, ctx.max_attempts) == (job_id, "test.record", 1, 4)
    assert ctx.runtime is runtime


async def test_no_more_than_concurrency_jobs_run_at_once(make_queue: QueueFactory) -> None:
    probe = Probe()
    queue = make_queue(probe_registry(probe), concurrency=2)
    await queue.start()
    for i in range(5):
        await queue.enqueue("test.hold", key=f"k{i}")

    await wait_until(lambda: probe.running == 2)
    assert (queue.running, queue.waiting) == (2, 3)
    for done in range(5):
        held = [c["key"] for _, c in probe.calls if not probe.gate(c["key"]).is_set()]
        probe.gate(held[0]).set()
        await wait_until(lambda done=done: len(probe.calls) == min(5, done + 3) and probe.running <= 2)
    await queue.drain()

    assert probe.max_running == 2 and len(probe.calls) == 5


async def test_queued_counts_jobs_until_they_finish(make_queue: QueueFactory) -> None:
    probe = Probe()
    queue = make_queue(probe_registry(probe), concurrency=1)
    await queue.start()
    await queue.enqueue("test.hold", key="running")
    await queue.enqueue("test.record", defer_seconds=3600)
    await wait_until(lambda: probe.running == 1)
    assert await queue.queued() == 2  # one running, one deferred
    probe.gate("running").set()
    await wait_until(lambda: probe.running == 0)
    assert await queue.queued() == 1


async def test_retryable_errors_are_retried_with_backoff_until_success(make_queue: QueueFactory) -> None:
    registry = TaskRegistry()
    attempts: list[int] = []

    @registry.task("test.flaky", retries=3)
    async def flaky(ctx: JobContext) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt < 3:
            raise RetryableJobError("upstream busy")

    queue = make_queue(registry)
    await queue.start()
    with capture_logs() as logs:
        job_id = await queue.enqueue("test.flaky")
        await queue.drain()

    assert attempts == [1, 2, 3]
    retries = [e for e in logs if e["event"] == "job.retrying"]
    assert [(e["job_id"], e["attempt"], e["retry_in"]) for e in retries] == [
        (job_id, 1, 0.01),
        (job_id, 2, 0.02),
    ]
    assert [e["attempt"] for e in logs if e["event"] == "job.succeeded"] == [3]


async def test_retries_stop_at_the_limit_and_only_retryable_errors_are_retried(
    make_queue: QueueFactory,
) -> None:
    registry = TaskRegistry()
    attempts: dict[str, list[int]] = {"busy": [], "network": [], "bug": []}

    @registry.task("test.busy", retries=1)
    async def busy(ctx: JobContext) -> None:
        attempts["busy"].append(ctx.attempt)
        raise RetryableJobError("still busy", defer_seconds=0.001)

    @registry.task("test.network", retries=2, retry_on=(ConnectionError,))
    async def network(ctx: JobContext) -> None:
        attempts["network"].append(ctx.attempt)
        if not ctx.is_last_attempt:
            raise ConnectionResetError("peer went away")

    @registry.task("test.bug", retries=5)
    async def bug(ctx: JobContext) -> None:
        attempts["bug"].append(ctx.attempt)
        raise KeyError("missing")

    queue = make_queue(registry)
    await queue.start()
    with capture_logs() as logs:
        for name in ("test.busy", "test.network", "test.bug"):
            await queue.enqueue(name)
        await queue.drain()

    assert attempts == {"busy": [1, 2], "network": [1, 2, 3], "bug": [1]}
    assert sorted((e["task"], e["attempt"]) for e in logs if e["event"] == "job.failed") == [
        ("test.bug", 1),
        ("test.busy", 2),
    ]


async def test_a_failure_is_logged_with_job_id_and_task_and_the_queue_keeps_working(
    make_queue: QueueFactory,
) -> None:
    probe = Probe()
    registry = probe_registry(probe)

    @registry.task("test.explode", retries=0)
    async def explode(ctx: JobContext, *, document_id: str) -> None:
        raise ValueError(f"cannot parse {document_id}")

    queue = make_queue(registry, concurrency=1)
    await queue.start()
    with capture_logs() as logs:
        failed_id = await queue.enqueue("test.explode", document_id="d-9")
        await queue.enqueue("test.record", after="failure")
        await queue.drain()

    [failure] = [e for e in logs if e["event"] == "job.failed"]
    assert failure["job_id"] == failed_id and failure["task"] == "test.explode"
    assert failure["error"] == "ValueError: cannot parse d-9" and failure["log_level"] == "error"
    assert isinstance(failure["exc_info"], ValueError)
    assert [kwargs for _, kwargs in probe.calls] == [{"after": "failure"}]


async def test_a_job_id_is_queued_once_while_queued_or_running(make_queue: QueueFactory) -> None:
    probe = Probe()
    queue = make_queue(probe_registry(probe))

    # Before start the job waits in the queue; a duplicate is ignored there too.
    assert await queue.enqueue("test.hold", job_id="ingest:d-1", key="first") == "ingest:d-1"
    assert await queue.enqueue("test.hold", job_id="ingest:d-1", key="second") == "ingest:d-1"
    assert queue.waiting == 1
    await queue.start()
    await wait_until(lambda: probe.running == 1)
    await queue.enqueue("test.hold", job_id="ingest:d-1", key="third")  # running: still a duplicate
    assert (queue.running, queue.waiting) == (1, 0)

    probe.gate("first").set()
    await queue.drain()
    probe.gate("again").set()
    await queue.enqueue("test.hold", job_id="ingest:d-1", key="again")  # finished: runs again
    await queue.drain()

    assert [kwargs["key"] for _, kwargs in probe.calls] == ["first", "again"]


async def test_defer_seconds_delays_the_start(make_queue: QueueFactory) -> None:
    probe = Probe()
    queue = make_queue(probe_registry(probe))
    await queue.start()

    enqueued = time.monotonic()
    await queue.enqueue("test.record", defer_seconds=0.2)
    assert (queue.waiting, queue.running) == (1, 0)
    await queue.drain()

    [(ctx, _)] = probe.calls
    assert time.monotonic() - enqueued >= 0.2 and ctx.attempt == 1


async def test_unknown_tasks_and_bad_arguments_are_refused_at_enqueue(make_queue: QueueFactory) -> None:
    queue = make_queue(probe_registry(Probe()))
    with pytest.raises(UnknownTaskError, match=r"test\.missing"):
        await queue.enqueue("test.missing")
    with pytest.raises(TypeError, match="JSON"):
        await queue.enqueue("test.record", when=time)
    assert queue.waiting == 0


async def test_close_waits_for_running_jobs_then_cancels_the_rest(make_queue: QueueFactory) -> None:
    probe = Probe()
    registry = probe_registry(probe)
    cancelled: list[str] = []

    @registry.task("test.forever")
    async def forever(ctx: JobContext) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(ctx.job_id)
            raise

    queue = make_queue(registry, concurrency=2, shutdown_seconds=0.2)
    await queue.start()
    await queue.enqueue("test.hold", key="finishing")
    stuck = await queue.enqueue("test.forever")
    await queue.enqueue("test.record", never="started")
    await wait_until(lambda: queue.running == 2)

    with capture_logs() as logs:
        closing = asyncio.create_task(queue.close())
        probe.gate("finishing").set()
        await asyncio.wait_for(closing, timeout=5)

    events = [e["event"] for e in logs]
    assert "job.succeeded" in events and cancelled == [stuck]
    [dropped] = [e for e in logs if e["event"] == "jobs.dropped_on_close"]
    assert dropped["jobs"][0].startswith("test.record:")
    assert [kwargs for _, kwargs in probe.calls] == [{"key": "finishing"}]
    with pytest.raises(QueueClosedError):
        await queue.enqueue("test.record")


async def test_periodic_job_repeats_and_never_overlaps_itself(make_queue: QueueFactory) -> None:
    registry = TaskRegistry()
    runs: list[float] = []
    state = {"running": 0, "max_running": 0}

    @registry.periodic("test.tick", every_seconds=0.02, run_at_startup=True)
    async def tick(ctx: JobContext) -> None:
        runs.append(time.monotonic())
        state["running"] += 1
        state["max_running"] = max(state["max_running"], state["running"])
        if len(runs) == 1:
            await asyncio.sleep(0.1)  # a slow run spanning several periods
        state["running"] -= 1

    queue = make_queue(registry, concurrency=2)
    await queue.start()
    await wait_until(lambda: len(runs) >= 3)
    await queue.close()

    assert state["max_running"] == 1
    assert runs[1] - runs[0] >= 0.1  # the ticks during the slow run were skipped, not queued up
