"""Errors the Stripe adapter raises, each with a message an admin can read."""

from __future__ import annotations


class StripeError(Exception):
    """Stripe refused the call or could not be reached; ``message`` is fit for a flash message."""

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code

    @property
    def unavailable(self) -> bool:
        """Stripe (or the network) failed, rather than refusing what we asked: worth retrying later."""
        return self.status_code is None or self.status_code >= 500 or self.status_code == 429


class StripeWebhookError(Exception):
    """A webhook delivery we cannot accept: its body is not a Stripe event."""

    code = "bad_webhook"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StripeSignatureError(StripeWebhookError):
    """A webhook whose Stripe-Signature header is missing, malformed, stale or wrong."""

    code = "bad_signature"
