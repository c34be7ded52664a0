"""Stripe adapter: the official SDK behind :class:`BillingGateway`, webhook verification (no DB, no rules)."""

from answerdesk.integrations.stripe.client import StripeGateway
from answerdesk.integrations.stripe.errors import StripeError, StripeSignatureError, StripeWebhookError
from answerdesk.integrations.stripe.protocol import BillingGateway
from answerdesk.integrations.stripe.schemas import (
    CheckoutSession,
    Event,
    Invoice,
    PortalSession,
    Subscription,
)
from answerdesk.integrations.stripe.webhooks import DEFAULT_TOLERANCE_SECONDS, verify_event

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "BillingGateway",
    "CheckoutSession",
    "Event",
    "Invoice",
    "PortalSession",
    "StripeError",
    "StripeGateway",
    "StripeSignatureError",
    "StripeWebhookError",
    "Subscription",
    "verify_event",
]
