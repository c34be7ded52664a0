"""LLM adapter: one OpenAI-compatible provider (OpenRouter by default) behind the LLMProvider protocol."""

from answerdesk.integrations.llm.errors import (
    LLMBadResponse,
    LLMError,
    LLMRejected,
    LLMTimeout,
    LLMUnavailable,
)
from answerdesk.integrations.llm.openai_compatible import (
    OPENROUTER_BASE_URL,
    OpenAICompatibleProvider,
    attribution_headers,
)
from answerdesk.integrations.llm.protocol import LLMProvider
from answerdesk.integrations.llm.schemas import (
    ChatMessage,
    Completion,
    CompletionParams,
    StreamDone,
    StreamEvent,
    TokenDelta,
)

__all__ = [
    "OPENROUTER_BASE_URL",
    "ChatMessage",
    "Completion",
    "CompletionParams",
    "LLMBadResponse",
    "LLMError",
    "LLMProvider",
    "LLMRejected",
    "LLMTimeout",
    "LLMUnavailable",
    "OpenAICompatibleProvider",
    "StreamDone",
    "StreamEvent",
    "TokenDelta",
    "attribution_headers",
]
