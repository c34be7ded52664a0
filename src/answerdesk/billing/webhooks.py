"""Applying a verified Stripe webhook event exactly once.

The event's id is inserted first, in the same transaction as everything the event changes: a crash
leaves neither, a replay finds the id and changes nothing, and a concurrent duplicate delivery waits on
the id's unique key and then fails it (rolled back whole) instead of applying the event twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError

from answerdesk.billing.repository import StripeEventRepository
from answerdesk.billing.stripe_service import HANDLED_EVENTS, EventApplier, StripeUnavailable
from answerdesk.integrations.stripe import CheckoutSession, Event, StripeError
from answerdesk.integrations.stripe import Subscription as StripeSubscription
from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class WebhookOutcome:
    duplicate: bool
    outcome: str


async def _seen(runtime: Runtime, event_id: str) -> bool:
    async with session_scope(runtime.sessionmaker) as db:
        return await StripeEventRepository(db).exists(event_id)


async def _fetch(runtime: Runtime, event: Event) -> StripeSubscription | None:
    """The subscription a completed Checkout made, read from Stripe before the transaction opens."""
    if event.type != "checkout.session.completed" or runtime.stripe is None:
        return None
    subscription_id = CheckoutSession.from_stripe(event.object).subscription_id
    if not subscription_id or await _seen(runtime, event.id):
        return None
    try:
        return await runtime.stripe.retrieve_subscription(subscription_id)
    except StripeError as exc:
        if exc.unavailable:
            # Not stored: Stripe delivers the event again later.
            raise StripeUnavailable(exc.message) from exc
        log.warning(
            "billing.checkout_subscription_missing", subscription_id=subscription_id, error=exc.message
        )
        return None


async def process_event(runtime: Runtime, event: Event) -> WebhookOutcome:
    fetched = await _fetch(runtime, event)
    try:
        async with session_scope(runtime.sessionmaker) as db:
            events = StripeEventRepository(db)
            if await events.exists(event.id):
                return WebhookOutcome(duplicate=True, outcome="already applied")
            row = await events.record(event.id, event.type)
            applier = EventApplier(db, runtime.settings, runtime.jobs)
            if event.type in HANDLED_EVENTS:
                outcome = await applier.apply(event, fetched)
            else:
                outcome = "ignored: not an event Answerdesk uses"
            row.outcome = outcome[:200]
            row.organization_id = applier.organization_id
    except IntegrityError:
        if await _seen(runtime, event.id):
            return WebhookOutcome(duplicate=True, outcome="already applied")
        raise
    log.info("billing.stripe_event", event_id=event.id, type=event.type, outcome=outcome)
    return WebhookOutcome(duplicate=False, outcome=outcome)
