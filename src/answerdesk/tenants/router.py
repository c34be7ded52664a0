"""JSON API: the calling organization and its settings."""

from __future__ import annotations

from fastapi import APIRouter

from answerdesk.auth.deps import AdminPrincipal, DbSession
from answerdesk.tenants.schemas import OrganizationRead, OrganizationUpdate
from answerdesk.tenants.service import OrganizationService

router = APIRouter(tags=["organization"])


@router.get("/organization", response_model=OrganizationRead)
async def get_organization(principal: AdminPrincipal, db: DbSession) -> OrganizationRead:
    return OrganizationRead.model_validate(await OrganizationService(db).get(principal.organization_id))


@router.patch("/organization", response_model=OrganizationRead)
async def update_organization(
    body: OrganizationUpdate, principal: AdminPrincipal, db: DbSession
) -> OrganizationRead:
    service = OrganizationService(db)
    org = await service.update(await service.get(principal.organization_id), body)
    return OrganizationRead.model_validate(org)
