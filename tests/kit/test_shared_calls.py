"""Concurrent calls for one key share one run; later calls start a new one."""

from __future__ import annotations

import asyncio

import pytest

from answerdesk.kit.shared_calls import SharedCalls


class Work:
    def __init__(self) -> None:
        self.runs = 0
        self.release = asyncio.Event()

    async def __call__(self) -> int:
        self.runs += 1
        await self.release.wait()
        return self.runs


async def test_concurrent_callers_share_one_run_and_later_ones_start_another() -> None:
    calls: SharedCalls[str, int] = SharedCalls()
    work = Work()
    waiting = [asyncio.ensure_future(calls.run("org", work)) for _ in range(5)]
    await asyncio.sleep(0)
    work.release.set()
    assert await asyncio.gather(*waiting) == [1] * 5
    assert work.runs == 1
    assert await calls.run("org", work) == 2  # the run ended: nothing is kept beyond it


async def test_keys_do_not_share() -> None:
    calls: SharedCalls[str, int] = SharedCalls()
    first, second = Work(), Work()
    a = asyncio.ensure_future(calls.run("a", first))
    b = asyncio.ensure_future(calls.run("b", second))
    await asyncio.sleep(0)
    first.release.set()
    second.release.set()
    assert await asyncio.gather(a, b) == [1, 1]
    assert (first.runs, second.runs) == (1, 1)


async def test_a_cancelled_caller_leaves_the_run_to_the_others() -> None:
    calls: SharedCalls[str, int] = SharedCalls()
    work = Work()
    leaving = asyncio.ensure_future(calls.run("org", work))
    staying = asyncio.ensure_future(calls.run("org", work))
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.sleep(0)
    work.release.set()
    assert await staying == 1
    assert leaving.cancelled()


async def test_an_error_reaches_every_caller_and_is_not_kept() -> None:
    calls: SharedCalls[str, int] = SharedCalls()
    attempts = 0

    async def failing() -> int:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("database down")

    results = await asyncio.gather(*(calls.run("org", failing) for _ in range(3)), return_exceptions=True)
    assert [str(r) for r in results] == ["database down"] * 3
    assert attempts == 1
    with pytest.raises(RuntimeError):
        await calls.run("org", failing)
    assert attempts == 2
