"""JSON API: the calling organization's plan and usage."""

from __future__ import annotations

from fastapi import APIRouter

from answerdesk.auth.deps import AdminPrincipal, DbSession, RuntimeDep
from answerdesk.billing.schemas import UsageRead
from answerdesk.billing.service import BillingService
from answerdesk.tenants.service import OrganizationService

router = APIRouter(prefix="/billing", tags=["billing"])


@router.get("/usage", response_model=UsageRead)
async def get_usage(principal: AdminPrincipal, db: DbSession, runtime: RuntimeDep) -> UsageRead:
    org = await OrganizationService(db).get(principal.organization_id)
    return await BillingService(db, runtime.settings).usage(org)
