"""POST /webhooks/stripe: public, and checked by its Stripe signature instead of a login."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from answerdesk.auth.deps import RuntimeDep
from answerdesk.billing.stripe_service import BillingDisabled
from answerdesk.billing.webhooks import process_event
from answerdesk.integrations.stripe import StripeWebhookError, verify_event
from answerdesk.kit.errors import BadRequest

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post(
    "/stripe",
    summary="Stripe webhook endpoint",
    description=(
        "Stripe sends subscription and invoice events here. Each request must carry a valid "
        "`Stripe-Signature` (the endpoint's signing secret, ANSWERDESK_STRIPE_WEBHOOK_SECRET). "
        "An event already applied answers 200 with `duplicate: true` and changes nothing."
    ),
)
async def stripe_webhook(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    secret = runtime.settings.stripe_webhook_secret
    if secret is None or not secret.get_secret_value():
        raise BillingDisabled("Stripe webhooks are not configured here (ANSWERDESK_STRIPE_WEBHOOK_SECRET).")
    payload = await request.body()
    try:
        event = verify_event(payload, request.headers.get("stripe-signature"), secret.get_secret_value())
    except StripeWebhookError as exc:
        raise BadRequest(exc.message, code=exc.code) from None
    result = await process_event(runtime, event)
    return {"received": True, "id": event.id, "duplicate": result.duplicate, "outcome": result.outcome}
