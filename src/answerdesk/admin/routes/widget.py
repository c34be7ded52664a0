"""Widget page (admins): appearance settings with a live preview, and the embed snippet to copy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from answerdesk.admin.deps import OrgAdmin
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.auth.models import ApiKeyKind
from answerdesk.auth.origins import normalise_origin
from answerdesk.auth.service import ApiKeyService
from answerdesk.kit.errors import AppError, ValidationFailed
from answerdesk.kit.web import client_ip
from answerdesk.widget.assets import widget_script
from answerdesk.widget.service import WidgetService
from answerdesk.widget.settings import FieldMode, WidgetSettings

router = APIRouter(prefix="/admin/widget", include_in_schema=False)

PAGE = "/admin/widget"
FIELD_LABELS = {
    "position": "Position",
    "color": "Colour",
    "title": "Title",
    "avatar_url": "Avatar URL",
    "welcome_message": "Welcome message",
    "suggestions": "Starter suggestions",
    "prechat": "Pre-chat form",
    "language": "Language",
}
# The admin stays English; these name the widget's languages in their own words.
LANGUAGE_CHOICES = {
    "auto": "Automatic (the visitor's browser)",
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "nl": "Nederlands",
    "it": "Italiano",
    "pt": "Português",
}
PRECHAT_LABELS = {"name": "Name", "email": "E-mail", "phone": "Phone"}
FormStr = Annotated[str, Form(max_length=2000)]


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors keyed by form field name (prechat fields as prechat_<name>)."""
    errors: dict[str, str] = {}
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        name = "_".join(loc[:2]) if loc and loc[0] == "prechat" else (loc[0] if loc else "form")
        errors.setdefault(name, str(e["msg"]).removeprefix("Value error, "))
    return errors


async def _page(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    *,
    values: dict[str, Any],
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    key_error: str | None = None,
    origins: str = "",
) -> Response:
    service = WidgetService(db)
    embed = await service.embed_key(ctx.organization.id)
    public_keys = [
        k
        for k in await ApiKeyService(db).list(ctx.organization.id)
        if k.kind == ApiKeyKind.public and k.revoked_at is None and (embed is None or k.id != embed.id)
    ]
    return render(
        request,
        "widget/index.html",
        status_code=status_code,
        values=values,
        errors=errors or {},
        key_error=key_error,
        origins=origins,
        embed=embed,
        public_keys=public_keys,
        host=runtime.settings.base_url.rstrip("/"),
        script_version=widget_script().version,
        labels=FIELD_LABELS,
        prechat_labels=PRECHAT_LABELS,
        modes=list(FieldMode),
        languages=LANGUAGE_CHOICES,
    )


def form_values(widget: WidgetSettings) -> dict[str, Any]:
    values = widget.model_dump(mode="json")
    values["avatar_url"] = values["avatar_url"] or ""
    values["suggestions"] = "\n".join(widget.suggestions)
    return values


@router.get("")
async def widget_page(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    widget = await WidgetService(db).get(ctx.organization.id)
    return await _page(request, ctx, db, runtime, values=form_values(widget))


@router.post("")
async def save_widget(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    position: FormStr = "bottom-right",
    color: FormStr = "#2563eb",
    title: FormStr = "",
    avatar_url: FormStr = "",
    welcome_message: FormStr = "",
    suggestions: FormStr = "",
    prechat_name: FormStr = "off",
    prechat_email: FormStr = "off",
    prechat_phone: FormStr = "off",
    language: FormStr = "auto",
) -> Response:
    raw: dict[str, Any] = {
        "position": position,
        "color": color,
        "title": title,
        "avatar_url": avatar_url,
        "welcome_message": welcome_message,
        "suggestions": suggestions,
        "prechat": {"name": prechat_name, "email": prechat_email, "phone": prechat_phone},
        "language": language,
    }
    try:
        widget = WidgetSettings.model_validate(raw)
    except ValidationError as exc:
        return await _page(request, ctx, db, runtime, values=raw, status_code=422, errors=field_errors(exc))
    await WidgetService(db).replace(ctx.organization.id, widget)
    return redirect(PAGE, flash="Widget settings saved.")


@router.post("/key")
async def create_key(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    origins: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    service = WidgetService(db)
    try:
        try:
            allowed = [normalise_origin(o) for o in origins.split() if o.strip()]
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None
        await service.create_embed_key(
            ctx.organization.id, allowed, actor_id=ctx.user_id, ip=client_ip(request)
        )
    except AppError as exc:
        widget = await service.get(ctx.organization.id)
        return await _page(
            request,
            ctx,
            db,
            runtime,
            values=form_values(widget),
            status_code=exc.status_code,
            key_error=exc.message,
            origins=origins,
        )
    return redirect(PAGE + "#embed", flash="Widget key created: the snippet below is ready to copy.")
