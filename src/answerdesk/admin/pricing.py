"""The pricing table's rows, read from the configured plans (billing) and shaped for the landing page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.billing.models import FEATURE_LABELS
from answerdesk.billing.service import BillingService
from answerdesk.config import Settings


@dataclass(frozen=True)
class PricingPlan:
    slug: str
    name: str
    price: str  # "$0", "$49", "49 CHF"
    answers: str  # "100", "Unlimited"
    chunks: str
    seats: str
    features: list[tuple[str, bool]]


def money(cents: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower())
    amount = f"{cents / 100:,.2f}".removesuffix(".00")
    return f"{symbol}{amount}" if symbol else f"{amount} {currency.upper()}"


def limit(value: int | None) -> str:
    return "Unlimited" if value is None else f"{value:,}"


async def pricing_plans(db: AsyncSession, settings: Settings) -> list[PricingPlan]:
    """The public plans in the operator's order; custom plans made for one customer are not shown."""
    return [
        PricingPlan(
            slug=p.slug,
            name=p.name,
            price=money(p.price_cents, p.currency),
            answers=limit(p.answers_per_month),
            chunks=limit(p.chunks_limit),
            seats=limit(p.seats_limit),
            features=[(label, p.has(feature)) for feature, label in FEATURE_LABELS.items()],
        )
        for p in await BillingService(db, settings).list_plans(public_only=True)
    ]
