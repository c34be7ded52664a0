"""API schemas for users, memberships, API keys and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from answerdesk.auth.models import ApiKeyKind, Role, Scope


class UserCreate(BaseModel):
    email: EmailStr
    name: str = Field(default="", max_length=200)
    role: Role = Role.staff
    password: str | None = Field(default=None, max_length=200)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    is_active: bool | None = None


class MemberRead(BaseModel):
    """A user as seen by one organization: the user plus their role there."""

    id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    last_login_at: datetime | None
    membership_id: uuid.UUID
    created_at: datetime


class MemberCreated(BaseModel):
    user: MemberRead
    password: str | None = Field(default=None, description="Shown once, when it was generated")


class MembershipCreate(BaseModel):
    email: EmailStr
    role: Role = Role.staff


class PasswordReset(BaseModel):
    password: str


class ApiKeyCreate(BaseModel):
    name: str = Field(default="", max_length=200)
    kind: ApiKeyKind = ApiKeyKind.secret
    scopes: list[Scope] | None = Field(
        default=None, max_length=20, description="Secret keys only; default all"
    )
    allowed_origins: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list, max_length=50)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        from answerdesk.auth.origins import normalise_origin

        return [normalise_origin(v) for v in values]


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: ApiKeyKind
    prefix: str
    scopes: list[str]
    allowed_origins: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(BaseModel):
    api_key: ApiKeyRead
    key: str = Field(description="The full key; shown only in this response")


class AuditLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action: str
    actor_user_id: uuid.UUID | None
    target: str
    ip: str
    details: dict[str, Any]
    created_at: datetime
