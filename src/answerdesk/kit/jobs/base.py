"""What tasks and callers share: the job context, the queue interface, retryable errors, argument checks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import structlog

if TYPE_CHECKING:
    from answerdesk.runtime import Runtime

# Tasks are named "domain.verb" (STYLE.md rule 7), e.g. "knowledge.ingest", "whmcs.sync_all".
TASK_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def log() -> Any:
    # Looked up on each use, not cached at import: a later configure_logging() (every create_app in
    # the tests) then still applies, and structlog.testing.capture_logs sees job logs.
    return structlog.get_logger("answerdesk.jobs")


@dataclass(frozen=True)
class JobContext:
    """Handed to every task: the process's runtime and which run of which job this is."""

    runtime: Runtime
    job_id: str
    name: str
    attempt: int
    max_attempts: int

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


class RetryableJobError(Exception):
    """Raise from a task to have it run again later (up to its `retries`)."""

    def __init__(self, message: str, *, defer_seconds: float | None = None) -> None:
        super().__init__(message)
        self.defer_seconds = defer_seconds


class UnknownTaskError(LookupError):
    """No task is registered under this name."""


class QueueClosedError(RuntimeError):
    """The queue was closed; it takes no more jobs."""


class JobQueue(Protocol):
    """Where callers send jobs; the in-process runner and arq on Redis both implement it."""

    async def enqueue(
        self, name: str, /, *, job_id: str | None = None, defer_seconds: float | None = None, **kwargs: Any
    ) -> str:
        """Queue a run of task `name`; with `job_id`, a job already queued or running is not queued twice."""
        ...

    def enqueue_nowait(
        self, name: str, /, *, job_id: str | None = None, defer_seconds: float | None = None, **kwargs: Any
    ) -> None:
        """Queue from synchronous code on the event loop (a commit hook); failures are logged, not raised."""
        ...

    async def queued(self) -> int:
        """Jobs not finished yet (queued, deferred, waiting to retry or running): the jobs-queued gauge."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def check_job_kwargs(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Returns the arguments as a task will receive them: through JSON, as on Redis."""
    if not TASK_NAME.match(name):
        raise ValueError(f"task names look like 'domain.verb', not {name!r}")
    # arq's enqueue_job takes `function` and `_options` itself.
    reserved = sorted(k for k in kwargs if k.startswith("_") or k == "function")
    if reserved:
        raise TypeError(f"job {name!r}: reserved argument names {reserved} (no '_x', no 'function')")
    try:
        encoded = json.dumps(kwargs, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"job {name!r}: arguments must be JSON values (pass ids as strings): {exc}") from None
    decoded: dict[str, Any] = json.loads(encoded)
    return decoded
