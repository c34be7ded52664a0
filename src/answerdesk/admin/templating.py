"""Jinja2 environment and the helpers every admin page uses (render, flash, redirect)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from answerdesk import __version__
from answerdesk.languages.names import language_name

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
FLASH_COOKIE = "answerdesk_flash"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["version"] = __version__


def _fmt_dt(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


templates.env.filters["dt"] = _fmt_dt
# "de" -> "German": the admin is in English, whatever language the customer writes in.
templates.env.filters["language_name"] = lambda code: language_name(code or "") or code


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    flash = _read_flash(request)
    ctx = getattr(request.state, "admin", None)
    response = templates.TemplateResponse(
        request,
        template,
        {"ctx": ctx, "flash": flash, "nav": template.split("/")[0], **context},
        status_code=status_code,
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, *, flash: str | None = None, level: str = "success") -> Response:
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE,
            quote(json.dumps({"message": flash, "level": level})),
            max_age=60,
            httponly=True,
            samesite="lax",
            path="/",
        )
    return response


def _read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(unquote(raw))
    except ValueError:
        return None
    return {"message": str(data.get("message", "")), "level": str(data.get("level", "info"))}
