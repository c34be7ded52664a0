"""Billing page: the organization's plan and this period's usage (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from answerdesk.admin.deps import OrgAdmin
from answerdesk.admin.templating import render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.billing.models import FEATURE_LABELS
from answerdesk.billing.service import BillingService
from answerdesk.tenants.service import OrganizationService

router = APIRouter(prefix="/admin/billing", include_in_schema=False)


@router.get("")
async def billing_page(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    billing = BillingService(db, runtime.settings)
    org = await OrganizationService(db).get(ctx.organization.id)
    plan = await billing.get_plan_for_org(org)
    usage = await billing.usage(org)
    meters = [
        ("AI answers this period", usage.answers_used, usage.answers_limit, usage.answers_share),
        ("Knowledge (passages)", usage.chunks_used, usage.chunks_limit, usage.chunks_share),
        ("Seats (active members)", usage.seats_used, usage.seats_limit, usage.seats_share),
    ]
    return render(
        request,
        "billing/index.html",
        plan=plan,
        usage=usage,
        meters=meters,
        features=[(label, plan.has(feature)) for feature, label in FEATURE_LABELS.items()],
        warning_ratio=runtime.settings.usage_warning_ratio,
        plans=[p for p in await billing.list_plans() if p.is_public or p.id == plan.id],
    )
