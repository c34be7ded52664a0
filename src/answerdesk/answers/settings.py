"""Per-organization AI settings (stored under the organization's ``ai`` settings key) and their defaults."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from answerdesk.config import Settings
from answerdesk.integrations.llm import CompletionParams

SETTINGS_KEY = "ai"
MAX_SYSTEM_PROMPT_CHARS = 8000
# The relevance threshold is the cut on the relevance gate's probability that the knowledge base answers
# the question (answers/gate.py). The gate is class-balanced (0.5 weighs both mistakes alike); 0.4 leans to
# answering, since a needless "I don't know" was the complaint: on the held-out two-page knowledge base it
# refuses 3.4 % of in-scope questions and 4.5 % of out-of-scope ones get answered (bench/answer_thresholds.py
# shows 0.3-0.6). Before the gate the threshold was a cosine, 0.47 by default, which every saved AI settings
# page stored: that old default reads as today's; any other stored value in 0..1 is kept as the cut, so
# "higher refuses more" still holds.
DEFAULT_RELEVANCE_THRESHOLD = 0.4
LEGACY_DEFAULT_RELEVANCE_THRESHOLD = 0.47
# Cosine of the customer's question and an FAQ question at which the FAQ answer is sent as written.
DEFAULT_FAQ_THRESHOLD = 0.88


class AiSettings(BaseModel):
    """What staff may change on the AI Settings page; ``None`` model fields fall back to instance settings."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = Field(default=None, max_length=200, description="Empty: the instance default")
    fallback_model: str | None = Field(default=None, max_length=200)
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(default=600, ge=16, le=8000)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    system_prompt: str = Field(default="", max_length=MAX_SYSTEM_PROMPT_CHARS, description="Empty: ours")
    answer_language: str = Field(default="auto", min_length=2, max_length=32)
    retrieval_k: int = Field(default=5, ge=1, le=20)
    relevance_threshold: float = Field(
        default=DEFAULT_RELEVANCE_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="How sure the relevance gate must be (0..1) that the knowledge base answers a question",
    )
    faq_threshold: float = Field(
        default=DEFAULT_FAQ_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="Cosine of the question and an FAQ question at which the FAQ answer is sent as written",
    )

    @field_validator("model", "fallback_model", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("answer_language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = value.strip()
        if value.lower() == "auto":
            return "auto"
        if not all(c.isalpha() or c in " -" for c in value):
            raise ValueError("use 'auto', a language name (e.g. 'German') or a code (e.g. 'de')")
        return value


def ai_settings_of(org_settings: dict[str, Any] | None) -> AiSettings:
    """The stored group; values that no longer validate (an older version's) fall back to defaults."""
    stored = dict((org_settings or {}).get(SETTINGS_KEY) or {})
    if stored.get("relevance_threshold") == LEGACY_DEFAULT_RELEVANCE_THRESHOLD:
        stored["relevance_threshold"] = DEFAULT_RELEVANCE_THRESHOLD
    try:
        return AiSettings.model_validate(stored)
    except ValueError:
        valid = {}
        for name, value in stored.items():
            try:
                AiSettings.model_validate({name: value})
            except ValueError:
                continue
            valid[name] = value
        return AiSettings.model_validate(valid)


def completion_params(ai: AiSettings, settings: Settings) -> CompletionParams:
    model = ai.model or settings.llm_model
    fallback = ai.fallback_model or settings.llm_fallback_model
    return CompletionParams(
        model=model,
        fallback_model=fallback if fallback != model else None,
        temperature=ai.temperature,
        max_tokens=ai.max_tokens,
        top_p=ai.top_p,
    )
