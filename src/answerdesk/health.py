"""Liveness and readiness probes, and Prometheus metrics (public unless METRICS_TOKEN is set)."""

from __future__ import annotations

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from answerdesk.auth.deps import RuntimeDep
from answerdesk.kit import metrics
from answerdesk.kit.errors import Unauthorized, error_body
from answerdesk.kit.migrate import is_at_head
from answerdesk.kit.security import tokens_equal

log = structlog.get_logger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
            at_head = await conn.run_sync(is_at_head)
    except Exception as exc:  # any driver error means "not ready"
        return JSONResponse(error_body("unavailable", f"Database unreachable: {type(exc).__name__}"), 503)
    if not at_head:
        return JSONResponse(
            error_body("unavailable", "Database migrations are not at head; run 'answerdesk migrate'."), 503
        )
    return JSONResponse({"status": "ready", "database": "ok", "migrations": "head"})


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def prometheus_metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus exposition format. With ANSWERDESK_METRICS_TOKEN set: `Authorization: Bearer <token>`."""
    expected = runtime.settings.metrics_token
    if expected is not None and expected.get_secret_value():
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not tokens_equal(given.strip(), expected.get_secret_value()):
            raise Unauthorized("Metrics need 'Authorization: Bearer <metrics token>'.")
    try:
        metrics.JOBS_QUEUED.set(await runtime.jobs.queued())
    except Exception as exc:  # Redis down: the other series are still worth serving
        log.warning("metrics.jobs_queued_unavailable", error=str(exc))
    body, content_type = metrics.render(runtime.settings.prometheus_multiproc_dir)
    return Response(body, media_type=content_type)
