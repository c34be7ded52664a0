"""Stripe billing rules: upgrading through Checkout, the Customer Portal, invoices, and what each webhook
event does to an organization's plan (past due → a grace period → the Free plan).

A webhook event is applied in one transaction together with storing its id (billing/webhooks.py); what
it needs from Stripe is read before that transaction opens, so no lock is held while Stripe answers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.billing.models import Subscription, SubscriptionStatus
from answerdesk.billing.repository import PlanRepository, SubscriptionRepository
from answerdesk.billing.service import BillingService
from answerdesk.config import Settings
from answerdesk.integrations.stripe import BillingGateway, Event, Invoice, StripeError
from answerdesk.integrations.stripe import Subscription as StripeSubscription
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import AppError, Conflict, NotFound, ValidationFailed
from answerdesk.kit.jobs import JobQueue, enqueue_after_commit
from answerdesk.tenants.models import Organization

log = structlog.get_logger(__name__)

NOTICE_TASK = "billing.send_notice"
GRACE_TASK = "billing.end_grace_periods"
FREE_PLAN = "free"
# Statuses in which the customer has paid for the plan their price names.
PAID = frozenset({SubscriptionStatus.active, SubscriptionStatus.trialing})
UNPAID = frozenset({SubscriptionStatus.past_due, SubscriptionStatus.unpaid})
ENDED = frozenset({SubscriptionStatus.canceled, SubscriptionStatus.incomplete_expired})

HANDLED_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
    }
)


class BillingDisabled(AppError):
    status_code = 404
    code = "billing_disabled"


class StripeUnavailable(AppError):
    """Stripe failed or could not be reached; the message says so, fit for a flash message."""

    status_code = 502
    code = "stripe_error"


def stripe_failure(exc: StripeError) -> AppError:
    if exc.unavailable:
        return StripeUnavailable(exc.message, details={"stripe_code": exc.code})
    return ValidationFailed(exc.message, details={"stripe_code": exc.code}, code="stripe_refused")


@dataclass(frozen=True)
class Notice:
    """What to tell an organization's admins by e-mail (sent by a job after the commit)."""

    kind: str  # payment_failed | payment_recovered | downgraded | canceled | upgraded
    plan: str = ""
    until: datetime | None = None


class StripeBilling:
    """Upgrades, the portal and invoices for the admin page (each a Stripe call behind the gateway)."""

    def __init__(self, db: AsyncSession, settings: Settings, gateway: BillingGateway | None) -> None:
        self.db = db
        self.settings = settings
        self.gateway = gateway
        self.subscriptions = SubscriptionRepository(db)
        self.plans = PlanRepository(db)

    @property
    def enabled(self) -> bool:
        return self.gateway is not None

    def _gateway(self) -> BillingGateway:
        if self.gateway is None:
            raise BillingDisabled(
                "Billing is off on this server: the operator sets each organization's plan."
            )
        return self.gateway

    async def subscription(self, organization_id: uuid.UUID) -> Subscription | None:
        return await self.subscriptions.for_org(organization_id)

    async def checkout_url(self, org: Organization, plan_slug: str, *, email: str) -> str:
        """A Stripe Checkout page for the plan; the subscription reaches us through the webhook."""
        gateway = self._gateway()
        plan = await self.plans.by_slug(plan_slug)
        if plan is None or not plan.stripe_price_id or not plan.is_public:
            raise NotFound(f"No plan {plan_slug!r} can be bought here.")
        current = await self.subscriptions.for_org(org.id)
        if current is not None and current.stripe_subscription_id and current.status not in ENDED:
            raise Conflict(
                "This organization already has a subscription; change or cancel it under Manage billing."
            )
        customer_id = current.stripe_customer_id if current is not None else None
        base = self.settings.base_url.rstrip("/")
        metadata = {"organization_id": str(org.id), "plan": plan.slug}
        try:
            if customer_id is None:
                # The same key for the same organization: two quick clicks make one customer, not two.
                customer_id = await gateway.create_customer(
                    email=email,
                    name=org.name,
                    metadata={"organization_id": str(org.id)},
                    idempotency_key=f"answerdesk-customer-{org.id}",
                )
                # Kept even if Checkout then fails (the route still commits): the next try reuses it.
                if current is None:
                    self.subscriptions.add(
                        Subscription(organization_id=org.id, stripe_customer_id=customer_id)
                    )
                else:
                    current.stripe_customer_id = customer_id
                await self.db.flush()
            session = await gateway.create_checkout_session(
                price_id=plan.stripe_price_id,
                customer_id=customer_id,
                client_reference_id=str(org.id),
                metadata=metadata,
                success_url=f"{base}/admin/billing?checkout=success",
                cancel_url=f"{base}/admin/billing?checkout=cancelled",
            )
        except StripeError as exc:
            raise stripe_failure(exc) from exc
        if not session.url:
            raise StripeUnavailable("Stripe made a Checkout session without a page to send you to.")
        return session.url

    async def portal_url(self, organization_id: uuid.UUID) -> str:
        gateway = self._gateway()
        current = await self.subscriptions.for_org(organization_id)
        if current is None or not current.stripe_customer_id:
            raise NotFound("There is nothing to manage yet: choose a plan first.")
        try:
            portal = await gateway.create_portal_session(
                customer_id=current.stripe_customer_id,
                return_url=f"{self.settings.base_url.rstrip('/')}/admin/billing",
            )
        except StripeError as exc:
            raise stripe_failure(exc) from exc
        return portal.url

    async def invoices(self, organization_id: uuid.UUID, limit: int = 12) -> list[Invoice]:
        current = await self.subscriptions.for_org(organization_id)
        if self.gateway is None or current is None or not current.stripe_customer_id:
            return []
        try:
            return await self.gateway.list_invoices(customer_id=current.stripe_customer_id, limit=limit)
        except StripeError as exc:
            raise stripe_failure(exc) from exc


