"""Connect WHMCS page (admins): the connection form, "Test connection" in plain words, and "Sync now"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from answerdesk.admin.deps import OrgAdmin
from answerdesk.admin.routes.ai import form_errors
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.auth.service import AuditService
from answerdesk.kit.errors import AppError
from answerdesk.kit.timezones import known_timezones
from answerdesk.kit.web import client_ip
from answerdesk.tickets.connections import ConnectionService, connection_read, record_test, run_test
from answerdesk.tickets.models import WhmcsConnection
from answerdesk.tickets.schemas import WhmcsConnectionRead, WhmcsConnectionUpdate
from answerdesk.tickets.service import queue_sync

router = APIRouter(prefix="/admin/whmcs", include_in_schema=False)

PAGE = "/admin/whmcs"
SYNC_SCOPES: dict[str, str] = {
    "Awaiting Reply": "Tickets awaiting a reply",
    "All Active Tickets": "All active tickets",
}
# Form fields that hold secrets: never rendered back into the page, whatever happens.
SECRET_FIELDS = frozenset({"identifier", "secret", "legacy_password", "accesskey"})
TEXT_FIELDS = (
    "url",
    "auth_mode",
    "legacy_username",
    "default_admin_username",
    "admin_usernames",
    "ticket_status",
    "poll_interval_minutes",
    "timezone",
    "timeout_seconds",
    "auto_send",
    "departments_text",
)
TOGGLES = ("enabled", "auto_update_ticket", "save_approved_as_faq")


class FormProblem(ValueError):
    """A field the form could not turn into the connection's shape; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _pairs(text: str, field: str, example: str) -> dict[str, str]:
    """ "left = right" per line (blank lines ignored), as the mapping textareas take them."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        left, sep, right = line.partition("=")
        if not sep or not left.strip() or not right.strip():
            raise FormProblem(field, f"Line {n}: write it as “{example}”.")
        out[left.strip()] = right.strip()
    return out


def _department_ids(form: FormData) -> list[int]:
    picked = [str(v) for v in form.getlist("watched_department_ids")]
    typed = str(form.get("departments_text") or "").replace(";", ",").split(",")
    ids: list[int] = []
    for raw in [*picked, *typed]:
        raw = raw.strip()
        if not raw:
            continue
        if not raw.isdigit():
            raise FormProblem("watched_department_ids", "Department ids are whole numbers, such as 1, 3.")
        ids.append(int(raw))
    return sorted(set(ids))


def parse_connection_form(form: FormData, current: WhmcsConnection | None) -> WhmcsConnectionUpdate:
    """The form as the service's update; empty secret fields keep what is stored."""

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    legacy = text("auth_mode") == "legacy"
    identifier, secret = text("identifier"), text("secret")
    if not legacy and current is not None and current.legacy_username and not (identifier and secret):
        raise FormProblem(
            "identifier", "To switch to API credentials, give both the identifier and the secret."
        )
    auto_send: dict[str, float] = {}
    for category, threshold in _pairs(text("auto_send"), "auto_send", "dns = 0.9").items():
        try:
            auto_send[category] = float(threshold)
        except ValueError:
            raise FormProblem("auto_send", f"“{threshold[:20]}” is not a confidence such as 0.9.") from None
    raw: dict[str, Any] = {
        "url": text("url"),
        "identifier": None if legacy else identifier or None,
        "secret": None if legacy else secret or None,
        "legacy_username": text("legacy_username") or None if legacy else None,
        "legacy_password": text("legacy_password") or None if legacy else None,
        # An empty box keeps the stored key; the checkbox removes it.
        "accesskey": "" if form.get("clear_accesskey") else text("accesskey") or None,
        "default_admin_username": text("default_admin_username"),
        "admin_usernames": {
            k.lower(): v
            for k, v in _pairs(text("admin_usernames"), "admin_usernames", "anna@example.com = anna").items()
        },
        "watched_department_ids": _department_ids(form),
        "ticket_status": text("ticket_status") or None,
        "poll_interval_minutes": text("poll_interval_minutes") or None,
        # Empty keeps the stored zone (UTC for a new connection).
        "timezone": text("timezone") or None,
        "timeout_seconds": text("timeout_seconds") or None,
        "auto_send": auto_send,
        **{name: bool(form.get(name)) for name in TOGGLES},
    }
    return WhmcsConnectionUpdate.model_validate(raw)


