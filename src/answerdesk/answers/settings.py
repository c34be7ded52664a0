"""Per-organization AI settings (stored under the organization's ``ai`` settings key) and their defaults."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from answerdesk.config import Settings
from answerdesk.integrations.llm import CompletionParams

SETTINGS_KEY = "ai"
MAX_SYSTEM_PROMPT_CHARS = 8000
# Calibrated with bench/answer_thresholds.py on the demo knowledge base (160 labelled questions):
# cosine >= 0.47 answers 4.8 % of out-of-scope questions and refuses 19 % of in-scope ones (mostly bare
# follow-ups like "prices?"); an FAQ question at >= 0.88 gave 100 % precision, 60 % recall on paraphrases.
DEFAULT_RELEVANCE_THRESHOLD = 0.47
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
    relevance_threshold: float = Field(default=DEFAULT_RELEVANCE_THRESHOLD, ge=0.0, le=1.0)
    faq_threshold: float = Field(default=DEFAULT_FAQ_THRESHOLD, ge=0.0, le=1.0)

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
    stored = (org_settings or {}).get(SETTINGS_KEY) or {}
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
