"""Per-organization widget appearance (stored under the organization's ``widget`` settings key)."""

from __future__ import annotations

import enum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from answerdesk.languages.texts import UI_LANGUAGES

SETTINGS_KEY = "widget"
MAX_SUGGESTIONS = 4
MAX_SUGGESTION_CHARS = 80


class FieldMode(enum.StrEnum):
    off = "off"
    optional = "optional"
    required = "required"


class PreChatFields(BaseModel):
    """Which details the visitor gives before the first message; all off means no form at all."""

    model_config = ConfigDict(extra="ignore")

    name: FieldMode = FieldMode.off
    email: FieldMode = FieldMode.off
    phone: FieldMode = FieldMode.off

    @property
    def enabled(self) -> bool:
        return any(mode != FieldMode.off for mode in (self.name, self.email, self.phone))


class WidgetSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    position: Literal["bottom-right", "bottom-left"] = "bottom-right"
    color: str = Field(default="#2563eb", pattern=r"^#[0-9a-fA-F]{6}$")
    title: str = Field(default="Chat with us", min_length=1, max_length=60)
    avatar_url: str | None = Field(default=None, max_length=500)
    welcome_message: str = Field(
        default="Hi! Ask me anything about our services.", max_length=500, description="Empty: none"
    )
    suggestions: list[str] = Field(default_factory=list, max_length=MAX_SUGGESTIONS)
    prechat: PreChatFields = Field(default_factory=PreChatFields)
    language: str = Field(
        default="auto",
        description="The widget's own texts: 'auto' (the visitor's browser) or one of "
        + ", ".join(UI_LANGUAGES),
    )

    @field_validator("title", "welcome_message", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        value = value.strip().lower() if isinstance(value, str) else value
        if value != "auto" and value not in UI_LANGUAGES:
            raise ValueError(f"use 'auto' or one of {', '.join(UI_LANGUAGES)}")
        return value

    @field_validator("avatar_url", mode="before")
    @classmethod
    def _avatar(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None
        parts = urlsplit(value)
        # Shown as an <img> on customers' sites: only web addresses, never javascript: or data: URLs.
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("use an http:// or https:// image address")
        return value

    @field_validator("suggestions", mode="before")
    @classmethod
    def _suggestions(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.splitlines()
        if isinstance(value, list):
            value = [s.strip() for s in value if isinstance(s, str) and s.strip()] + [
                s for s in value if not isinstance(s, str)
            ]
        return value

    @field_validator("suggestions")
    @classmethod
    def _suggestion_length(cls, value: list[str]) -> list[str]:
        for s in value:
            if len(s) > MAX_SUGGESTION_CHARS:
                raise ValueError(f"each suggestion has at most {MAX_SUGGESTION_CHARS} characters")
        return value


def widget_settings_of(org_settings: dict[str, Any] | None) -> WidgetSettings:
    """The stored group; values that no longer validate (an older version's) fall back to defaults."""
    stored = (org_settings or {}).get(SETTINGS_KEY) or {}
    try:
        return WidgetSettings.model_validate(stored)
    except ValueError:
        valid = {}
        for name, value in stored.items():
            try:
                WidgetSettings.model_validate({name: value})
            except ValueError:
                continue
            valid[name] = value
        return WidgetSettings.model_validate(valid)
