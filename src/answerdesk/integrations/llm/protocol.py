"""The interface the answer pipeline depends on, so any LLM implementation can be plugged in."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Protocol

from answerdesk.integrations.llm.schemas import ChatMessage, Completion, CompletionParams, StreamEvent


class LLMProvider(Protocol):
    async def complete(self, messages: Sequence[ChatMessage], params: CompletionParams) -> Completion:
        """The whole answer at once; raises an ``LLMError`` subclass."""
        ...

    def stream(
        self, messages: Sequence[ChatMessage], params: CompletionParams
    ) -> AsyncGenerator[StreamEvent, None]:
        """``TokenDelta`` events then one ``StreamDone``; raises an ``LLMError`` subclass.

        Close the iterator when you stop early (``contextlib.aclosing``) so generation stops.
        """
        ...
