"""Backoff timing and Retry-After parsing (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from answerdesk.integrations.llm.retry import RetryPolicy, backoff_delay, retry_after_seconds

POLICY = RetryPolicy(base_delay=0.5, max_delay=4.0, max_retry_after=10.0)


@pytest.mark.parametrize(("retry_index", "ceiling"), [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0)])
def test_backoff_grows_exponentially_up_to_the_cap(retry_index: int, ceiling: float) -> None:
    assert backoff_delay(POLICY, retry_index, rand=lambda: 0.0) == ceiling / 2
    assert backoff_delay(POLICY, retry_index, rand=lambda: 1.0) == ceiling


def test_backoff_is_jittered() -> None:
    delays = {backoff_delay(POLICY, 2) for _ in range(20)}
    assert len(delays) > 1
    assert all(1.0 <= d <= 2.0 for d in delays)


def test_retry_after_wins_over_backoff_but_is_capped() -> None:
    assert backoff_delay(POLICY, 0, retry_after=3.0) == 3.0
    assert backoff_delay(POLICY, 0, retry_after=600.0) == 10.0
    assert backoff_delay(POLICY, 0, retry_after=-1.0) == 0.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "1"}, 0.25),
        ({"Retry-After": "Sat, 21 Nov 2026 10:00:30 GMT"}, 30.0),
        ({"Retry-After": "Sat, 21 Nov 2026 09:00:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"retry-after-ms": "x"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], expected: float | None) -> None:
    now = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(headers, now=now) == expected
