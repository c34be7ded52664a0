"""The task registry: names mapped to async task functions, their retry policy and their schedules."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from answerdesk.kit.jobs.base import TASK_NAME, RetryableJobError, UnknownTaskError

# Modules whose import registers tasks; the API and `answerdesk worker` both import them.
TASK_MODULES: list[str] = [
    "answerdesk.knowledge.tasks",
    "answerdesk.tickets.tasks",
    "answerdesk.privacy.tasks",
    "answerdesk.gaps.tasks",
    "answerdesk.billing.tasks",
    "answerdesk.analytics.tasks",
]

TaskFn = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=TaskFn)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    fn: TaskFn
    retries: int = 3
    retry_on: tuple[type[Exception], ...] = ()
    timeout_seconds: float | None = None

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    def is_retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, (RetryableJobError, *self.retry_on))


@dataclass(frozen=True)
class Schedule:
    name: str
    every_seconds: float
    run_at_startup: bool = False


class TaskRegistry:
    def __init__(self) -> None:
        self._tasks: dict[str, TaskSpec] = {}
        self._schedules: dict[str, Schedule] = {}

    def register(
        self,
        name: str,
        fn: TaskFn,
        *,
        retries: int = 3,
        retry_on: tuple[type[Exception], ...] = (),
        timeout_seconds: float | None = None,
    ) -> TaskSpec:
        """Registers `async def fn(ctx: JobContext, **kwargs)`; retries apply to retryable errors only."""
        if not TASK_NAME.match(name):
            raise ValueError(f"task names look like 'domain.verb', not {name!r}")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        existing = self._tasks.get(name)
        if existing is not None:
            if existing.fn is fn:
                return existing
            raise ValueError(f"task {name!r} is already registered to {existing.fn.__qualname__}")
        spec = TaskSpec(name, fn, retries, tuple(retry_on), timeout_seconds)
        self._tasks[name] = spec
        return spec

    def task(
        self,
        name: str,
        *,
        retries: int = 3,
        retry_on: tuple[type[Exception], ...] = (),
        timeout_seconds: float | None = None,
    ) -> Callable[[F], F]:
        def decorate(fn: F) -> F:
            self.register(name, fn, retries=retries, retry_on=retry_on, timeout_seconds=timeout_seconds)
            return fn

        return decorate

    def periodic(
        self,
        name: str,
        *,
        every_seconds: float,
        run_at_startup: bool = False,
        retries: int = 0,
        timeout_seconds: float | None = None,
    ) -> Callable[[F], F]:
        """Registers a task taking no arguments that runs every `every_seconds`, never overlapping itself.

        On arq the period becomes a cron schedule, so it must divide a minute, an hour or a day.
        """
        if every_seconds <= 0:
            raise ValueError("every_seconds must be positive")

        def decorate(fn: F) -> F:
            self.register(name, fn, retries=retries, timeout_seconds=timeout_seconds)
            self._schedules[name] = Schedule(name, every_seconds, run_at_startup)
            return fn

        return decorate

    def get(self, name: str) -> TaskSpec:
        try:
            return self._tasks[name]
        except KeyError:
            raise UnknownTaskError(f"no task is registered as {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    def tasks(self) -> list[TaskSpec]:
        return list(self._tasks.values())

    def schedules(self) -> list[Schedule]:
        return list(self._schedules.values())


registry = TaskRegistry()
task = registry.task
periodic = registry.periodic


def load_task_modules(modules: Iterable[str] | None = None) -> None:
    """Imports the modules that register tasks (TASK_MODULES by default); importing twice is free."""
    for module in TASK_MODULES if modules is None else modules:
        importlib.import_module(module)
