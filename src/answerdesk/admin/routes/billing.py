"""Billing page: the plan and its usage, upgrading through Stripe Checkout, the Customer Portal, invoices."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from answerdesk.admin.deps import OrgAdmin
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.billing.service import BillingService
from answerdesk.billing.stripe_service import ENDED, UNPAID, StripeBilling
from answerdesk.integrations.stripe import Invoice
from answerdesk.kit.errors import AppError
from answerdesk.tenants.service import OrganizationService

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/admin/billing", include_in_schema=False)
PAGE = "/admin/billing"

CHECKOUT_FLASH = {
    "success": (
        "Thank you! Your payment went through; the new plan shows here as soon as Stripe confirms it.",
        "success",
    ),
    "cancelled": ("Checkout cancelled: nothing was charged and your plan is unchanged.", "info"),
}


@router.get("")
async def billing_page(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    checkout = request.query_params.get("checkout")
    if checkout in CHECKOUT_FLASH:
        message, level = CHECKOUT_FLASH[checkout]
        return redirect(PAGE, flash=message, level=level)
    org = await OrganizationService(db).get(ctx.organization.id)
    billing = BillingService(db, runtime.settings)
    stripe = StripeBilling(db, runtime.settings, runtime.stripe)
    plan = await billing.get_plan_for_org(org)
    usage = await billing.usage(org)
    subscription = await stripe.subscription(org.id)
    invoices: list[Invoice] = []
    invoices_error: str | None = None
    try:
        invoices = await stripe.invoices(org.id)
    except AppError as exc:
        # The page still shows the plan and usage; only the invoices wait for Stripe.
        invoices_error = exc.message
    live = (
        subscription is not None and subscription.stripe_subscription_id and subscription.status not in ENDED
    )
    return render(
        request,
        "billing/index.html",
        plan=plan,
        usage=usage,
        plans=await billing.list_plans(),
        upgrades=await stripe.upgrade_plans() if stripe.enabled else [],
        billing_enabled=stripe.enabled,
        subscription=subscription,
        live_subscription=bool(live),
        past_due=subscription is not None and subscription.status in UNPAID,
        can_manage=stripe.enabled and subscription is not None and bool(subscription.stripe_customer_id),
        invoices=invoices,
        invoices_error=invoices_error,
    )


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
    # Stripe's hosted page lives on Stripe's domain: a plain redirect, not an htmx swap.
    return RedirectResponse(url, status_code=303)


@router.post("/portal")
async def portal(ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    try:
        url = await StripeBilling(db, runtime.settings, runtime.stripe).portal_url(ctx.organization.id)
    except AppError as exc:
        return redirect(PAGE, flash=exc.message, level="error")
    return RedirectResponse(url, status_code=303)
