"""Background jobs: register tasks once, run them in-process (embedded) or on Redis with arq (at scale).

`answerdesk.kit.jobs.worker` (the arq worker) is imported on its own: it needs the Runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from answerdesk.kit.jobs.after_commit import enqueue_after_commit
from answerdesk.kit.jobs.arq_queue import DEFAULT_QUEUE_NAME, ArqQueue
from answerdesk.kit.jobs.base import (
    JobContext,
    JobQueue,
    QueueClosedError,
    RetryableJobError,
    UnknownTaskError,
)
from answerdesk.kit.jobs.inprocess import InProcessQueue
from answerdesk.kit.jobs.registry import (
    TASK_MODULES,
    Schedule,
    TaskRegistry,
    TaskSpec,
    load_task_modules,
    periodic,
    registry,
    task,
)

if TYPE_CHECKING:
    from answerdesk.runtime import Runtime

__all__ = [
    "DEFAULT_QUEUE_NAME",
    "TASK_MODULES",
    "ArqQueue",
    "InProcessQueue",
    "JobContext",
    "JobQueue",
    "QueueClosedError",
    "RetryableJobError",
    "Schedule",
    "TaskRegistry",
    "TaskSpec",
    "UnknownTaskError",
    "build_queue",
    "enqueue_after_commit",
    "load_task_modules",
    "periodic",
    "registry",
    "task",
]


def build_queue(
    runtime: Runtime,
    *,
    redis_url: str | None,
    concurrency: int = 2,
    timeout_seconds: float = 1800.0,
    shutdown_seconds: float = 10.0,
) -> JobQueue:
    """arq on Redis when `redis_url` is set (workers run the jobs), else the in-process runner."""
    if redis_url:
        return ArqQueue(redis_url)
    load_task_modules()
    return InProcessQueue(
        runtime,
        concurrency=concurrency,
        timeout_seconds=timeout_seconds,
        shutdown_seconds=shutdown_seconds,
    )
