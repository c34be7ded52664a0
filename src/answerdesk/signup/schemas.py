"""What a sign-up form sends, and what an operator's new invitation returns."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class SignupCreate(BaseModel):
    organization_name: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=200)
    email: EmailStr
    password: str = Field(max_length=200)
    invite_code: str | None = Field(default=None, max_length=100)


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    prefix: str
    note: str
    email: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
