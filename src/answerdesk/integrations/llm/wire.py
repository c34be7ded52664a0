"""Validation of the Chat Completions wire format, and token estimates when a server gives no usage."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from pydantic import BaseModel, Field, ValidationError

from answerdesk.integrations.llm.errors import LLMBadResponse, LLMUnavailable
from answerdesk.integrations.llm.schemas import ChatMessage

# Only the fields we use are declared; the rest of the payload is ignored.


class WireUsage(BaseModel):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)


class _Message(BaseModel):
    content: str | None = None


class _Choice(BaseModel):
    message: _Message
    finish_reason: str | None = None


class WireCompletion(BaseModel):
    model: str | None = None
    choices: list[_Choice] = Field(min_length=1)
    usage: WireUsage | None = None


class _Delta(BaseModel):
    content: str | None = None


class _ChunkChoice(BaseModel):
    delta: _Delta = Field(default_factory=_Delta)
    finish_reason: str | None = None


class WireChunk(BaseModel):
    model: str | None = None
    choices: list[_ChunkChoice] = Field(default_factory=list)
    usage: WireUsage | None = None


def parse_completion(body: bytes, *, model: str) -> WireCompletion:
    """A non-streaming response body; ``LLMBadResponse`` when it is not a chat completion."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LLMBadResponse(f"{model}: response is not JSON ({_excerpt(body)})", model=model) from exc
    _raise_embedded_error(data, model)
    try:
        return WireCompletion.model_validate(data)
    except ValidationError as exc:
        raise LLMBadResponse(
            f"{model}: response is not a chat completion ({_excerpt(body)})", model=model
        ) from exc


def parse_chunk(data: object, *, model: str) -> WireChunk:
    """One decoded SSE ``data`` payload; ``LLMBadResponse`` when it is not a chat completion chunk."""
    _raise_embedded_error(data, model)
    try:
        return WireChunk.model_validate(data)
    except ValidationError as exc:
        raise LLMBadResponse(f"{model}: stream chunk is not a chat completion chunk", model=model) from exc


def _raise_embedded_error(data: object, model: str) -> None:
    # OpenRouter reports upstream failures as {"error": {...}} even with a 200 status.
    if isinstance(data, dict) and isinstance(data.get("error"), dict) and not data.get("choices"):
        message = data["error"].get("message") or "upstream error"
        raise LLMUnavailable(f"{model}: {message}", model=model)


def _excerpt(body: bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return repr(text + ("…" if len(body) > limit else ""))


def estimate_tokens(text: str) -> int:
    """Roughly four characters per token for English text; good enough for quotas and logs."""
    return math.ceil(len(text) / 4)


def estimate_prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    # Each message carries a few tokens of role and separator overhead.
    return sum(estimate_tokens(m.content) + 4 for m in messages)
