"""Organization: the tenant every owned row points at."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from answerdesk.kit.db import Base, CreatedAtMixin, IdMixin


class Organization(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "organization"

    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Billing (billing/): NULL plan = the operator's default plan (ANSWERDESK_DEFAULT_PLAN), so organizations
    # made before plans existed, or on a self-hosted instance, are not limited by surprise.
    plan_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("plan.id", ondelete="RESTRICT"), default=None, index=True
    )
    # Monthly billing periods start on this day and time of the month (NULL: the organization's creation).
    period_anchor: Mapped[datetime | None] = mapped_column(default=None)
    # A subscription's current period (Stripe sets both); outside it, periods follow period_anchor.
    current_period_start: Mapped[datetime | None] = mapped_column(default=None)
    current_period_end: Mapped[datetime | None] = mapped_column(default=None)
    # Set by an instance operator: the widget and API keys answer 403; members may still log in and read.
    suspended_at: Mapped[datetime | None] = mapped_column(default=None)
    suspended_reason: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None
