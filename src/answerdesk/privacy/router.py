"""JSON API (admin scope): a customer's export and erasure, retention, the organization's export, deletion."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from answerdesk.auth.deps import AdminPrincipal, DbSession, RuntimeDep
from answerdesk.auth.service import Principal
from answerdesk.kit.web import client_ip
from answerdesk.privacy.schemas import (
    CustomerExport,
    CustomerRequest,
    ErasureRead,
    OrganizationDeleted,
    OrganizationDeleteRequest,
    OrganizationExportRead,
    PrivacySettings,
    RetentionUpdate,
)
from answerdesk.privacy.service import (
    Actor,
    CustomerPrivacyService,
    OrganizationDeletionService,
    OrganizationExportService,
    PrivacySettingsService,
)

router = APIRouter(prefix="/privacy", tags=["privacy"])


def actor_of(principal: Principal, request: Request) -> Actor:
    return Actor(user_id=principal.user_id, api_key_id=principal.api_key_id, ip=client_ip(request))


@router.post("/export")
async def export_customer(
    body: CustomerRequest, principal: AdminPrincipal, request: Request, db: DbSession, runtime: RuntimeDep
) -> CustomerExport:
    """Everything held about the customer with this e-mail: contact, conversations, ratings, tickets."""
    service = CustomerPrivacyService(db, runtime)
    return await service.export(principal.organization_id, body.email, actor_of(principal, request))


@router.post("/erase", response_model=ErasureRead)
async def erase_customer(
    body: CustomerRequest, principal: AdminPrincipal, request: Request, db: DbSession, runtime: RuntimeDep
) -> ErasureRead:
    """Deletes or irreversibly anonymises everything held about the customer; WHMCS is not changed."""
    service = CustomerPrivacyService(db, runtime)
    return await service.erase(principal.organization_id, body.email, actor_of(principal, request))


@router.get("/settings", response_model=PrivacySettings)
async def get_privacy_settings(principal: AdminPrincipal, db: DbSession) -> PrivacySettings:
    return await PrivacySettingsService(db).get(principal.organization_id)


@router.put("/settings", response_model=PrivacySettings)
async def set_privacy_settings(
    body: RetentionUpdate, principal: AdminPrincipal, request: Request, db: DbSession
) -> PrivacySettings:
    return await PrivacySettingsService(db).set_retention(
        principal.organization_id, body.retention_days, actor_of(principal, request)
    )


@router.post(
    "/organization-exports", response_model=OrganizationExportRead, status_code=status.HTTP_202_ACCEPTED
)
async def request_export(
    principal: AdminPrincipal, request: Request, db: DbSession, runtime: RuntimeDep
) -> OrganizationExportRead:
    export = await OrganizationExportService(db, runtime).request(
        principal.organization_id, actor_of(principal, request)
    )
    return OrganizationExportRead.model_validate(export)


@router.get("/organization-exports", response_model=list[OrganizationExportRead])
async def list_exports(
    principal: AdminPrincipal, db: DbSession, runtime: RuntimeDep
) -> list[OrganizationExportRead]:
    exports = await OrganizationExportService(db, runtime).list(principal.organization_id)
    return [OrganizationExportRead.model_validate(e) for e in exports]


@router.get("/organization-exports/{export_id}", response_model=OrganizationExportRead)
async def get_export(
    export_id: uuid.UUID, principal: AdminPrincipal, db: DbSession, runtime: RuntimeDep
) -> OrganizationExportRead:
    export = await OrganizationExportService(db, runtime).get(principal.organization_id, export_id)
    return OrganizationExportRead.model_validate(export)


@router.get("/organization-exports/{export_id}/download", response_class=Response)
async def download_export(
    export_id: uuid.UUID, principal: AdminPrincipal, request: Request, db: DbSession, runtime: RuntimeDep
) -> Response:
    name, data = await OrganizationExportService(db, runtime).download(
        principal.organization_id, export_id, actor_of(principal, request)
    )
    return Response(
        data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/delete-organization", response_model=OrganizationDeleted)
async def delete_organization(
    body: OrganizationDeleteRequest,
    principal: AdminPrincipal,
    request: Request,
    db: DbSession,
    runtime: RuntimeDep,
) -> OrganizationDeleted:
    """Deletes the calling organization with every row, vector, index file and stored object."""
    service = OrganizationDeletionService(db, runtime)
    deleted = await service.delete_rows(
        principal.organization_id, body.confirm_name, actor_of(principal, request)
    )
    await db.commit()  # the boundary comes early: objects and files go only once the rows are gone for good
    return await service.purge(deleted)
