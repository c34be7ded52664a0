"""SSE framing of streamed Chat Completions bodies (pure)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from answerdesk.integrations.llm.sse import event_data


async def lines_of(*lines: str, read: list[str] | None = None) -> AsyncIterator[str]:
    for line in lines:
        if read is not None:
            read.append(line)
        yield line


async def collect(lines: AsyncIterator[str]) -> list[str]:
    return [data async for data in event_data(lines)]


async def test_data_of_each_event_skipping_comments_and_other_fields() -> None:
    body = lines_of(
        ": OPENROUTER PROCESSING", "", "event: message", "id: 1", 'data: {"a": 1}', "", 'data:{"b": 2}', ""
    )
    assert await collect(body) == ['{"a": 1}', '{"b": 2}']


async def test_multi_line_data_is_joined_with_newlines() -> None:
    assert await collect(lines_of("data: {", 'data: "a": 1}', "")) == ['{\n"a": 1}']


async def test_done_ends_the_events_but_the_body_is_read_to_its_end() -> None:
    read: list[str] = []
    body = lines_of('data: {"a": 1}', "", "data: [DONE]", "", 'data: {"late": 1}', "", read=read)
    assert await collect(body) == ['{"a": 1}']
    assert read[-1] == ""  # drained: the connection can go back to the pool


async def test_a_last_event_without_its_blank_line_still_counts() -> None:
    assert await collect(lines_of('data: {"a": 1}')) == ['{"a": 1}']


async def test_a_page_that_is_not_sse_has_no_events() -> None:
    assert await collect(lines_of("<html>", "<body>Bad gateway</body>", "</html>")) == []
