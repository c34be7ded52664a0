"""What goes into and comes out of an LLM provider: messages, parameters, completions, stream events."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class CompletionParams(BaseModel):
    """Sampling parameters; ``None`` leaves the choice to the server."""

    model_config = ConfigDict(frozen=True)

    model: str = Field(min_length=1)
    fallback_model: str | None = Field(default=None, description="Tried once when `model` is unavailable")
    temperature: float | None = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)


class Completion(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    model: str = Field(description="The model that answered (as the server reports it)")
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    latency_ms: float = Field(ge=0, description="From the request to the last byte of the answer")
    finish_reason: str | None = None
    usage_estimated: bool = Field(default=False, description="Token counts guessed: the server gave none")
    first_token_ms: float | None = Field(default=None, description="Streaming only: time to the first token")


class TokenDelta(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["token"] = "token"
    text: str


class StreamDone(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["done"] = "done"
    completion: Completion


StreamEvent = TokenDelta | StreamDone
