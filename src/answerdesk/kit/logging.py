"""Structured logs (structlog): JSON in production, readable in a terminal."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import structlog


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    return structlog.PrintLogger(sys.stderr)


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.format_exc_info,
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # stderr, so command output (e.g. `kb search --json`) stays clean on stdout; looked up per logger,
        # not once, so a stream swapped and closed since (a CLI test runner's) is never written to.
        logger_factory=_stderr_logger,
        # No caching: create_app may reconfigure (tests build many apps) and loggers must follow.
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), format="%(message)s", stream=sys.stderr)


def log_task_failure(task: asyncio.Future[Any], event: str, **fields: object) -> None:
    """A done callback's body for a background task nobody may await: its failure is logged (and so marked
    retrieved), not left to the event loop's "exception was never retrieved"."""
    if not task.cancelled() and (error := task.exception()) is not None:
        structlog.get_logger(__name__).error(event, error=repr(error), **fields)
