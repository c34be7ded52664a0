"""Verifying a webhook's Stripe-Signature header (the SDK's check) and reading the event it carries."""

from __future__ import annotations

import json

import stripe

from answerdesk.integrations.stripe.errors import StripeSignatureError, StripeWebhookError
from answerdesk.integrations.stripe.schemas import Event

# Stripe's own default: a signed payload older than this is refused, so a captured one cannot be replayed.
DEFAULT_TOLERANCE_SECONDS = 300


def verify_event(
    payload: bytes, signature_header: str | None, secret: str, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS
) -> Event:
    """The event in ``payload``, once its signature (``t=…,v1=HMAC-SHA256 of "t.payload"``) checks out."""
    if not signature_header:
        raise StripeSignatureError("The Stripe-Signature header is missing.")
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature_header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise StripeSignatureError(f"The Stripe signature was refused: {exc.user_message or exc}") from None
    except UnicodeDecodeError:
        raise StripeWebhookError("The webhook body is not UTF-8 text.") from None
    try:
        body = json.loads(payload)
        if not isinstance(body, dict):
            raise ValueError("not an object")
        return Event.from_stripe(body)
    except ValueError as exc:
        # Signed, yet unreadable: refused as bad input rather than half-applied.
        raise StripeWebhookError(f"The webhook body is not a Stripe event ({exc}).") from None
