"""Admin privacy actions: a customer's export and erasure (from Chats and Tickets), retention, the
organization's full export and its deletion (from Settings). Admins only; every action is audited."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from answerdesk.admin.deps import AdminContext, OrgAdmin
from answerdesk.admin.templating import redirect
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.kit.errors import NotFound
from answerdesk.kit.web import client_ip
from answerdesk.privacy.schemas import CustomerRequest, RetentionUpdate, normalise_email
from answerdesk.privacy.service import (
    Actor,
    CustomerPrivacyService,
    OrganizationDeletionService,
    OrganizationExportService,
    PrivacySettingsService,
)

router = APIRouter(prefix="/admin", include_in_schema=False)

# Where an erasure returns to: the list the customer's page came from (never a URL taken from the form).
BACK = {"chats": "/admin/chats", "tickets": "/admin/tickets"}
SETTINGS = "/admin/settings#privacy"


def actor_of(ctx: AdminContext, request: Request) -> Actor:
    return Actor(user_id=ctx.user_id, ip=client_ip(request))


def _customer(email: str) -> CustomerRequest | None:
    try:
        return CustomerRequest(email=email)
    except ValidationError:
        return None


@router.post("/privacy/customer/export")
async def export_customer(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=320)],
    back: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    customer = _customer(email)
    if customer is None:
        return redirect(
            back if back.startswith("/admin/") else "/admin", flash="Not an e-mail address.", level="error"
        )
    data = await CustomerPrivacyService(db, runtime).export(
        ctx.organization.id, customer.email, actor_of(ctx, request)
    )
    name = "customer-" + hashlib.sha256(customer.email.encode()).hexdigest()[:10] + ".json"
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/privacy/customer/erase")
async def erase_customer(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=320)],
    confirm: Annotated[str, Form(max_length=320)] = "",
    back: Annotated[str, Form(max_length=20)] = "chats",
    page: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    customer = _customer(email)
    retry = page if page.startswith("/admin/") else BACK.get(back, "/admin")
    if customer is None:
        return redirect(retry, flash="Not an e-mail address.", level="error")
    if normalise_email(confirm) != customer.email:
        return redirect(
            retry, flash="Nothing was erased: type the customer's e-mail address to confirm.", level="error"
        )
    result = await CustomerPrivacyService(db, runtime).erase(
        ctx.organization.id, customer.email, actor_of(ctx, request)
    )
    scrubbed = sum(result.scrubbed.values())
    summary = (
        f"Customer erased: {result.conversations} conversation(s) with {result.messages} message(s), "
        f"{result.ratings} rating(s), {result.tickets} ticket(s) with {result.ticket_messages} message(s), "
        f"{result.faq_documents} FAQ(s) made from them; {scrubbed} other record(s) quoting them rewritten. "
        "WHMCS was not changed."
    )
    return redirect(BACK.get(back, "/admin"), flash=summary)


@router.post("/settings/privacy")
async def save_retention(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    retention_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    raw: dict[str, Any] = {"retention_days": retention_days.strip() or None}
    try:
        change = RetentionUpdate.model_validate(raw)
    except ValidationError:
        return redirect(
            SETTINGS, flash="Retention must be a whole number of days (1 or more), or empty.", level="error"
        )
    await PrivacySettingsService(db).set_retention(
        ctx.organization.id, change.retention_days, actor_of(ctx, request)
    )
    days = change.retention_days
    message = (
        f"Conversations and tickets are kept for {days} days." if days else "Conversations are kept forever."
    )
    return redirect(SETTINGS, flash=message)


@router.post("/settings/exports")
async def request_export(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    await OrganizationExportService(db, runtime).request(ctx.organization.id, actor_of(ctx, request))
    return redirect(SETTINGS, flash="The export is being made; reload this page to download it when ready.")


@router.get("/settings/exports/{export_id}/download")
async def download_export(
    request: Request, export_id: str, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep
) -> Response:
    try:
        eid = uuid.UUID(export_id)
    except ValueError:
        raise NotFound("Export not found.") from None
    name, data = await OrganizationExportService(db, runtime).download(
        ctx.organization.id, eid, actor_of(ctx, request)
    )
    return Response(
        data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/settings/delete-organization")
async def delete_organization(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    confirm_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if confirm_name.strip() != ctx.organization.name.strip():
        return redirect(
            SETTINGS,
            flash="Nothing was deleted: type the organization's name exactly to confirm.",
            level="error",
        )
    service = OrganizationDeletionService(db, runtime)
    deleted = await service.delete_rows(ctx.organization.id, confirm_name, actor_of(ctx, request))
    await db.commit()  # objects and files go only once the rows are gone for good
    await service.purge(deleted)
    # The session falls back to another organization of this user, or asks to log in again.
    return redirect(
        "/admin", flash=f"The organization {ctx.organization.name} and all its data were deleted."
    )


async def settings_context(db: DbSession, runtime: RuntimeDep, ctx: AdminContext) -> dict[str, Any]:
    """What the privacy part of the Settings page shows."""
    return {
        "privacy": await PrivacySettingsService(db).get(ctx.organization.id),
        "exports": await OrganizationExportService(db, runtime).list(ctx.organization.id),
        "export_expiry_hours": runtime.settings.privacy_export_expiry_hours,
    }