class EventApplier:
    """What one webhook event does; runs inside the transaction that stores the event's id."""

    def __init__(self, db: AsyncSession, settings: Settings, jobs: JobQueue) -> None:
        self.db = db
        self.settings = settings
        self.jobs = jobs
        self.subscriptions = SubscriptionRepository(db)
        self.billing = BillingService(db, settings)
        self.organization_id: uuid.UUID | None = None

    async def apply(self, event: Event, fetched: StripeSubscription | None) -> str:
        """Applies the event; returns what it did (stored with the event, for the operator)."""
        obj = event.object
        if event.type == "checkout.session.completed":
            return await self._checkout_completed(event, fetched)
        if event.type.startswith("customer.subscription."):
            sub = StripeSubscription.from_stripe(obj)
            if event.type == "customer.subscription.deleted":
                sub = sub.model_copy(update={"status": SubscriptionStatus.canceled})
            account = await self._account(sub.metadata.get("organization_id"), sub.customer_id)
            if account is None:
                return "ignored: no organization for this subscription"
            return await self._sync(account, sub, event.created, event.id)
        if event.type in ("invoice.paid", "invoice.payment_failed"):
            invoice = Invoice.from_stripe(obj)
            account = await self._account(None, invoice.customer_id)
            if account is None:
                return "ignored: no organization for this customer"
            if account.stripe_subscription_id and invoice.subscription_id not in (
                None,
                account.stripe_subscription_id,
            ):
                return "ignored: invoice of another subscription"
            if event.type == "invoice.paid":
                return await self._paid(account, event)
            return await self._payment_failed(account, event, invoice)
        return "ignored: not an event Answerdesk uses"

    async def _account(self, org_ref: str | None, customer_id: str | None) -> Subscription | None:
        """The organization's subscription row (made if needed), by the customer or the metadata's org id."""
        account = await self.subscriptions.by_customer(customer_id) if customer_id else None
        if account is None and org_ref:
            try:
                org_id = uuid.UUID(org_ref)
            except ValueError:
                return None
            if await self.db.get(Organization, org_id) is None:
                return None
            account = await self.subscriptions.for_org(org_id, for_update=True)
            if account is None:
                account = self.subscriptions.add(Subscription(organization_id=org_id))
            if customer_id and account.stripe_customer_id in (None, customer_id):
                account.stripe_customer_id = customer_id
        if account is not None:
            self.organization_id = account.organization_id
        return account

    async def _checkout_completed(self, event: Event, fetched: StripeSubscription | None) -> str:
        obj = event.object
        if obj.get("mode") != "subscription":
            return "ignored: not a subscription checkout"
        ref = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("organization_id")
        customer = obj.get("customer") if isinstance(obj.get("customer"), str) else None
        account = await self._account(ref, customer)
        if account is None:
            return "ignored: no organization for this checkout"
        if fetched is None:
            return "linked customer"
        return await self._sync(account, fetched, event.created, event.id)

    async def _sync(self, account: Subscription, sub: StripeSubscription, at: datetime, event_id: str) -> str:
        """Brings the row and the plan in line with a subscription snapshot taken at ``at``."""
        if (
            account.stripe_subscription_id not in (None, sub.id)
            and account.status not in ENDED
            and sub.status in ENDED
        ):
            return "ignored: an older subscription ended"
        if (
            account.synced_at is not None
            and at < account.synced_at
            and account.stripe_subscription_id == sub.id
        ):
            return "ignored: older than the state already applied"
        org = await self.db.get(Organization, account.organization_id, with_for_update=True)
        if org is None:
            return "ignored: organization deleted"
        account.synced_at = at
        account.stripe_subscription_id = sub.id
        account.status = sub.status
        account.cancel_at_period_end = sub.cancel_at_period_end
        if sub.price_id:
            account.stripe_price_id = sub.price_id
        start, end = sub.current_period_start, sub.current_period_end
        if start is not None and end is not None and start < end and sub.status not in ENDED:
            # Usage is counted per Stripe's billing period while the subscription lasts.
            await self.billing.set_period(org, start, end)
        if sub.status in PAID:
            return await self._grant(org, account, event_id)
        if sub.status in UNPAID:
            return self._start_grace(org, account, at, event_id)
        if sub.status in ENDED:
            account.past_due_since = account.grace_ends_at = None
            account.downgraded_at = None
            org.current_period_start = org.current_period_end = None
            before = await self.billing.get_plan_for_org(org)
            await self.billing.set_plan(org, FREE_PLAN)
            if before.slug != FREE_PLAN:
                self._notify(org.id, Notice("canceled", plan=before.name), event_id)
            return f"subscription ended: {before.slug} → {FREE_PLAN}"
        return f"status {sub.status}: plan unchanged"

    async def _grant(self, org: Organization, account: Subscription, event_id: str) -> str:
        """A paid subscription: the plan its price names, and no grace period."""
        recovered = account.past_due_since is not None
        account.past_due_since = account.grace_ends_at = account.downgraded_at = None
        plan = await self.billing.plan_for_price(account.stripe_price_id) if account.stripe_price_id else None
        if plan is None:
            log.warning(
                "billing.unknown_price", price_id=account.stripe_price_id, organization_id=str(org.id)
            )
            return f"active, but no plan has the price {account.stripe_price_id}: plan unchanged"
        before = await self.billing.get_plan_for_org(org)
        if before.id != plan.id or org.plan_id is None:
            await self.billing.set_plan(org, plan.slug)
        if recovered:
            self._notify(org.id, Notice("payment_recovered", plan=plan.name), event_id)
        elif before.id != plan.id:
            self._notify(org.id, Notice("upgraded", plan=plan.name), event_id)
        return f"plan {plan.slug}"

    def _start_grace(self, org: Organization, account: Subscription, at: datetime, event_id: str) -> str:
        if account.past_due_since is not None:
            return f"still past due (grace until {account.grace_ends_at:%Y-%m-%d})"
        account.past_due_since = at
        account.grace_ends_at = at + timedelta(days=self.settings.billing_grace_days)
        self._notify(org.id, Notice("payment_failed", until=account.grace_ends_at), event_id)
        return f"past due: grace until {account.grace_ends_at:%Y-%m-%d %H:%M}"

    async def _paid(self, account: Subscription, event: Event) -> str:
        org = await self.db.get(Organization, account.organization_id, with_for_update=True)
        if org is None:
            return "ignored: organization deleted"
        if account.status in UNPAID or account.past_due_since is not None:
            account.status = SubscriptionStatus.active
            return await self._grant(org, account, event.id)
        return "paid: nothing to change"

    async def _payment_failed(self, account: Subscription, event: Event, invoice: Invoice) -> str:
        org = await self.db.get(Organization, account.organization_id, with_for_update=True)
        if org is None:
            return "ignored: organization deleted"
        if account.status in ENDED or not account.stripe_subscription_id:
            return "ignored: no live subscription"
        if account.status in PAID:
            account.status = SubscriptionStatus.past_due
        return self._start_grace(org, account, event.created, event.id)

    def _notify(self, organization_id: uuid.UUID, notice: Notice, key: str) -> None:
        enqueue_after_commit(
            self.db,
            self.jobs,
            NOTICE_TASK,
            job_id=f"billing-notice:{key}:{notice.kind}",
            organization_id=str(organization_id),
            kind=notice.kind,
            plan=notice.plan,
            until=notice.until.isoformat() if notice.until else "",
        )


async def end_grace_periods(
    db: AsyncSession, settings: Settings, jobs: JobQueue, now: datetime | None = None
) -> int:
    """Moves organizations whose grace period ran out unpaid to the Free plan; returns how many."""
    now = now or utcnow()
    billing = BillingService(db, settings)
    moved = 0
    for account in await SubscriptionRepository(db).grace_ended(now):
        org = await db.get(Organization, account.organization_id, with_for_update=True)
        if org is None:
            continue
        account.downgraded_at = now
        before = await billing.get_plan_for_org(org)
        await billing.set_plan(org, FREE_PLAN)
        moved += 1
        enqueue_after_commit(
            db,
            jobs,
            NOTICE_TASK,
            job_id=f"billing-notice:grace:{account.id}:{now.isoformat()}",
            organization_id=str(org.id),
            kind="downgraded",
            plan=before.name,
            until="",
        )
    return moved
