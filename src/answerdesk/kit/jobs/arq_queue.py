"""The Redis backend's producer side: jobs go to arq, `answerdesk worker` processes run them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings

from answerdesk.kit import metrics
from answerdesk.kit.jobs.base import QueueClosedError, check_job_kwargs, log

DEFAULT_QUEUE_NAME = "answerdesk:jobs"


def dumps(value: Any) -> bytes:
    # JSON rather than arq's default pickle: a job read from Redis can then never run code.
    # repr() only ever applies to failure results (exceptions), which nobody reads back.
    return json.dumps(value, default=repr, separators=(",", ":")).encode()


def loads(data: bytes) -> Any:
    return json.loads(data)


async def connect(redis_url: str, queue_name: str = DEFAULT_QUEUE_NAME) -> ArqRedis:
    return await create_pool(
        RedisSettings.from_dsn(redis_url),
        job_serializer=dumps,
        job_deserializer=loads,
        default_queue_name=queue_name,
    )


class ArqQueue:
    """Enqueues on Redis through arq; a job id is unique while the job is queued, retrying or running."""

    def __init__(self, redis_url: str, *, queue_name: str = DEFAULT_QUEUE_NAME) -> None:
        self._redis_url = redis_url
        self.queue_name = queue_name
        self._pool: ArqRedis | None = None
        self._connecting = asyncio.Lock()
        self._sending: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        await self._connect()

    async def enqueue(
        self, name: str, /, *, job_id: str | None = None, defer_seconds: float | None = None, **kwargs: Any
    ) -> str:
        if self._closed:
            raise QueueClosedError(f"the job queue is closed; {name!r} was not queued")
        return await self._send(name, job_id, defer_seconds, kwargs)

    def enqueue_nowait(
        self, name: str, /, *, job_id: str | None = None, defer_seconds: float | None = None, **kwargs: Any
    ) -> None:
        if self._closed:
            log().error("job.enqueue_failed", task=name, job_id=job_id, error="the job queue is closed")
            return
        sending = asyncio.get_running_loop().create_task(
            self._enqueue_logged(name, job_id, defer_seconds, kwargs), name=f"answerdesk-enqueue-{name}"
        )
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)

    async def queued(self) -> int:
        # arq keeps a job in its queue (a sorted set) from enqueue until it finishes, running or not.
        pool = await self._connect()
        return int(await pool.zcard(self.queue_name))

    async def close(self) -> None:
        """Finishes sending what enqueue_nowait started, then disconnects."""
        self._closed = True
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
        if self._pool is not None:
            await self._pool.aclose(close_connection_pool=True)
            self._pool = None

    async def _enqueue_logged(
        self, name: str, job_id: str | None, defer_seconds: float | None, kwargs: dict[str, Any]
    ) -> None:
        try:
            await self._send(name, job_id, defer_seconds, kwargs)
        except Exception as exc:
            log().error("job.enqueue_failed", task=name, job_id=job_id, error=str(exc))

    async def _send(
        self, name: str, job_id: str | None, defer_seconds: float | None, kwargs: dict[str, Any]
    ) -> str:
        payload = check_job_kwargs(name, kwargs)
        pool = await self._connect()
        job = await pool.enqueue_job(name, _job_id=job_id, _defer_by=defer_seconds or None, **payload)
        if job is None:
            # arq returns None only when a job with this id exists, so job_id is set here.
            log().debug("job.duplicate", job_id=job_id, task=name)
            return str(job_id)
        metrics.JOBS_ENQUEUED.labels(name).inc()
        log().debug("job.enqueued", job_id=job.job_id, task=name, defer_seconds=defer_seconds)
        return job.job_id

    async def _connect(self) -> ArqRedis:
        async with self._connecting:
            if self._pool is None:
                self._pool = await connect(self._redis_url, self.queue_name)
            return self._pool
