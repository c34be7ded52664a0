"""Plan and usage schemas."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

PLAN_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class PlanFields(BaseModel):
    """What the operator sets on a plan; every field optional, so one model serves create and update."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    price_cents: int | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[a-z]{3}$")
    stripe_price_id: str | None = Field(default=None, max_length=255)
    answers_per_month: int | None = Field(default=None, ge=0)
    chunks_limit: int | None = Field(default=None, ge=0)
    seats_limit: int | None = Field(default=None, ge=1)
    feature_whmcs: bool | None = None
    feature_live_chat: bool | None = None
    feature_remove_branding: bool | None = None
    feature_api_access: bool | None = None
    is_public: bool | None = None
    sort_order: int | None = None


class PlanCreate(PlanFields):
    slug: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=100)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        value = value.strip().lower()
        if not PLAN_SLUG_RE.match(value):
            raise ValueError("use lowercase letters, digits and dashes (1-63 characters)")
        return value


class PlanUpdate(PlanFields):
    """Only the fields given change; ``unlimited`` names limits to clear (answers, chunks, seats)."""

    unlimited: set[str] = Field(default_factory=set)

    @field_validator("unlimited")
    @classmethod
    def _limits(cls, value: set[str]) -> set[str]:
        unknown = value - set(LIMIT_FIELDS)
        if unknown:
            raise ValueError(f"not a limit: {', '.join(sorted(unknown))} (use {', '.join(LIMIT_FIELDS)})")
        return value


LIMIT_FIELDS = ("answers_per_month", "chunks_limit", "seats_limit")


class PlanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    price_cents: int
    currency: str
    stripe_price_id: str | None
    answers_per_month: int | None
    chunks_limit: int | None
    seats_limit: int | None
    feature_whmcs: bool
    feature_live_chat: bool
    feature_remove_branding: bool
    feature_api_access: bool
    is_public: bool
    sort_order: int


class UsageRead(BaseModel):
    """An organization's plan and how much of it this period has used; limits are null when unlimited."""

    plan: str
    period_start: datetime
    period_end: datetime
    answers_used: int
    answers_limit: int | None
    chunks_used: int
    chunks_limit: int | None
    seats_used: int
    seats_limit: int | None

    @staticmethod
    def share(used: int, limit: int | None) -> float | None:
        """Used / limit (0..1+), None when unlimited; a limit of 0 is full at once."""
        if limit is None:
            return None
        return 1.0 if limit == 0 else used / limit

    @property
    def answers_share(self) -> float | None:
        return self.share(self.answers_used, self.answers_limit)

    @property
    def chunks_share(self) -> float | None:
        return self.share(self.chunks_used, self.chunks_limit)

    @property
    def seats_share(self) -> float | None:
        return self.share(self.seats_used, self.seats_limit)
