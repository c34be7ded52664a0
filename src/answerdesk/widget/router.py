"""Public widget routes: the script (/widget.js and its versioned URL), its configuration, and /demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from answerdesk.auth.deps import DbSession, RuntimeDep, require_scope
from answerdesk.auth.models import Scope
from answerdesk.auth.origins import normalise_origin
from answerdesk.auth.service import Principal
from answerdesk.billing.models import Feature
from answerdesk.billing.service import BillingService
from answerdesk.demo.seed import DEMO_ORG_SLUG
from answerdesk.kit.errors import NotFound
from answerdesk.tenants.service import OrganizationService
from answerdesk.widget.assets import WidgetScript, widget_script
from answerdesk.widget.schemas import WidgetConfigRead
from answerdesk.widget.service import WidgetService

# /widget.js is what customers paste: cached briefly so a new release reaches their pages within minutes.
SHORT_CACHE = "public, max-age=300"
# /widget/<version>.js names one exact script, so browsers and CDNs may keep it for a year.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"

script_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/widget", tags=["widget"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

WidgetPrincipal = Annotated[Principal, Depends(require_scope(Scope.chat))]


def script_response(request: Request, script: WidgetScript, cache_control: str) -> Response:
    headers = {
        "Cache-Control": cache_control,
        "ETag": script.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        # Lets sites that isolate themselves (Cross-Origin-Embedder-Policy) still load the script.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if script.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = script.raw
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = script.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


@script_router.get("/widget.js")
async def widget_js(request: Request) -> Response:
    return script_response(request, widget_script(), SHORT_CACHE)


@script_router.get("/widget/{version}.js")
async def versioned_widget_js(
    request: Request, version: Annotated[str, PathParam(pattern=r"^[0-9a-f]{1,64}$")]
) -> Response:
    script = widget_script()
    # An older version's URL gets today's script, briefly cached, rather than a broken page.
    return script_response(request, script, IMMUTABLE_CACHE if version == script.version else SHORT_CACHE)


@api_router.get("/config", response_model=WidgetConfigRead)
async def widget_config(
    principal: WidgetPrincipal, db: DbSession, response: Response, runtime: RuntimeDep
) -> WidgetConfigRead:
    """The organization's widget appearance, for its public key from an allowed origin."""
    response.headers["Cache-Control"] = "no-cache"
    config = await WidgetService(db).config(principal.organization_id)
    billing = BillingService(db, runtime.settings)
    if not await billing.has_feature(principal.organization_id, Feature.remove_branding):
        config.powered_by_url = runtime.settings.base_url
    return config


@script_router.get("/demo", response_class=HTMLResponse)
async def demo_page(request: Request, db: DbSession, runtime: RuntimeDep) -> Response:
    """A sample customer site with the demo organization's widget, as `answerdesk demo` prepared it."""
    try:
        org = await OrganizationService(db).by_slug(DEMO_ORG_SLUG)
    except NotFound:
        raise NotFound("There is no demo organization; run `answerdesk demo` first.") from None
    key = await WidgetService(db).embed_key(org.id)
    base_origin = normalise_origin(runtime.settings.base_url)
    here = normalise_origin(f"{request.url.scheme}://{request.url.netloc}")
    return templates.TemplateResponse(
        request,
        "demo.html",
        {
            "organization_name": org.name,
            "key": key.token if key and here in key.allowed_origins else None,
            "script_src": f"/widget/{widget_script().version}.js",
            "base_url": runtime.settings.base_url.rstrip("/"),
            "wrong_host": here != base_origin,
            "host": urlsplit(runtime.settings.base_url).netloc,
        },
    )