def form_values(read: WhmcsConnectionRead | None) -> dict[str, Any]:
    """What the inputs show for a stored connection (no secret ever: they are write-only)."""
    if read is None:
        return {
            "url": "",
            "auth_mode": "api",
            "legacy_username": "",
            "default_admin_username": "",
            "admin_usernames": "",
            "ticket_status": "Awaiting Reply",
            "poll_interval_minutes": "5",
            "timezone": "UTC",
            "timeout_seconds": "20",
            "auto_send": "",
            "departments_text": "",
            "watched": [],
            "enabled": True,
            "auto_update_ticket": False,
            "save_approved_as_faq": False,
        }
    return {
        "url": read.url,
        "auth_mode": "legacy" if read.auth_mode == "legacy" else "api",
        "legacy_username": read.credential_hint.removeprefix("admin ") if read.auth_mode == "legacy" else "",
        "default_admin_username": read.default_admin_username,
        "admin_usernames": "\n".join(f"{k} = {v}" for k, v in read.admin_usernames.items()),
        "ticket_status": read.ticket_status,
        "poll_interval_minutes": str(read.poll_interval_minutes),
        "timezone": read.timezone,
        "timeout_seconds": f"{read.timeout_seconds:g}",
        "auto_send": "\n".join(f"{k} = {v:g}" for k, v in read.auto_send.items()),
        "departments_text": ""
        if read.departments
        else ", ".join(str(i) for i in read.watched_department_ids),
        "watched": [str(i) for i in read.watched_department_ids],
        "enabled": read.enabled,
        "auto_update_ticket": read.auto_update_ticket,
        "save_approved_as_faq": read.save_approved_as_faq,
    }


def _submitted(form: FormData) -> dict[str, Any]:
    """The submitted values to show again after an error, secrets left out."""
    values: dict[str, Any] = {name: str(form.get(name) or "") for name in TEXT_FIELDS}
    values["auth_mode"] = "legacy" if values["auth_mode"] == "legacy" else "api"
    values["watched"] = [str(v) for v in form.getlist("watched_department_ids")]
    values.update({name: bool(form.get(name)) for name in TOGGLES})
    return values


def _page(
    request: Request,
    read: WhmcsConnectionRead | None,
    values: Mapping[str, Any],
    *,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "whmcs/index.html",
        status_code=status_code,
        nav="tickets",
        connection=read,
        values=values,
        errors=errors or {},
        error=error,
        sync_scopes=SYNC_SCOPES,
        departments=department_choices(read),
        timezones=known_timezones(),
    )


@router.get("")
async def whmcs_page(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    connection = await ConnectionService(db, runtime).find(ctx.organization.id)
    read = connection_read(connection) if connection else None
    return _page(request, read, form_values(read))


@router.post("")
async def save_connection(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    """Save (secrets sealed, never shown again), then test; a failed test still saves."""
    form = await request.form()
    service = ConnectionService(db, runtime)
    current = await service.find(ctx.organization.id)
    read = connection_read(current) if current else None
    try:
        body = parse_connection_form(form, current)
    except FormProblem as exc:
        return _page(request, read, _submitted(form), errors={exc.field: exc.message}, status_code=422)
    except ValidationError as exc:
        errors = form_errors(exc)
        for name in SECRET_FIELDS & errors.keys():  # a message never quotes what was typed in a secret
            errors[name] = "This value is not accepted."
        return _page(request, read, _submitted(form), errors=errors, status_code=422)
    try:
        connection = await service.save(ctx.organization.id, body)
    except AppError as exc:
        await db.rollback()
        return _page(request, read, _submitted(form), error=exc.message, status_code=exc.status_code)
    spec = service.spec(connection)
    AuditService(db).record(
        "whmcs.connect",
        organization_id=ctx.organization.id,
        actor_id=ctx.user_id,
        target=connection.url,
        ip=client_ip(request),
    )
    await db.commit()  # saved whatever the test says; no transaction open while WHMCS answers
    check = await run_test(runtime, spec)
    await record_test(db, connection, check)
    if check.ok:
        return redirect(PAGE, flash=f"Connection saved. {check.message}")
    return redirect(PAGE, flash=f"Connection saved, but the test failed: {check.message}", level="error")


@router.post("/test")
async def test_connection(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    service = ConnectionService(db, runtime)
    connection = await service.find(ctx.organization.id)
    if connection is None:
        return redirect(PAGE, flash="Save the connection first, then test it.", level="error")
    spec = service.spec(connection)
    await db.commit()
    check = await run_test(runtime, spec)
    await record_test(db, connection, check)
    return redirect(PAGE, flash=check.message, level="success" if check.ok else "error")


@router.post("/sync")
async def sync_now(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    connection = await ConnectionService(db, runtime).find(ctx.organization.id)
    if connection is None:
        return redirect(PAGE, flash="Connect WHMCS first, then sync.", level="error")
    queue_sync(db, runtime, ctx.organization.id)
    return redirect(
        PAGE,
        flash="Sync queued. New tickets appear on the Tickets page as it runs; reload to see its result.",
    )


def department_choices(read: WhmcsConnectionRead | None) -> list[tuple[str, str]]:
    if read is None:
        return []
    return sorted(read.departments.items(), key=lambda kv: kv[1].lower())
