"""Running one attempt of a task the same way on both backends: timeout, logs, and the retry decision."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import structlog

from answerdesk.kit import metrics
from answerdesk.kit.error_reporting import report_exception
from answerdesk.kit.jobs.base import JobContext, RetryableJobError, log
from answerdesk.kit.jobs.registry import TaskSpec

MAX_RETRY_DELAY_SECONDS = 300.0


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended: `error` is None on success; `retry_in` is set when it should run again."""

    error: Exception | None = None
    retry_in: float | None = None


def retry_delay(attempt: int, base_seconds: float, cap_seconds: float = MAX_RETRY_DELAY_SECONDS) -> float:
    """Exponential backoff after failed attempt number `attempt` (1-based): base, 2x base, 4x base ..."""
    return float(min(cap_seconds, base_seconds * 2 ** (attempt - 1)))


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def execute(
    spec: TaskSpec,
    ctx: JobContext,
    kwargs: dict[str, Any],
    *,
    timeout_seconds: float | None,
    retry_base_seconds: float,
) -> Outcome:
    """Runs one attempt; task errors are logged and returned, never raised (cancellation still is)."""
    timeout = spec.timeout_seconds if spec.timeout_seconds is not None else timeout_seconds
    fields = {"job_id": ctx.job_id, "task": ctx.name, "attempt": ctx.attempt}
    started = time.monotonic()
    running = metrics.JOBS_RUNNING.labels(ctx.name)
    running.inc()
    try:
        outcome = await _attempt(spec, ctx, kwargs, timeout, retry_base_seconds, fields, started)
    finally:
        running.dec()
    status = "succeeded" if outcome.error is None else "retried" if outcome.retry_in is not None else "failed"
    metrics.JOBS_FINISHED.labels(ctx.name, status).inc()
    return outcome


async def _attempt(
    spec: TaskSpec,
    ctx: JobContext,
    kwargs: dict[str, Any],
    timeout: float | None,  # noqa: ASYNC109 - the task's own limit, applied with asyncio.timeout below
    retry_base_seconds: float,
    fields: dict[str, Any],
    started: float,
) -> Outcome:
    # Bound so that whatever the task logs carries the job id too.
    with structlog.contextvars.bound_contextvars(job_id=ctx.job_id, task=ctx.name):
        try:
            async with asyncio.timeout(timeout):
                await spec.fn(ctx, **kwargs)
        except Exception as exc:
            seconds = round(time.monotonic() - started, 3)
            error = f"timed out after {timeout}s" if isinstance(exc, TimeoutError) else describe(exc)
            if spec.is_retryable(exc) and ctx.attempt < spec.max_attempts:
                delay = (
                    exc.defer_seconds
                    if isinstance(exc, RetryableJobError) and exc.defer_seconds is not None
                    else retry_delay(ctx.attempt, retry_base_seconds)
                )
                log().warning("job.retrying", **fields, error=error, retry_in=delay, seconds=seconds)
                return Outcome(error=exc, retry_in=delay)
            log().error("job.failed", **fields, error=error, seconds=seconds, exc_info=exc)
            report_exception(exc)
            return Outcome(error=exc)
    log().info("job.succeeded", **fields, seconds=round(time.monotonic() - started, 3))
    return Outcome()
