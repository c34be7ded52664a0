"""The process runtime: models loaded before the first message, the start-up heap frozen."""

from __future__ import annotations

import gc

from answerdesk.runtime import Runtime


async def test_warm_up_loads_the_models_and_freezes_the_heap(runtime: Runtime) -> None:
    gc.unfreeze()
    try:
        await runtime.warm_up()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the test process keeps collecting what later tests leave behind
    assert runtime._embedder is not None and runtime._query_batcher is not None
    assert (await runtime.embedder()) is (await runtime.embedder())
    assert (await runtime.sentiment()).analyze(["The site is down again!"])[0].label == "negative"
