"""create_app(): builds the runtime at start-up and mounts the API, the admin panel and health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from answerdesk import __version__
from answerdesk.admin.app import admin_error_page, is_admin_path, mount_admin
from answerdesk.admin.routes import widget as admin_widget
from answerdesk.analytics.router import router as analytics_router
from answerdesk.answers.router import router as ai_settings_router
from answerdesk.auth.router import router as auth_router
from answerdesk.billing.router import router as billing_router
from answerdesk.billing.service import seed_plans
from answerdesk.billing.stripe_router import router as stripe_webhook_router
from answerdesk.chat.live_router import router as live_chat_router
from answerdesk.chat.router import router as chat_router
from answerdesk.chat.router import stats_router as chat_stats_router
from answerdesk.config import Settings, get_settings
from answerdesk.gaps.router import router as gaps_router
from answerdesk.health import router as health_router
from answerdesk.kit import metrics
from answerdesk.kit.error_reporting import configure_error_reporting
from answerdesk.kit.logging import configure_logging
from answerdesk.kit.web import BodySizeLimitMiddleware, RequestIdMiddleware, install_error_handlers
from answerdesk.knowledge.recovery import requeue_unfinished_ingestions
from answerdesk.knowledge.router import router as knowledge_router
from answerdesk.privacy.router import router as privacy_router
from answerdesk.runtime import Runtime
from answerdesk.tenants.router import router as tenants_router
from answerdesk.tickets.router import router as tickets_router
from answerdesk.tickets.router import whmcs_router
from answerdesk.widget.cors import PublicApiCorsMiddleware
from answerdesk.widget.router import api_router as widget_api_router
from answerdesk.widget.router import script_router as widget_script_router

MAX_FILES_PER_UPLOAD = 10


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    metrics.check_multiprocess(settings.prometheus_multiproc_dir)
    configure_error_reporting(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.build(settings)
        app.state.runtime = runtime
        await seed_plans(runtime.sessionmaker, settings)
        await runtime.jobs.start()
        await requeue_unfinished_ingestions(runtime)
        if settings.env != "test":  # tests start hundreds of apps, most never embed anything
            await runtime.warm_up()
        try:
            yield
        finally:
            await runtime.close()
            metrics.process_exited(settings.prometheus_multiproc_dir)

    app = FastAPI(
        title="Answerdesk",
        version=__version__,
        lifespan=lifespan,
        description="Grounded AI customer support. Authenticate with `Authorization: Bearer <API key>`.",
    )
    install_error_handlers(app, html_paths=is_admin_path, html_renderer=admin_error_page)

    api = APIRouter(prefix="/api/v1")
    api.include_router(tenants_router)
    api.include_router(auth_router)
    api.include_router(knowledge_router)
    api.include_router(chat_router)
    api.include_router(chat_stats_router)
    api.include_router(live_chat_router)
    api.include_router(ai_settings_router)
    api.include_router(tickets_router)
    api.include_router(billing_router)
    api.include_router(whmcs_router)
    api.include_router(privacy_router)
    api.include_router(widget_api_router)
    api.include_router(gaps_router)
    api.include_router(analytics_router)
    app.include_router(api)
    app.include_router(health_router)
    app.include_router(stripe_webhook_router)
    app.include_router(widget_script_router)
    mount_admin(app)
    app.include_router(admin_widget.router)

    # Multipart requests may carry several files; each is held to max_upload_bytes by the knowledge service.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.max_upload_bytes * MAX_FILES_PER_UPLOAD,
        html_paths=is_admin_path,
    )
    app.add_middleware(RequestIdMiddleware)
    # Outside the size limit and request ids, so a 413 is counted too.
    app.add_middleware(metrics.MetricsMiddleware)
    # Outermost, so that every answer of the public API (a 413 or 429 too) is readable by the page.
    app.add_middleware(PublicApiCorsMiddleware)
    return app
