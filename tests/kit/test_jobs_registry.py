"""Task registry, argument checks, backoff and cron periods: the pure parts of the job runner."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from answerdesk.kit.jobs import (
    ArqQueue,
    InProcessQueue,
    JobContext,
    RetryableJobError,
    TaskRegistry,
    UnknownTaskError,
    build_queue,
)
from answerdesk.kit.jobs.base import check_job_kwargs
from answerdesk.kit.jobs.execution import retry_delay
from answerdesk.kit.jobs.worker import cron_fields
from answerdesk.runtime import Runtime
from tests.conftest import REDIS_JOBS_TEST_URL


async def ingest(ctx: JobContext, *, document_id: str) -> None:
    return None


async def other(ctx: JobContext, **kwargs: Any) -> None:
    return None


def test_registry_holds_tasks_and_their_retry_policy() -> None:
    registry = TaskRegistry()
    registry.register("knowledge.ingest", ingest, retries=2, retry_on=(ConnectionError,), timeout_seconds=60)

    spec = registry.get("knowledge.ingest")
    assert (spec.fn, spec.max_attempts, spec.timeout_seconds) == (ingest, 3, 60)
    assert spec.is_retryable(RetryableJobError("later")) and spec.is_retryable(ConnectionResetError())
    assert not spec.is_retryable(ValueError("bad input"))
    assert "knowledge.ingest" in registry and "knowledge.other" not in registry
    with pytest.raises(UnknownTaskError, match=r"knowledge\.other"):
        registry.get("knowledge.other")


def test_decorators_register_tasks_and_schedules() -> None:
    registry = TaskRegistry()
    decorated = registry.task("knowledge.ingest", retries=0)(ingest)
    registry.periodic("whmcs.sync_all", every_seconds=60, run_at_startup=True)(other)

    assert decorated is ingest and registry.get("knowledge.ingest").max_attempts == 1
    assert [(s.name, s.every_seconds, s.run_at_startup) for s in registry.schedules()] == [
        ("whmcs.sync_all", 60, True)
    ]
    assert [s.name for s in registry.tasks()] == ["knowledge.ingest", "whmcs.sync_all"]


def test_registry_refuses_bad_names_and_a_second_function_for_a_name() -> None:
    registry = TaskRegistry()
    registry.register("knowledge.ingest", ingest)
    assert registry.register("knowledge.ingest", ingest).fn is ingest  # the same function again is fine
    with pytest.raises(ValueError, match="already registered"):
        registry.register("knowledge.ingest", other)
    for bad in ("ingest", "Knowledge.Ingest", "knowledge.", "knowledge ingest"):
        with pytest.raises(ValueError, match=r"domain\.verb"):
            registry.register(bad, other)
    with pytest.raises(ValueError, match="positive"):
        registry.periodic("whmcs.sync_all", every_seconds=0)


def test_job_arguments_must_be_json_and_come_back_as_json() -> None:
    assert check_job_kwargs("knowledge.ingest", {"ids": ("a", "b"), "n": 1}) == {"ids": ["a", "b"], "n": 1}
    with pytest.raises(TypeError, match="ids as strings"):
        check_job_kwargs("knowledge.ingest", {"document_id": uuid.uuid4()})
    for reserved in ("_job_id", "function"):
        with pytest.raises(TypeError, match=reserved):
            check_job_kwargs("knowledge.ingest", {reserved: "x"})
    with pytest.raises(TypeError, match="JSON"):
        check_job_kwargs("knowledge.ingest", {"score": float("nan")})


def test_retry_delay_doubles_up_to_a_cap() -> None:
    assert [retry_delay(n, 2.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert retry_delay(30, 2.0) == 300.0
    assert retry_delay(3, 1.0, cap_seconds=3.0) == 3.0


@pytest.mark.parametrize(
    ("every", "fields"),
    [
        (1, {"second": set(range(60))}),
        (15, {"second": {0, 15, 30, 45}}),
        (60, {"minute": set(range(60)), "second": 0}),
        (600, {"minute": {0, 10, 20, 30, 40, 50}, "second": 0}),
        (3600, {"hour": set(range(24)), "minute": 0, "second": 0}),
        (6 * 3600, {"hour": {0, 6, 12, 18}, "minute": 0, "second": 0}),
        (86400, {"hour": {0}, "minute": 0, "second": 0}),
    ],
)
def test_cron_fields_for_periods_that_divide_a_minute_hour_or_day(every: int, fields: dict[str, Any]) -> None:
    assert cron_fields(every) == fields


@pytest.mark.parametrize("every", [0.5, 7, 45, 90, 7200 + 60, 5 * 3600, 2 * 86400])
def test_cron_fields_refuse_periods_cron_cannot_express(every: float) -> None:
    with pytest.raises(ValueError, match=r"divide|whole"):
        cron_fields(every)


def test_build_queue_picks_arq_with_redis_and_in_process_without(runtime: Runtime) -> None:
    assert isinstance(build_queue(runtime, redis_url=None), InProcessQueue)
    arq_queue = build_queue(runtime, redis_url=REDIS_JOBS_TEST_URL)
    assert isinstance(arq_queue, ArqQueue)
