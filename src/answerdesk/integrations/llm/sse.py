"""Server-Sent Events framing of a streamed Chat Completions body: the data of each event, as text."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable

DONE = "[DONE]"


async def event_data(lines: AsyncIterable[str]) -> AsyncGenerator[str, None]:
    """The ``data`` of each event (multi-line data joined by newlines), until ``data: [DONE]``.

    Comments, ``event:``, ``id:`` and ``retry:`` fields and anything that is not SSE (an HTML error page)
    are skipped. After ``[DONE]`` the rest of the body is still read, so the connection can be reused.
    """
    data: list[str] = []
    done = False
    async for line in lines:
        if done:
            continue
        if not line:
            if data:
                payload = "\n".join(data)
                data = []
                if payload.startswith(DONE):
                    done = True
                    continue
                yield payload
            continue
        if line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data and not done:  # a body that ends without the blank line after its last event
        payload = "\n".join(data)
        if not payload.startswith(DONE):
            yield payload
