"""Organization schemas and the validated shape of an organization's settings."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from answerdesk.kit.timezones import canonical_timezone

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class OrganizationSettings(BaseModel):
    """General settings; other areas add their own groups under their own keys."""

    model_config = ConfigDict(extra="ignore")

    support_email: EmailStr | None = None
    timezone: str = Field(default="UTC", max_length=64)
    default_language: str = Field(default="en", min_length=2, max_length=8)
    brand_color: str = Field(default="#2563eb", pattern=r"^#[0-9a-fA-F]{6}$")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return canonical_timezone(value)


class OrganizationCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(default=None, max_length=63)


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    settings: OrganizationSettings | None = None


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    slug: str
    created_at: datetime
    settings: OrganizationSettings
