"""The pricing table's rows, read from the configured plans (billing) and shaped for the landing page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class PricingPlan:
    slug: str
    name: str
    price: str  # "Free", "$49"
    answers: str  # "100", "Unlimited"
    chunks: str
    seats: str
    features: list[tuple[str, bool]]


def money(cents: int, currency: str) -> str:
    if cents == 0:
        return "Free"
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower())
    amount = f"{cents / 100:,.2f}".removesuffix(".00")
    return f"{symbol}{amount}" if symbol else f"{amount} {currency.upper()}"


def limit(value: int | None) -> str:
    return "Unlimited" if value is None else f"{value:,}"


async def pricing_plans(db: AsyncSession) -> list[PricingPlan]:
    return []
