"""Mounts the admin panel: static assets, page routes, and HTML rendering of errors."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from answerdesk.admin.deps import LoginRequired
from answerdesk.admin.routes import (
    ai,
    api_keys,
    auth,
    chats,
    gaps,
    knowledge,
    live,
    pages,
    settings,
    ticket_categories,
    tickets,
    users,
    whmcs,
)
from answerdesk.admin.templating import STATIC_DIR, render
from answerdesk.kit.errors import AppError, TooManyRequests

HTML_PREFIXES = ("/admin", "/login", "/logout")


def is_admin_path(path: str) -> bool:
    return path == "/" or path.startswith(HTML_PREFIXES)


def admin_error_page(request: Request, exc: AppError) -> Response:
    """Errors on admin pages: a login redirect, or a readable page with the message."""
    if isinstance(exc, LoginRequired):
        target = f"/login?next={quote(request.url.path)}"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    response = render(request, "error.html", status_code=exc.status_code, error=exc)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def mount_admin(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # ticket_categories before tickets: "/admin/tickets/{ticket_id}" would take "categories" for an id.
    modules = (
        auth,
        pages,
        knowledge,
        gaps,
        chats,
        live,
        ai,
        ticket_categories,
        tickets,
        whmcs,
        users,
        api_keys,
        settings,
    )
    for module in modules:
        app.include_router(module.router)
