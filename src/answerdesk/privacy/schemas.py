"""Requests and answers of the privacy API, and the organization's privacy settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SETTINGS_KEY = "privacy"
MAX_RETENTION_DAYS = 36_500


def normalise_email(value: str) -> str:
    """E-mail addresses are matched without case or surrounding blanks."""
    return value.strip().lower()


class CustomerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = normalise_email(value)
        local, at, domain = value.rpartition("@")
        if not at or not local or not domain or any(c.isspace() for c in value):
            raise ValueError("must be an e-mail address")
        return value


class ErasureRead(BaseModel):
    """What was erased: rows deleted by kind, and rows elsewhere whose text quoted the customer."""

    email_hash: str
    conversations: int
    messages: int
    ratings: int
    tickets: int
    ticket_messages: int
    drafts: int
    faq_documents: int
    scrubbed: dict[str, int]


class PrivacySettings(BaseModel):
    """Stored under the organization's settings["privacy"]."""

    model_config = ConfigDict(extra="ignore")

    # Conversations and native tickets with no activity for this many days are deleted nightly; None: kept.
    retention_days: int | None = Field(default=None, ge=1, le=MAX_RETENTION_DAYS)


class RetentionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retention_days: int | None = Field(default=None, ge=1, le=MAX_RETENTION_DAYS)


class OrganizationExportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    size_bytes: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None


class OrganizationDeleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The organization's name, typed by the admin: deleting is irreversible.
    confirm_name: str = Field(min_length=1, max_length=200)


class OrganizationDeleted(BaseModel):
    organization_id: uuid.UUID
    rows: dict[str, int]
    stored_objects: int


CustomerExport = dict[str, Any]
