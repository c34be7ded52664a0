"""Our models of the Stripe objects we use, parsed from Stripe's wire format (API answers and events).

Parsing is lenient about API versions: since 2025 a subscription's period sits on its items and a
price replaces the legacy plan, so both places are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int | float) and value else None


def _id(value: Any) -> str | None:
    """An expandable field: an id, or the expanded object carrying one."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return None


def _metadata(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _first_item(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    items = obj.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        return data[0]
    return {}


class Subscription(BaseModel):
    id: str
    customer_id: str | None = None
    status: str
    price_id: str | None = None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False
    metadata: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_stripe(cls, obj: Mapping[str, Any]) -> Subscription:
        item = _first_item(obj)
        price = item.get("price") or item.get("plan") or obj.get("plan")
        return cls(
            id=str(obj["id"]),
            customer_id=_id(obj.get("customer")),
            status=str(obj.get("status") or "incomplete"),
            price_id=_id(price),
            current_period_start=_ts(item.get("current_period_start") or obj.get("current_period_start")),
            current_period_end=_ts(item.get("current_period_end") or obj.get("current_period_end")),
            cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
            metadata=_metadata(obj.get("metadata")),
        )


class CheckoutSession(BaseModel):
    id: str
    url: str | None = None
    status: str | None = None
    mode: str | None = None
    customer_id: str | None = None
    subscription_id: str | None = None
    client_reference_id: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_stripe(cls, obj: Mapping[str, Any]) -> CheckoutSession:
        return cls(
            id=str(obj["id"]),
            url=obj.get("url"),
            status=obj.get("status"),
            mode=obj.get("mode"),
            customer_id=_id(obj.get("customer")),
            subscription_id=_id(obj.get("subscription")),
            client_reference_id=obj.get("client_reference_id"),
            metadata=_metadata(obj.get("metadata")),
        )


class PortalSession(BaseModel):
    id: str
    url: str


class Invoice(BaseModel):
    id: str
    number: str | None = None
    status: str | None = None
    customer_id: str | None = None
    subscription_id: str | None = None
    currency: str = "usd"
    amount_due: int = 0
    amount_paid: int = 0
    created: datetime | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None
    # When Stripe tries again after a failed payment (None: no more attempts).
    next_payment_attempt: datetime | None = None

    @classmethod
    def from_stripe(cls, obj: Mapping[str, Any]) -> Invoice:
        parent = obj.get("parent")
        details = parent.get("subscription_details") if isinstance(parent, Mapping) else None
        subscription = obj.get("subscription") or (
            details.get("subscription") if isinstance(details, Mapping) else None
        )
        return cls(
            id=str(obj["id"]),
            number=obj.get("number"),
            status=obj.get("status"),
            customer_id=_id(obj.get("customer")),
            subscription_id=_id(subscription),
            currency=str(obj.get("currency") or "usd"),
            amount_due=int(obj.get("amount_due") or 0),
            amount_paid=int(obj.get("amount_paid") or 0),
            created=_ts(obj.get("created")),
            period_start=_ts(obj.get("period_start")),
            period_end=_ts(obj.get("period_end")),
            hosted_invoice_url=obj.get("hosted_invoice_url"),
            invoice_pdf=obj.get("invoice_pdf"),
            next_payment_attempt=_ts(obj.get("next_payment_attempt")),
        )


class Event(BaseModel):
    """A verified webhook event: its id (what makes a delivery unique), type, and the object it carries."""

    id: str
    type: str
    created: datetime
    object: dict[str, Any]
    livemode: bool = False

    @classmethod
    def from_stripe(cls, obj: Mapping[str, Any]) -> Event:
        data = obj.get("data")
        inner = data.get("object") if isinstance(data, Mapping) else None
        if not isinstance(obj.get("id"), str) or not isinstance(obj.get("type"), str):
            raise ValueError("an event needs an id and a type")
        if not isinstance(inner, Mapping):
            raise ValueError("an event needs data.object")
        created = _ts(obj.get("created"))
        if created is None:
            raise ValueError("an event needs its created time")
        return cls(
            id=obj["id"],
            type=obj["type"],
            created=created,
            object=dict(inner),
            livemode=bool(obj.get("livemode")),
        )
