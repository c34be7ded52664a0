"""Organization settings page and the audit log (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from answerdesk.admin.deps import OrgAdmin
from answerdesk.admin.routes.privacy import settings_context as privacy_settings
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.auth.service import AuditService
from answerdesk.tenants.schemas import OrganizationSettings, OrganizationUpdate
from answerdesk.tenants.service import OrganizationService

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/settings")
async def settings_page(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    service = OrganizationService(db)
    org_settings = service.settings_of(await service.get(ctx.organization.id))
    privacy = await privacy_settings(db, runtime, ctx)
    return render(request, "settings/index.html", org_settings=org_settings, **privacy)


@router.post("/settings")
async def save_settings(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    name: Annotated[str, Form(max_length=200)],
    support_email: Annotated[str, Form(max_length=320)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    default_language: Annotated[str, Form(max_length=8)] = "en",
    brand_color: Annotated[str, Form(max_length=7)] = "#2563eb",
) -> Response:
    service = OrganizationService(db)
    raw = {
        "support_email": support_email or None,
        "timezone": timezone,
        "default_language": default_language,
        "brand_color": brand_color,
    }
    try:
        change = OrganizationUpdate(name=name, settings=OrganizationSettings.model_validate(raw))
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return render(request, "settings/index.html", status_code=422, error=errors, org_settings=raw)
    await service.update(await service.get(ctx.organization.id), change)
    return redirect("/admin/settings", flash="Settings saved.")


@router.get("/audit")
async def audit(request: Request, ctx: OrgAdmin, db: DbSession) -> Response:
    entries = await AuditService(db).list(ctx.organization.id, limit=200)
    return render(request, "settings/audit.html", entries=entries)
