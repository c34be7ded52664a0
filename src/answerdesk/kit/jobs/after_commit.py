"""Jobs enqueued only once the database transaction that asked for them has committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from answerdesk.kit.jobs.base import JobQueue, check_job_kwargs, log

_PENDING = "answerdesk.jobs.after_commit"


@dataclass(frozen=True)
class _Pending:
    queue: JobQueue
    name: str
    job_id: str | None
    defer_seconds: float | None
    kwargs: dict[str, Any]
    transaction: SessionTransaction


def enqueue_after_commit(
    session: AsyncSession | Session,
    queue: JobQueue,
    name: str,
    /,
    *,
    job_id: str | None = None,
    defer_seconds: float | None = None,
    **kwargs: Any,
) -> None:
    """Enqueues the job when `session` commits; a rollback (of the savepoint it was asked in) drops it.

    So a job never runs against rows that were rolled back, nor before the rows it needs are visible.
    Arguments are checked now, so a bad one fails the request rather than the commit.
    """
    kwargs = check_job_kwargs(name, kwargs)
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    # An explicit transaction, so that a rollback before any SQL still fires the rollback event.
    transaction = sync.get_nested_transaction() or sync.get_transaction() or sync.begin()
    pending: list[_Pending] | None = sync.info.get(_PENDING)
    if pending is None:
        pending = sync.info[_PENDING] = []
        event.listen(sync, "after_commit", _on_commit)
        event.listen(sync, "after_soft_rollback", _on_rollback)
    pending.append(_Pending(queue, name, job_id, defer_seconds, kwargs, transaction))


def _on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the outer transaction may still roll back
    pending: list[_Pending] = session.info[_PENDING]
    ready, pending[:] = list(pending), []
    for job in ready:
        try:
            job.queue.enqueue_nowait(
                job.name, job_id=job.job_id, defer_seconds=job.defer_seconds, **job.kwargs
            )
        except Exception as exc:
            # The data is committed whatever happens here; failing the commit would only hide that.
            log().error("job.enqueue_failed", task=job.name, job_id=job.job_id, error=str(exc))


def _on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Pending] = session.info[_PENDING]
    kept = [job for job in pending if not _within(job.transaction, previous_transaction)]
    if len(kept) != len(pending):
        log().debug("jobs.discarded_on_rollback", tasks=[j.name for j in pending if j not in kept])
    pending[:] = kept


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
