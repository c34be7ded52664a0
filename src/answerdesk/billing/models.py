"""Plans the operator manages, and each organization's usage per billing period."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from answerdesk.kit.db import Base, CreatedAtMixin, IdMixin, TenantMixin, utcnow


class Feature(enum.StrEnum):
    """What a plan may switch on; each is a boolean column ``feature_<name>`` of the plan."""

    whmcs = "whmcs"  # connect WHMCS (ticket sync, drafts)
    live_chat = "live_chat"  # staff take over conversations
    remove_branding = "remove_branding"  # the widget without "Powered by Answerdesk"
    api_access = "api_access"  # secret API keys (server-to-server)


FEATURE_LABELS: dict[Feature, str] = {
    Feature.whmcs: "WHMCS connection",
    Feature.live_chat: "Live chat with your team",
    Feature.remove_branding: "Remove the widget's branding",
    Feature.api_access: "API access with secret keys",
}


class Plan(IdMixin, CreatedAtMixin, Base):
    """A row the operator manages. A limit of NULL means unlimited."""

    __tablename__ = "plan"

    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # In the smallest unit of the currency (cents); what the pricing table shows. Stripe charges its price.
    price_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(sa.String(3), default="usd")
    stripe_price_id: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    answers_per_month: Mapped[int | None] = mapped_column(default=None)
    chunks_limit: Mapped[int | None] = mapped_column(default=None)
    seats_limit: Mapped[int | None] = mapped_column(default=None)
    feature_whmcs: Mapped[bool] = mapped_column(default=False)
    feature_live_chat: Mapped[bool] = mapped_column(default=False)
    feature_remove_branding: Mapped[bool] = mapped_column(default=False)
    feature_api_access: Mapped[bool] = mapped_column(default=False)
    # Shown on the public pricing table; an operator's custom plan for one customer is not.
    is_public: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    def has(self, feature: Feature) -> bool:
        return bool(getattr(self, f"feature_{feature.value}"))

    @property
    def features(self) -> list[Feature]:
        return [f for f in Feature if self.has(f)]


class UsagePeriod(IdMixin, TenantMixin, Base):
    """An organization's AI answers in one billing period; the counter every replica updates atomically."""

    __tablename__ = "usage_period"
    __table_args__ = (sa.UniqueConstraint("organization_id", "period_start"),)

    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    answers_used: Mapped[int] = mapped_column(default=0)
    # When the admins were told the period passed 80 % (set once, by whoever crossed it first).
    warned_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
