"""Billing page: the organization's plan and this period's usage (admins only); with Stripe billing on,
upgrading through Stripe Checkout, the Customer Portal ("Manage billing") and the invoices."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from answerdesk.admin.deps import OrgAdmin
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.billing.models import FEATURE_LABELS
from answerdesk.billing.service import BillingService
from answerdesk.billing.stripe_service import ENDED, UNPAID, StripeBilling
from answerdesk.integrations.stripe import Invoice
from answerdesk.kit.errors import AppError
from answerdesk.tenants.models import Organization
from answerdesk.tenants.service import OrganizationService

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/admin/billing", include_in_schema=False)
PAGE = "/admin/billing"

# Where Stripe Checkout sends the browser back (?checkout=…): said once, as a flash message.
CHECKOUT_FLASH = {
    "success": (
        "Thank you! Your payment went through; the new plan shows here as soon as Stripe confirms it.",
        "success",
    ),
    "cancelled": ("Checkout cancelled: nothing was charged and your plan is unchanged.", "info"),
}


@router.get("")
async def billing_page(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    back_from_checkout = CHECKOUT_FLASH.get(request.query_params.get("checkout", ""))
    if back_from_checkout is not None:
        message, level = back_from_checkout
        return redirect(PAGE, flash=message, level=level)
    billing = BillingService(db, runtime.settings)
    org = await OrganizationService(db).get(ctx.organization.id)
    plan = await billing.get_plan_for_org(org)
    usage = await billing.usage(org)
    meters = [
        ("AI answers this period", usage.answers_used, usage.answers_limit, usage.answers_share),
        ("Knowledge (passages)", usage.chunks_used, usage.chunks_limit, usage.chunks_share),
        ("Seats (active members)", usage.seats_used, usage.seats_limit, usage.seats_share),
    ]
    stripe = StripeBilling(db, runtime.settings, runtime.stripe)
    return render(
        request,
        "billing/stripe.html" if stripe.enabled else "billing/index.html",
        plan=plan,
        usage=usage,
        meters=meters,
        features=[(label, plan.has(feature)) for feature, label in FEATURE_LABELS.items()],
        warning_ratio=runtime.settings.usage_warning_ratio,
        plans=[p for p in await billing.list_plans() if p.is_public or p.id == plan.id],
        **(await _stripe_context(stripe, org) if stripe.enabled else {}),
    )


async def _stripe_context(stripe: StripeBilling, org: Organization) -> dict[str, Any]:
    subscription = await stripe.subscription(org.id)
    invoices: list[Invoice] = []
    invoices_error: str | None = None
    try:
        invoices = await stripe.invoices(org.id)
    except AppError as exc:
        # The page still shows the plan and usage; only the invoices wait for Stripe.
        invoices_error = exc.message
    live = subscription is not None and bool(subscription.stripe_subscription_id)
    return {
        "subscription": subscription,
        "live_subscription": live and subscription is not None and subscription.status not in ENDED,
        "past_due": subscription is not None and subscription.status in UNPAID,
        "can_manage": subscription is not None and bool(subscription.stripe_customer_id),
        "invoices": invoices,
        "invoices_error": invoices_error,
    }


@router.post("/checkout")
async def checkout(
    ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep, plan: Annotated[str, Form(max_length=63)]
) -> Response:
    org = await OrganizationService(db).get(ctx.organization.id)
    try:
        url = await StripeBilling(db, runtime.settings, runtime.stripe).checkout_url(
            org, plan, email=ctx.email
        )
    except AppError as exc:
        log.info("billing.checkout_refused", organization_id=str(org.id), error=exc.message)
        return redirect(PAGE, flash=exc.message, level="error")
    # Stripe's hosted page is on Stripe's domain: a plain redirect.
    return RedirectResponse(url, status_code=303)


@router.post("/portal")
async def portal(ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    try:
        url = await StripeBilling(db, runtime.settings, runtime.stripe).portal_url(ctx.organization.id)
    except AppError as exc:
        return redirect(PAGE, flash=exc.message, level="error")
    return RedirectResponse(url, status_code=303)
